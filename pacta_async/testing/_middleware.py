"""The ASGI layers around the routes: rate-limit headers, and injected faults.

A dropped connection is `ConnectionDropped` raised out of the application after a
response has started. uvicorn then closes the socket mid-response, so a network
client sees `httpx.RemoteProtocolError`; the in-process transport turns the
exception into that same error.
"""

from __future__ import annotations

import collections
import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from email.utils import formatdate
from typing import Any

import anyio
from anyio.abc import TaskGroup
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._clock import Clock
from ._faults import FaultInjector
from ._limits import RateLimiter

__all__ = ["ConnectionDropped", "FaultLayer", "LateRequests", "RateLimitHeaders"]

_REASONS = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class ConnectionDropped(Exception):
    """Cuts the connection: raised after `http.response.start`, so no answer is complete."""


class RateLimitHeaders:
    """Adds the token's `X-RateLimit-*` to every response, as counted when it starts."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self._app = app
        self._limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        token = Headers(scope=scope).get("authorization")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(self._limiter.headers(token))
            await send(message)

        await self._app(scope, receive, send_with_headers)


async def _drop(send: Send) -> None:
    # A response that promises a body and never sends it: the client cannot mistake
    # it for an answer, whatever the status or method.
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")],
        }
    )
    raise ConnectionDropped


class LateRequests:
    """Where requests whose client is gone are still processed: a task group that
    lives as long as the server runs, not as long as the request."""

    def __init__(self) -> None:
        self._task_group: TaskGroup | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            self._task_group = tg
            try:
                yield
            finally:
                self._task_group = None
                tg.cancel_scope.cancel()

    def start(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if self._task_group is None:
            raise RuntimeError(
                "the late_rate fault needs the server running: `async with server.running()`"
            )
        self._task_group.start_soon(work)


class FaultLayer:
    """The outermost layer: draws a `FaultPlan` per request and acts it out, counting
    each fault acted out (`injected`), so a test can show its chaos really happened."""

    def __init__(
        self,
        app: ASGIApp,
        routes: Sequence[Route],
        injector: FaultInjector,
        limiter: RateLimiter,
        clock: Clock,
        late: LateRequests,
    ) -> None:
        self._app = app
        self._routes = routes
        self._injector = injector
        self._limiter = limiter
        self._clock = clock
        self._late = late
        self.injected: collections.Counter[str] = collections.Counter()

    def _route(self, scope: Scope) -> str | None:
        for route in self._routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return f"{scope['method']} {route.name}"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        plan = self._injector.plan(self._route(scope))
        if plan.dated_retry_after_skew is not None:
            send = self._dating_retry_after(send, plan.dated_retry_after_skew)
        if plan.latency:
            self.injected["latency"] += 1
            await self._clock.sleep(plan.latency)
        if plan.storm_retry_after is not None:
            self.injected["storm"] += 1
            await self._storm(plan.storm_retry_after)(scope, receive, send)
        elif plan.drop_before:
            self.injected["drop_before"] += 1
            await _drop(send)
        elif plan.login_page:
            self.injected["login_page"] += 1
            await _LOGIN_PAGE(scope, receive, send)
        elif plan.error_status is not None:
            self.injected[f"error_{plan.error_status}"] += 1
            await _server_error(plan.error_status, Headers(scope=scope))(scope, receive, send)
        elif plan.drop_after:
            self.injected["drop_after"] += 1
            await self._app(scope, receive, _discard)
            await _drop(send)
        elif plan.late is not None:
            self.injected["late"] += 1
            await self._process_late(scope, await _read_body(receive), plan.late)
            await _drop(send)
        else:
            await self._app(scope, receive, send)

    def _dating_retry_after(self, send: Send, skew: float) -> Send:
        """A CDN's rewrite of a 429's `Retry-After` into an HTTP date (RFC 9110)."""

        async def send_dated(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 429:
                headers = MutableHeaders(scope=message)
                seconds = float(headers.get("retry-after", "0"))
                now = self._clock.wall() + skew
                headers["Retry-After"] = formatdate(math.ceil(now + seconds), usegmt=True)
                headers["Date"] = formatdate(math.floor(now), usegmt=True)
            await send(message)

        return send_dated

    def _storm(self, retry_after: int) -> JSONResponse:
        limit = self._limiter.limits.general
        body = {
            "code": "RATE_LIMITED",
            "message": "Rate limit exceeded",
            "details": {"scope": "general", "limit": limit, "retryAfter": retry_after},
        }
        headers = {
            "Retry-After": str(retry_after),
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(math.ceil(self._clock.wall() + retry_after)),
        }
        return JSONResponse(body, status_code=429, headers=headers)

    async def _process_late(self, scope: Scope, body: bytes, delay: float) -> None:
        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def process() -> None:
            await self._clock.sleep(delay)
            await self._app(scope, replay, _discard)
            self.injected["late_processed"] += 1

        self._late.start(process)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _discard(message: Message) -> None:
    """The answer to a request whose connection drops after it was processed."""


_LOGIN_PAGE = HTMLResponse(
    "<!doctype html><html><head><title>Sign in</title></head><body>"
    '<form method="post" action="/login"><input name="user"><input name="password" '
    'type="password"><button>Sign in</button></form></body></html>\n'
)


def _server_error(
    status: int, request_headers: Headers
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """500 as Pacta writes it; 502-504 as a proxy in front of it would, echoing the
    request's headers (a 200-character snippet of the page can end inside the token)."""
    if status == 500:
        body = {"code": "INTERNAL_ERROR", "message": "Internal server error", "details": None}
        return JSONResponse(body, status_code=500)
    title = f"{status} {_REASONS[status]}"
    echoed = "\n".join(f"{name}: {value}" for name, value in request_headers.items())
    page = (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f"<pre>{echoed}</pre></body></html>\n"
    )
    return HTMLResponse(page, status_code=status)
