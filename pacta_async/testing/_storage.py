"""Pacta's file storage: another origin, serving presigned, expiring download links.

`GET /documents/{id}/download` answers a link here; the file itself comes from this
origin, which needs no token and must never receive one. Every request is logged
with whether it carried an `Authorization` header, so a test can prove the token
never travelled here. Faults make it as unkind as real storage: links that have
already expired when used, a redirect to another location, and a body cut short.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from typing import Final
from urllib.parse import parse_qs

import attrs
from starlette.types import Receive, Scope, Send

from .._clock import Clock

__all__ = ["STORAGE_URL", "Storage", "StorageRequest"]

STORAGE_URL: Final = "http://files.pacta.test"
LINK_LIFETIME: Final = 3600.0
_CHUNK: Final = 256 * 1024

# (document id, kind) -> the file, or None when it does not exist (any more).
FileSource = Callable[[int, str], bytes | None]


@attrs.frozen
class StorageRequest:
    """One request that reached storage: what a test asserts the token never was in."""

    method: str
    path: str
    authorization: bool
    cookie: bool


class Storage:
    """The storage origin as an ASGI app; links are HMAC-signed and expire.

    `base_url` is set by whoever serves it (in-process: `STORAGE_URL`; over loopback:
    its own port, so a different origin from the API's).
    """

    def __init__(self, clock: Clock, files: FileSource) -> None:
        self._clock = clock
        self._files = files
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._requests: list[StorageRequest] = []
        self._expired_links = 0
        self._truncations = 0
        self._redirects = 0
        self._stalls = 0
        self.base_url = STORAGE_URL

    # -- what the API side uses ---------------------------------------------------

    def link(self, document_id: int, kind: str) -> tuple[str, float]:
        """A presigned URL for the file and its expiry (epoch seconds)."""
        expires = self._clock.wall() + LINK_LIFETIME
        with self._lock:
            if self._expired_links:
                self._expired_links -= 1
                expires = self._clock.wall() - 1  # stale by the time it is used
        path = f"/files/{document_id}/{kind}.pdf"
        query = f"expires={expires:.3f}&signature={self._sign(path, expires)}"
        return f"{self.base_url}{path}?{query}", expires

    def _sign(self, path: str, expires: float) -> str:
        return hmac.new(self._key, f"{path}\n{expires:.3f}".encode(), hashlib.sha256).hexdigest()

    # -- faults and the log, for tests ----------------------------------------------

    def set_faults(
        self, *, expired_links: int = 0, truncations: int = 0, redirects: int = 0, stalls: int = 0
    ) -> None:
        """The next `expired_links` links are issued already expired; the next
        `truncations` downloads stop halfway; the next
        `redirects` downloads answer 302 to another location of the same file; the next
        `stalls` send half the file and then nothing, until the client goes away."""
        with self._lock:
            self._expired_links = expired_links
            self._truncations = truncations
            self._redirects = redirects
            self._stalls = stalls

    def requests(self) -> list[StorageRequest]:
        with self._lock:
            return list(self._requests)

    # -- the ASGI app -----------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        path: str = scope["path"]
        with self._lock:
            self._requests.append(
                StorageRequest(
                    scope["method"], path, "authorization" in headers, "cookie" in headers
                )
            )
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, b"Method Not Allowed")
            return
        if "authorization" in headers:
            # As S3 does: a presigned URL plus another credential is refused.
            await _plain(send, 400, b"<Error><Code>InvalidArgument</Code></Error>")
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        file_path = path.removeprefix("/moved")
        try:
            expires = float(query["expires"][0])
            signature = query["signature"][0]
        except (KeyError, IndexError, ValueError):
            await _plain(send, 403, b"<Error><Code>AccessDenied</Code></Error>")
            return
        if not hmac.compare_digest(signature, self._sign(file_path, expires)):
            await _plain(send, 403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>")
            return
        if self._clock.wall() >= expires:
            await _plain(
                send,
                403,
                b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
            )
            return
        parts = file_path.removeprefix("/files/").removesuffix(".pdf").split("/")
        content = None
        if len(parts) == 2 and parts[0].isdigit():
            content = self._files(int(parts[0]), parts[1])
        if content is None:
            await _plain(send, 404, b"<Error><Code>NoSuchKey</Code></Error>")
            return
        with self._lock:
            redirect = self._redirects > 0 and not path.startswith("/moved")
            if redirect:
                self._redirects -= 1
            truncate = not redirect and self._truncations > 0
            if truncate:
                self._truncations -= 1
            stall = not redirect and not truncate and self._stalls > 0
            if stall:
                self._stalls -= 1
        if redirect:
            location = f"{self.base_url}/moved{file_path}?{scope['query_string'].decode()}"
            await send(
                {
                    "type": "http.response.start",
                    "status": 302,
                    "headers": [(b"location", location.encode()), (b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/pdf"),
                    (b"content-length", str(len(content)).encode()),
                ],
            }
        )
        if scope["method"] == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return
        # A truncated body ends early but cleanly: over HTTP the connection closes short
        # of Content-Length; in-process only the client's own length check sees it.
        end = len(content) // 2 if truncate or stall else len(content)
        for start in range(0, end, _CHUNK):
            chunk = content[start : min(start + _CHUNK, end)]
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if stall:
            while (await receive())["type"] != "http.disconnect":
                pass
            return
        await send({"type": "http.response.body", "body": b""})


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/xml"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
