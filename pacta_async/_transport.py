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
from ._headers import parse_retry_after
from ._logging import logger
from ._options import RequestOptions, current_options, record_response
from ._ratelimit import PacingTimeout, RateLimiter
from ._raw import STREAM_EXTENSION
from ._redaction import redact_text, redacted_headers, redacted_request, redacted_response
from ._retry import RetryBudget, RetryEvent, RetryPolicy

__all__ = ["Lifetime", "PactaTransport", "is_send"]

# The requests that count against the send limit as well as the general one.
_SEND_PATH = re.compile(r"/(documents/[^/]+/send|templates/[^/]+/generate)/?$")


def is_send(request: httpx.Request) -> bool:
    return request.method == "POST" and _SEND_PATH.search(request.url.path) is not None


class _Elapsed:
    """Where a call's time went, for the message of a total-timeout error."""

    def __init__(self) -> None:
        self.pacing = 0.0
        self.attempts = 0.0
        self.waiting = 0.0
        self.count = 0

    def describe(self, total: float) -> str:
        return (
            f"did not finish within its total timeout of {total:g} s "
            f"({self.pacing:.2f} s waiting for the rate limiter, {self.attempts:.2f} s in "
            f"{self.count} attempt(s), {self.waiting:.2f} s waiting to retry)"
        )


class Lifetime:
    """Whether the connections are closed, shared by every stack built over them (the
    copies `with_options` makes), so none of them sends through closed connections."""

    def __init__(self) -> None:
        self.closed = False


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
        total_timeout: float | None = None,
        is_send: Callable[[httpx.Request], bool] = is_send,
        lifetime: Lifetime | None = None,
    ) -> None:
        self._inner = inner
        self._is_send = is_send
        self._clock = clock
        self._policy = policy
        self._budget = budget
        self._limiter = limiter
        self._on_retry = on_retry
        self._total_timeout = total_timeout
        self._rng = random.Random()
        self._lifetime = lifetime or Lifetime()
        self._event_loop: object = None

    def _check_usable(self) -> None:
        """Refuse, before anything is sent, what would fail obscurely inside httpx."""
        if self._lifetime.closed:
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
        call = _Call(self, request, current_options())
        return await call.run()

    @property
    def is_closed(self) -> bool:
        return self._lifetime.closed

    async def aclose(self) -> None:
        if not self._lifetime.closed:
            self._lifetime.closed = True
            await self._inner.aclose()


class _Call:
    """One request through the layer: its attempts, its retries and its deadline."""

    def __init__(
        self, transport: PactaTransport, request: httpx.Request, options: RequestOptions
    ) -> None:
        self._t = transport
        self._request = request
        policy = transport._policy
        if options.timeout is not None:
            request.extensions["timeout"] = options.timeout.as_dict()
        self._attempt_timeout: dict[str, float | None] = dict(
            request.extensions.get("timeout") or {}
        )
        self._server_retries = policy.max_retries
        self._rate_limit_retries = policy.max_rate_limit_retries
        if options.max_retries is not None:
            self._server_retries = self._rate_limit_retries = options.max_retries
        self._total = (
            options.total_timeout if options.total_timeout is not None else transport._total_timeout
        )
        clock = transport._clock
        self._deadline = None if self._total is None else clock.monotonic() + self._total
        self._elapsed = _Elapsed()
        self._send = transport._is_send(request)
        self._stream = bool(request.extensions.get(STREAM_EXTENSION))
        self._place: int | None = None

    def _left(self) -> float | None:
        return None if self._deadline is None else self._deadline - self._t._clock.monotonic()

    def _timed_out(self, why: str) -> APITimeoutError:
        request = self._request
        assert self._total is not None
        message = f"{request.method} {request.url.path} {self._elapsed.describe(self._total)}"
        return APITimeoutError(f"{message}: {why}", request=request)

    async def run(self) -> httpx.Response:
        t, request, clock = self._t, self._request, self._t._clock
        t._budget.record_request()
        attempt = 0
        resume_at: float | None = None  # no retry before this (a 429's Retry-After)
        while True:
            attempt += 1
            await self._pace()
            if resume_at is not None and (rest := resume_at - clock.monotonic()) > 0:
                # The refused request waits out its Retry-After itself: our limiters may
                # let the others resume sooner, and a custom one may not wait at all.
                await self._sleep(rest, "the rest of Retry-After")
            self._cap_attempt_timeout()
            started = clock.monotonic()
            try:
                response = await t._inner.handle_async_request(request)
                # A streamed success is handed over unread: retries end where it starts.
                if not (self._stream and response.status_code < 300):
                    try:
                        # Pacta's bodies are small JSON: reading here means a connection
                        # dropped mid-body is retried or typed like any other failure.
                        await response.aread()
                    finally:
                        await response.aclose()
            except httpx.TransportError as exc:
                elapsed = self._took(started)
                logger.debug(
                    "%s %s failed: %s attempt=%d %.3fs",
                    request.method, request.url.path, type(exc).__name__, attempt, elapsed,
                )  # fmt: skip
                left = self._left()
                if left is not None and left <= 0:
                    raise self._timed_out(f"the last attempt failed: {type(exc).__name__}") from exc
                if (
                    not t._policy.may_retry_error(request, exc)
                    or self._server_retries < 1
                    or not t._budget.try_spend()
                ):
                    raise _connection_error(request, exc) from exc
                self._server_retries -= 1
                delay = t._policy.backoff(attempt, t._rng)
                self._report(attempt, delay, status=None, error=type(exc).__name__)
                await self._sleep(delay, f"a {delay:.2f} s backoff after {type(exc).__name__}")
                continue

            response.request = request
            elapsed = self._took(started)
            logger.debug(
                "%s %s %d attempt=%d %.3fs",
                request.method, request.url.path, response.status_code, attempt, elapsed,
            )  # fmt: skip
            if response.status_code < 300:
                if t._limiter is not None:
                    await t._limiter.observe(
                        response.status_code, response.headers, round_trip=elapsed
                    )
                record_response(response)
                return response
            error = _status_error(request, response)
            limited = error if isinstance(error, RateLimitError) else None
            if t._limiter is not None:
                await t._limiter.observe(
                    response.status_code,
                    response.headers,
                    scope=limited.scope if limited else None,
                    limit=limited.limit if limited else None,
                    error=limited,
                    round_trip=elapsed,
                )
            status = response.status_code
            if not t._policy.may_retry_status(request, status):
                raise error
            retry_after = parse_retry_after(response.headers, now=clock.wall())
            wait = t._policy.delay_after_status(attempt, retry_after, t._rng)
            if limited is not None:
                if wait is None or self._rate_limit_retries < 1:
                    raise error
                self._rate_limit_retries -= 1
            elif wait is None or self._server_retries < 1 or not t._budget.try_spend():
                raise error
            else:
                self._server_retries -= 1
            self._report(
                attempt,
                wait,
                status=status,
                error=None,
                retry_after=retry_after,
                scope=limited.scope if limited else None,
                headers=redacted_headers(response.headers, request),
            )
            left = self._left()
            if left is not None and wait > left:
                raise self._timed_out(f"{status} asked for a {wait:.2f} s wait") from error
            if limited is not None and t._limiter is not None:
                # The limiter holds the retry back until Retry-After, in its place in
                # line, rather than sending it to the back of the line after a sleep.
                resume_at = clock.monotonic() + wait
            else:
                await self._sleep(wait, f"a {wait:.2f} s backoff after {status}")

    async def _pace(self) -> None:
        limiter = self._t._limiter
        if limiter is None:
            return
        clock = self._t._clock
        left = self._left()
        started = clock.monotonic()
        try:
            self._place = await limiter.acquire(send=self._send, place=self._place, timeout=left)
        except PacingTimeout as exc:
            self._elapsed.pacing += clock.monotonic() - started
            raise self._timed_out(str(exc)) from None
        self._elapsed.pacing += clock.monotonic() - started

    async def _sleep(self, seconds: float, why: str) -> None:
        left = self._left()
        if left is not None and seconds > left:
            raise self._timed_out(f"{why} would end after it")
        clock = self._t._clock
        started = clock.monotonic()
        await clock.sleep(seconds)
        self._elapsed.waiting += clock.monotonic() - started

    def _took(self, started: float) -> float:
        elapsed = self._t._clock.monotonic() - started
        self._elapsed.attempts += elapsed
        self._elapsed.count += 1
        return elapsed

    def _cap_attempt_timeout(self) -> None:
        """No phase of an attempt may run past the call's deadline."""
        left = self._left()
        if left is None:
            return
        if left <= 0:
            raise self._timed_out("no time was left for another attempt")
        self._request.extensions["timeout"] = {
            phase: left if limit is None else min(limit, left)
            for phase, limit in (
                self._attempt_timeout or dict.fromkeys(("connect", "read", "write", "pool"))
            ).items()
        }

    def _report(
        self,
        attempt: int,
        delay: float,
        *,
        status: int | None,
        error: str | None,
        retry_after: float | None = None,
        scope: str | None = None,
        headers: httpx.Headers | None = None,
    ) -> None:
        request = self._request
        event = RetryEvent(
            method=request.method,
            url=str(request.url),
            attempt=attempt,
            delay=delay,
            status_code=status,
            error=error,
            retry_after=retry_after,
            scope=scope,
            headers=headers,
        )
        logger.info(
            "retrying %s %s in %.2fs (attempt %d failed: %s)",
            request.method, request.url.path, delay, attempt, status or error,
        )  # fmt: skip
        on_retry = self._t._on_retry
        if on_retry is not None:
            on_retry(event)


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
