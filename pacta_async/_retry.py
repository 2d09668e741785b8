"""When to retry a request, and how long to wait first.

The rules follow one question: could repeating this request do something twice?
- A request that never left (connection refused, pool timeout) is always safe to repeat.
- A 429 was rejected before Pacta processed it, so it is safe to repeat after `Retry-After`.
- Anything else that may have reached Pacta (a 5xx, a read timeout, a dropped
  connection) is repeated only for idempotent methods. A POST is never blindly
  repeated: it could create a second document or send a contract twice.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs
import httpx

from ._headers import parse_retry_after

__all__ = ["NOT_SENT_ERRORS", "RetryBudget", "RetryEvent", "RetryPolicy", "is_idempotent"]

# PATCH /webhooks/{id} sets absolute values, so repeating it is harmless.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
# Failures raised before a single byte of the request was sent.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def is_idempotent(method: str) -> bool:
    return method.upper() in _IDEMPOTENT


@attrs.frozen
class RetryEvent:
    """What a retry hook is told before the client waits and tries again."""

    method: str
    url: str
    attempt: int  # the attempt that failed, from 1
    delay: float  # seconds the client will wait
    status_code: int | None  # None when no response came back
    error: str | None  # the transport error's class name, if any


@attrs.frozen
class RetryPolicy:
    """Exponential backoff with jitter, capped, honouring `Retry-After`."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    # A longer Retry-After is not waited out: the call fails with RateLimitError.
    max_retry_after: float = 60.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Delay before retry number `attempt` (from 1): between half and all of the cap."""
        ceiling = min(self.max_delay, self.initial_delay * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + rng.random() / 2)

    def delay_after_error(
        self, request: httpx.Request, error: httpx.TransportError, attempt: int, rng: random.Random
    ) -> float | None:
        """Seconds to wait before repeating after a transport error, or None to give up."""
        if isinstance(error, NOT_SENT_ERRORS) or is_idempotent(request.method):
            return self.backoff(attempt, rng)
        return None

    def delay_after_response(
        self,
        request: httpx.Request,
        response: httpx.Response,
        attempt: int,
        rng: random.Random,
        now: Callable[[], float],
    ) -> float | None:
        """Seconds to wait before repeating after an error status, or None to give up."""
        status = response.status_code
        if status != 429 and not (status in _RETRYABLE_STATUS and is_idempotent(request.method)):
            return None
        retry_after = parse_retry_after(response.headers, now=now())
        if retry_after is None:
            return self.backoff(attempt, rng)
        if retry_after > self.max_retry_after:
            return None
        return retry_after


class RetryBudget:
    """Caps retries at a fraction of all requests, so that a struggling Pacta is not
    hit by a retry storm from every in-flight call at once.

    Each request earns `ratio` of a retry; each retry spends one. `minimum` retries
    are always available, so a quiet client still retries its occasional failure.
    Waiting out a 429 is not charged: that repeats only what the server asked for.
    """

    def __init__(self, *, ratio: float = 0.2, minimum: int = 10) -> None:
        if ratio < 0 or minimum < 0:
            raise ValueError("ratio and minimum must be >= 0")
        self._ratio = ratio
        self._cap = float(max(minimum, 1) * 10)
        self._balance = float(minimum)

    def record_request(self) -> None:
        self._balance = min(self._cap, self._balance + self._ratio)

    def try_spend(self) -> bool:
        if self._balance < 1:
            return False
        self._balance -= 1
        return True
