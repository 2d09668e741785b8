"""An aiohttp-backed transport under the client's pacing, retries and typed errors.

httpx's own connection handling is the ceiling on requests per second, and aiohttp's
is several times faster (openai-python offers the same switch for the same reason).
This maps an `httpx.Request` onto one `aiohttp.ClientSession` and the answer back,
doing no more than that: a small body (Pacta's JSON) is read in one call, anything
larger or asked for as a stream (downloads, `with_streaming_response`) stays a stream.
(httpx-aiohttp, which this replaced, spent as much CPU translating as aiohttp spent
sending, and reported a connection dropped after the request went out as a connect
timeout, meaning "never sent", on which basis a send could be repeated.)

Its error types decide what the retry layer may repeat, so each aiohttp failure maps
to the httpx error that says how far the request got.

Needs the `aiohttp` extra, and asyncio (aiohttp does not run on trio).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator

import aiohttp
import httpx

from ._client import DEFAULT_CONNECTION_LIMITS
from ._errors import ConfigurationError
from ._raw import STREAM_EXTENSION

__all__ = ["AioHttpTransport"]

# Most specific first: aiohttp's timeouts are also connection errors, and a failed
# connect is also an OS error.
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    # Dropped, reset or closed once the request was on its way: it may have arrived.
    (aiohttp.ClientError, httpx.ReadError),
    (asyncio.TimeoutError, httpx.ReadTimeout),
)
_FAILURES = (aiohttp.ClientError, asyncio.TimeoutError)

# A body whose declared length is at most this is read at once, in one call.
_READ_AT_ONCE = 1 << 20
_CHUNK = 64 * 1024
_HTTP_11 = b"HTTP/1.1"


def _retyped(exc: BaseException) -> httpx.TransportError:
    for source, target in _ERRORS:
        if isinstance(exc, source):
            return target(str(exc) or type(exc).__name__)
    raise AssertionError("unreachable: every failure is a ClientError or a timeout")


@functools.lru_cache(maxsize=64)
def _timeout(
    connect: float | None, read: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read, connect=pool)


class _Body(httpx.AsyncByteStream):
    """A body handed over unread, retyping what interrupts it."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk
        except _FAILURES as exc:
            raise _retyped(exc) from exc

    async def aclose(self) -> None:
        self._response.release()
        await self._response.wait_for_close()


class AioHttpTransport(httpx.AsyncBaseTransport):
    """Sends the client's requests through one `aiohttp.ClientSession`.

    `PactaClient(transport=AioHttpTransport())`; the client closes it with itself.
    Connection limits (the default transport's) and TLS settings are given as to
    `httpx.AsyncHTTPTransport`.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits = DEFAULT_CONNECTION_LIMITS,
        verify: bool | str = True,
    ) -> None:
        self._limits = limits
        self._ssl = httpx.create_ssl_context(verify=verify)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use: a session belongs to the event loop it is made in.
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry,
            ssl=self._ssl,
        )
        # No cookies (Pacta sets none) and no decompression: httpx.Response decodes.
        self._session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise ConfigurationError(
                "AioHttpTransport needs asyncio (aiohttp does not run on trio); "
                "use the default transport there"
            ) from None
        session = self._session or self._open()
        headers = request.headers.multi_items()
        data: bytes | httpx.AsyncByteStream | None
        try:
            data = request.content or None
        except httpx.RequestNotRead:  # an upload streamed from disk
            assert isinstance(request.stream, httpx.AsyncByteStream)
            data = request.stream
            # aiohttp chunks it itself
            headers = [(name, value) for name, value in headers if name != "transfer-encoding"]
        timeout = request.extensions.get("timeout", {})
        try:
            response = await session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=data,
                allow_redirects=False,
                timeout=_timeout(timeout.get("connect"), timeout.get("read"), timeout.get("pool")),
            )
            extensions = {"http_version": _HTTP_11}
            if response.reason:  # else httpx names the status's standard phrase
                extensions["reason_phrase"] = response.reason.encode()
            length = response.content_length
            if (
                length is not None
                and length <= _READ_AT_ONCE
                and not request.extensions.get(STREAM_EXTENSION)
            ):
                content = await response.read()
                response.release()
                return httpx.Response(
                    response.status,
                    headers=response.raw_headers,
                    content=content,
                    extensions=extensions,
                    request=request,
                )
        except _FAILURES as exc:
            raise _retyped(exc) from exc
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            extensions=extensions,
            request=request,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
