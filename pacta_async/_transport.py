"""The one layer under every request: rate limiting, retries, typed errors and logging.

`PactaTransport` wraps the real transport, and the generated client sends through it,
so every generated endpoint function and every hand-written request gets the same
behaviour without any method repeating it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import anyio.lowlevel
import httpx

from ._clock import Clock
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    EventLoopMismatchError,
    RateLimitError,
    status_error_from_response,
)
from ._logging import logger
from ._options import current_options, record_response
from ._ratelimit import RateLimiter
from ._redaction import redact_text, redacted_request, redacted_response
from ._retry import RetryBudget, RetryEvent, RetryPolicy

__all__ = ["PactaTransport", "is_send"]

# The requests that count against the send limit as well as the general one.
_SEND_PATH = re.compile(r"/(documents/[^/]+/send|templates/[^/]+/generate)/?$")


def is_send(request: httpx.Request) -> bool:
    return request.method == "POST" and _SEND_PATH.search(request.url.path) is not None


class PactaTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        clock: Clock,
        policy: RetryPolicy,
        budget: RetryBudget,
        limiter: RateLimiter | None = None,
        on_retry: Callable[[RetryEvent], None] | None = None,
    ) -> None:
        self._inner = inner
        self._clock = clock
        self._policy = policy
        self._budget = budget
        self._limiter = limiter
        self._on_retry = on_retry
        self._rng = random.Random()
        self._closed = False
        self._event_loop: object = None

    def _check_usable(self) -> None:
        """Refuse, before anything is sent, what would fail obscurely inside httpx."""
        if self._closed:
            raise ClientClosedError("the client is closed; create a new PactaClient")
        event_loop = anyio.lowlevel.current_token().native_token
        if self._event_loop is None:
            self._event_loop = event_loop
        elif event_loop is not self._event_loop:
            raise EventLoopMismatchError(
                "this PactaClient was first used in another event loop, which owns its "
                "connections; create one client per event loop (e.g. per test)"
            )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._check_usable()
        options = current_options()
        if options.timeout is not None:
            request.extensions["timeout"] = options.timeout.as_dict()
        max_retries = (
            self._policy.max_retries if options.max_retries is None else options.max_retries
        )
        send = is_send(request)
        self._budget.record_request()
        attempt = 0
        while True:
            attempt += 1
            if self._limiter is not None:
                await self._limiter.acquire(send=send)
            started = self._clock.monotonic()
            try:
                response = await self._inner.handle_async_request(request)
                try:
                    # Pacta's bodies are small JSON: reading here means a connection
                    # dropped mid-body is retried or typed like any other failure.
                    await response.aread()
                finally:
                    await response.aclose()
            except httpx.TransportError as exc:
                elapsed = self._clock.monotonic() - started
                logger.debug(
                    "%s %s failed: %s attempt=%d %.3fs",
                    request.method, request.url.path, type(exc).__name__, attempt, elapsed,
                )  # fmt: skip
                delay = self._policy.delay_after_error(request, exc, attempt, self._rng)
                if attempt > max_retries or delay is None or not self._budget.try_spend():
                    raise _connection_error(request, exc) from exc
                await self._wait(request, attempt, delay, status=None, error=type(exc).__name__)
                continue

            response.request = request
            elapsed = self._clock.monotonic() - started
            logger.debug(
                "%s %s %d attempt=%d %.3fs",
                request.method, request.url.path, response.status_code, attempt, elapsed,
            )  # fmt: skip
            if response.status_code < 300:
                if self._limiter is not None:
                    await self._limiter.observe(response.status_code, response.headers)
                record_response(response)
                return response
            error = _status_error(request, response)
            if self._limiter is not None:
                limited = error if isinstance(error, RateLimitError) else None
                await self._limiter.observe(
                    response.status_code,
                    response.headers,
                    scope=limited.scope if limited else None,
                    limit=limited.limit if limited else None,
                )
            delay = self._policy.delay_after_response(
                request, response, attempt, self._rng, self._clock.wall
            )
            charged = response.status_code != 429
            if attempt > max_retries or delay is None or (charged and not self._budget.try_spend()):
                raise error
            await self._wait(request, attempt, delay, status=response.status_code, error=None)

    async def _wait(
        self,
        request: httpx.Request,
        attempt: int,
        delay: float,
        *,
        status: int | None,
        error: str | None,
    ) -> None:
        event = RetryEvent(
            method=request.method,
            url=str(request.url),
            attempt=attempt,
            delay=delay,
            status_code=status,
            error=error,
        )
        logger.info(
            "retrying %s %s in %.2fs (attempt %d failed: %s)",
            request.method, request.url.path, delay, attempt, status or error,
        )  # fmt: skip
        if self._on_retry is not None:
            self._on_retry(event)
        await self._clock.sleep(delay)

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._inner.aclose()


def _redact(text: str, request: httpx.Request) -> str:
    return redact_text(text, request.headers.get("authorization"))


def _status_error(request: httpx.Request, response: httpx.Response) -> APIStatusError:
    # The error keeps a copy without the token: users log, print and pickle errors.
    response = redacted_response(response, request)
    if 300 <= response.status_code < 400:
        location = response.headers.get("location", "?")
        # Never followed: the Authorization header must not travel to another host.
        return APIStatusError(
            f"unexpected redirect to {location!r}; redirects are not followed",
            response=response,
            code=None,
            details=None,
        )
    error = status_error_from_response(response)
    error.message = _redact(error.message, request)
    error.args = (error.message,)
    return error


def _connection_error(request: httpx.Request, exc: httpx.TransportError) -> APIConnectionError:
    detail = _redact(str(exc) or type(exc).__name__, request)
    where = f"{request.method} {request.url.path}"
    safe = redacted_request(request)
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"{where} timed out ({detail})", request=safe)
    return APIConnectionError(f"{where} failed: {detail}", request=safe)
