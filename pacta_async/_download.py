"""Files from Pacta's storage: streamed to disk, written atomically, never with the token.

A download link (`GET /documents/{id}/download`) points at another origin. Its
request goes through a separate `httpx.AsyncClient` that has no token and strips
every credential header, so neither the request nor a redirect it follows can carry
the token there. The link request itself is an ordinary API call (paced, retried,
typed); storage is not paced under the API's limits, since it is not the API.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import IO, Final

import anyio
import anyio.to_thread
import attrs
import httpx

from ._clock import Clock
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    IncompleteDownloadError,
    InvalidInputError,
    PermissionDeniedError,
    ResponseValidationError,
    status_error_from_response,
)
from ._retry import RetryPolicy
from ._transport import Lifetime

__all__ = ["Destination", "DownloadedFile", "FileStorage", "LinkSource"]

_CHUNK: Final = 256 * 1024
_MAX_REDIRECTS: Final = 5
_CREDENTIAL_HEADERS: Final = ("authorization", "proxy-authorization", "cookie")

Destination = str | os.PathLike[str] | IO[bytes]
LinkSource = Callable[[], Awaitable[str]]  # a fresh download URL each call


@attrs.frozen
class DownloadedFile:
    """What was written: the final path (None for a file object), size and SHA-256."""

    path: Path | None
    size: int
    sha256: str


class _NoCredentials(httpx.AsyncBaseTransport):
    """Removes credential headers from every request, redirects included: storage gets
    a presigned URL, and whatever a user's `http_client` would add stays behind."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for name in _CREDENTIAL_HEADERS:
            request.headers.pop(name, None)
        return await self._inner.handle_async_request(request)


def _shown(url: httpx.URL | str) -> str:
    """A storage URL without its query: the signature is a credential for an hour."""
    return str(httpx.URL(url).copy_with(query=None))


class _Retry(Exception):
    """This attempt failed in a way another attempt may not; `error` if none is left."""

    def __init__(self, error: Exception) -> None:
        self.error = error


class _Expired(Exception):
    def __init__(self, error: Exception) -> None:
        self.error = error


class _Sink:
    """Where the bytes go; `start()` (again, on a retry) begins from the first byte."""

    async def start(self) -> bool:
        """False when this sink cannot start over (a file object that cannot seek)."""
        raise NotImplementedError

    async def write(self, chunk: bytes) -> None:
        raise NotImplementedError


class _PathSink(_Sink):
    """A temporary file beside the destination, renamed over it only once complete and
    on disk, so a crash at any moment never leaves a half file under the final name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self._temp: Path | None = None

    async def start(self) -> bool:
        if self._file is None:
            fd, name = await anyio.to_thread.run_sync(
                lambda: tempfile.mkstemp(
                    dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".part"
                )
            )
            self._temp = Path(name)
            self._file = os.fdopen(fd, "wb")
        else:
            file = self._file
            await anyio.to_thread.run_sync(lambda: (file.seek(0), file.truncate()))
        return True

    async def write(self, chunk: bytes) -> None:
        assert self._file is not None
        await anyio.to_thread.run_sync(self._file.write, chunk)

    async def commit(self) -> None:
        file, temp = self._file, self._temp
        assert file is not None
        assert temp is not None

        def finish() -> None:
            file.flush()
            os.fsync(file.fileno())
            file.close()
            os.replace(temp, self.path)
            _fsync_directory(self.path.parent)

        await anyio.to_thread.run_sync(finish)
        self._file = self._temp = None

    def discard(self) -> None:
        """Synchronous, so that it runs even in a cancelled task."""
        if self._file is not None:
            self._file.close()
        if self._temp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._temp.unlink()
        self._file = self._temp = None


def _fsync_directory(directory: Path) -> None:
    """Makes the rename itself durable (POSIX); Windows cannot open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _FileObjectSink(_Sink):
    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._origin: int | None = None
        self._written = False

    async def start(self) -> bool:
        file = self._file
        if self._origin is None:
            self._origin = file.tell() if file.seekable() else -1
        elif self._written:
            if self._origin < 0:
                return False
            origin = self._origin
            await anyio.to_thread.run_sync(lambda: (file.seek(origin), file.truncate()))
        return True

    async def write(self, chunk: bytes) -> None:
        self._written = True
        await anyio.to_thread.run_sync(self._file.write, chunk)


def _sink(destination: Destination) -> _PathSink | _FileObjectSink:
    """Checks the destination before anything is sent."""
    if isinstance(destination, str | os.PathLike):
        path = Path(destination)
        if path.is_dir():
            raise InvalidInputError(
                f"destination {str(path)!r} is a directory; pass the file's path",
                field="destination",
            )
        if not path.parent.is_dir():
            raise InvalidInputError(
                f"the folder of destination {str(path)!r} does not exist", field="destination"
            )
        return _PathSink(path)
    if not callable(getattr(destination, "write", None)):
        raise InvalidInputError(
            "destination must be a path or a binary file object opened for writing, "
            f"got {type(destination).__name__}",
            field="destination",
        )
    mode = getattr(destination, "mode", "b")
    if isinstance(destination, io.TextIOBase) or (isinstance(mode, str) and "b" not in mode):
        raise InvalidInputError(
            "destination is a text file; open it in binary mode ('wb')", field="destination"
        )
    return _FileObjectSink(destination)


class FileStorage:
    """Downloads from storage links: one per client, over the client's connections."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        timeout: httpx.Timeout,
        policy: RetryPolicy,
        clock: Clock,
        lifetime: Lifetime,
        user_agent: str,
    ) -> None:
        self._http = httpx.AsyncClient(
            transport=_NoCredentials(inner),
            timeout=timeout,
            follow_redirects=True,
            max_redirects=_MAX_REDIRECTS,
            headers={"User-Agent": user_agent},
        )
        self._policy = policy
        self._clock = clock
        self._lifetime = lifetime
        self._rng = random.Random()

    def check_destination(self, destination: Destination) -> _PathSink | _FileObjectSink:
        return _sink(destination)

    async def download(
        self,
        link: LinkSource,
        sink: _PathSink | _FileObjectSink,
        *,
        max_retries: int | None = None,
    ) -> DownloadedFile:
        """Stream the file at `link()` into `sink`, getting a fresh link once when the
        one in hand has expired and retrying a dropped or short transfer."""
        retries = self._policy.max_retries if max_retries is None else max_retries
        url = await link()
        refreshed = False
        attempt = 0
        try:
            while True:
                attempt += 1
                try:
                    result = await self._attempt(url, sink)
                except _Expired as expired:
                    if refreshed:
                        raise expired.error from None
                    refreshed = True
                    url = await link()
                    continue
                except _Retry as failed:
                    if attempt > retries:
                        raise failed.error from None
                    await self._clock.sleep(self._policy.backoff(attempt, self._rng))
                    continue
                if isinstance(sink, _PathSink):
                    await sink.commit()
                return result
        finally:
            if isinstance(sink, _PathSink):
                sink.discard()

    async def _attempt(self, url: str, sink: _PathSink | _FileObjectSink) -> DownloadedFile:
        if self._lifetime.closed:
            raise ClientClosedError("the client is closed; create a new PactaClient")
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            parsed = None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
            # No request was made: the error's response stands for the link's answer.
            answer = httpx.Response(200, request=httpx.Request("GET", "https://link.invalid/"))
            raise ResponseValidationError(
                f"the download link is not an http(s) URL: {url[:80]!r}", response=answer
            )
        if not await sink.start():
            raise APIConnectionError(
                f"GET {_shown(url)} failed part-way and the destination cannot seek back "
                "to start over",
                request=httpx.Request("GET", _shown(url)),
            )
        try:
            async with self._stream(parsed) as response:
                return await self._receive(response, sink)
        except httpx.TransportError as exc:
            request = httpx.Request("GET", _shown(url))
            error_type = (
                APITimeoutError if isinstance(exc, httpx.TimeoutException) else (APIConnectionError)
            )
            raise _Retry(
                error_type(f"GET {_shown(url)} failed: {type(exc).__name__}", request=request)
            ) from None

    @contextlib.asynccontextmanager
    async def _stream(self, url: httpx.URL) -> AsyncIterator[httpx.Response]:
        async with self._http.stream("GET", url) as response:
            yield response

    async def _receive(
        self, response: httpx.Response, sink: _PathSink | _FileObjectSink
    ) -> DownloadedFile:
        safe_request = httpx.Request("GET", _shown(response.url))
        if response.status_code >= 300:
            await response.aread()
            shown = httpx.Response(
                response.status_code,
                headers={"content-type": response.headers.get("content-type", "")},
                content=response.content[:2000],
                request=safe_request,
            )
            error = status_error_from_response(shown)
            error.message = f"storage answered {response.status_code} to GET {_shown(response.url)}"
            error.args = (error.message,)
            if isinstance(error, PermissionDeniedError):
                raise _Expired(error)  # presigned links answer 403 once expired
            if response.status_code >= 500 or response.status_code == 429:
                raise _Retry(error)
            raise error
        expected = _content_length(response)
        digest = hashlib.sha256()
        size = 0
        first = True
        async for chunk in response.aiter_bytes(_CHUNK):
            if first:
                first = False
                if not chunk.startswith(b"%PDF-"):
                    raise ResponseValidationError(
                        f"GET {_shown(response.url)} answered {response.status_code} with "
                        f"something that is not a PDF ({response.headers.get('content-type')})",
                        response=httpx.Response(
                            response.status_code, content=chunk[:200], request=safe_request
                        ),
                    )
            digest.update(chunk)
            size += len(chunk)
            await sink.write(chunk)
        if expected is not None and size != expected:
            raise _Retry(
                IncompleteDownloadError(
                    f"GET {_shown(response.url)} ended after {size} of its {expected} bytes",
                    request=safe_request,
                )
            )
        path = sink.path if isinstance(sink, _PathSink) else None
        return DownloadedFile(path=path, size=size, sha256=digest.hexdigest())


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None or response.headers.get("content-encoding"):
        return None  # a compressed body's length is not the file's
    try:
        return int(value)
    except ValueError:
        return None
