"""An aiohttp-backed transport under the client's pacing, retries and typed errors.

httpx's own connection handling is the ceiling on requests per second, and aiohttp's
is several times faster (openai-python offers the same switch for the same reason).
httpx-aiohttp does the translation; this module corrects its error types, because
they decide what the retry layer may repeat: it reports a connection that dropped
after the request went out (aiohttp's ServerDisconnectedError) as a connect timeout,
which means "never sent", and a send repeated on that basis could go out twice.

Needs the `aiohttp` extra, and asyncio (aiohttp does not run on trio).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from ._client import DEFAULT_CONNECTION_LIMITS
from ._errors import ConfigurationError

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


def _retyped(exc: BaseException) -> httpx.TransportError | None:
    for source, target in _ERRORS:
        if isinstance(exc, source):
            return target(str(exc) or type(exc).__name__)
    return None


def _origin(exc: BaseException) -> BaseException:
    """The aiohttp exception behind httpx-aiohttp's translation of it."""
    return exc.__cause__ if exc.__cause__ is not None else exc


class _Body(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except (TimeoutError, httpx.TransportError, aiohttp.ClientError) as exc:
            error = _retyped(_origin(exc))
            if error is None:
                raise
            raise error from exc

    async def aclose(self) -> None:
        await self._inner.aclose()


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
        self._inner = AiohttpTransport(limits=limits, verify=verify)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise ConfigurationError(
                "AioHttpTransport needs asyncio (aiohttp does not run on trio); "
                "use the default transport there"
            ) from None
        try:
            response = await self._inner.handle_async_request(request)
        except (TimeoutError, httpx.TransportError, aiohttp.ClientError) as exc:
            error = _retyped(_origin(exc))
            if error is None:
                raise
            raise error from exc
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Body(response.stream)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
