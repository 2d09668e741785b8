"""The `httpx.AsyncClient` the generated client and raw requests send through.

Everything a request needs happens in the transport under it (pacing, retries, typed
errors, redirects refused), so this client only builds requests and hands them down.
httpx's own send path adds an auth flow, a redirect loop, event hooks and a cookie jar
that Pacta's API never uses (the token is a header, redirects are refused, it sets no
cookies); on a request that takes a millisecond they cost about as much as the rest of
the SDK's stack, so `send` skips them, and `build_request` joins the generated client's
paths to the base URL with one parse instead of two.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Mapping
from typing import Any

import httpx

__all__ = ["ApiHttpClient"]


class ApiHttpClient(httpx.AsyncClient):
    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str],
        timeout: httpx.Timeout,
        transport: httpx.AsyncBaseTransport,
    ) -> None:
        super().__init__(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
        )
        self._stack = transport
        self._prefix = str(self.base_url)  # httpx gives the base URL a trailing slash

    def build_request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Request:
        # The generated client's paths ("/documents/1") are relative to the base URL;
        # httpx would parse the path, then the joined URL, each a few microseconds.
        if isinstance(url, str) and url.startswith("/") and not url.startswith("//"):
            url = httpx.URL(self._prefix + url[1:])
        return super().build_request(method, url, **kwargs)

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: bool | Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        if auth is not httpx.USE_CLIENT_DEFAULT:  # someone's own auth flow: httpx runs it
            return await super().send(
                request, stream=stream, auth=auth, follow_redirects=follow_redirects
            )
        # Redirects are never followed: the transport raises on a 3xx, whatever is asked.
        started = time.perf_counter()
        response = await self._stack.handle_async_request(request)
        response.request = request
        if not stream:
            try:
                await response.aread()
            finally:
                await response.aclose()
        # As httpx does, for raw-response users; a stream's counts to its headers.
        response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
        return response
