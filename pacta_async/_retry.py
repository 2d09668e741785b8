"""When to retry a request, how long to wait first, and how many retries to allow.

The rules follow one question: could repeating this request do something twice?
- A request that never left (connection refused, pool timeout) is always safe to repeat.
- A 429 was rejected before Pacta processed it, so it is safe to repeat after `Retry-After`.
- Anything else that may have reached Pacta (a 5xx, a read timeout, a dropped
  connection) is repeated only for idempotent methods. A POST is never blindly
  repeated: it could create a second document or send a contract twice.
"""

from __future__ import annotations

import math
import random
from typing import Final

import attrs
import httpx

from ._clock import Clock, SystemClock
from ._errors import ConfigurationError

__all__ = [
    "DEFAULT_MAX_RETRY_AFTER",
    "NOT_SENT_ERRORS",
    "RetryBudget",
    "RetryEvent",
    "RetryPolicy",
    "is_idempotent",
]

# PATCH /webhooks/{id} sets absolute values, so repeating it is harmless.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
# Failures raised before a single byte of the request was sent.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# Pacta's windows are a minute, and an HTTP date can make a wait that ends with the
# window read as up to 61 s; twice that leaves room for a proxy's clock skew too
# (openai-python's ceiling is also 120 s). Longer waits fail with RateLimitError.
DEFAULT_MAX_RETRY_AFTER: Final = 120.0


def is_idempotent(method: str) -> bool:
    return method.upper() in _IDEMPOTENT


@attrs.frozen
class RetryEvent:
    """What a retry hook is told before the client waits and tries again."""

    method: str
    url: str
    attempt: int  # the attempt that failed, from 1
    delay: float  # seconds until the retry may go (pacing may add to it)
    status_code: int | None  # None when no response came back
    error: str | None  # the transport error's class name, if any
    retry_after: float | None = None  # the server's Retry-After, in seconds
    scope: str | None = None  # a 429's limit: "general" or "send", when Pacta says
    headers: httpx.Headers | None = None  # the failed response's headers


def _non_negative_int(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{attribute.name} must be an integer >= 0, got {value!r}")


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(f"{attribute.name} must be a positive number, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a client retries: exponential backoff with jitter, honouring `Retry-After`.

    `max_retries` counts retries after a 5xx or a failed connection, and
    `max_rate_limit_retries` the waits after a 429, separately: waiting out a busy
    minute says nothing about whether Pacta is healthy. A `Retry-After` longer than
    `max_retry_after` is not waited out: the call raises `RateLimitError` at once.
    """

    max_retries: int = attrs.field(default=2, validator=_non_negative_int)
    max_rate_limit_retries: int = attrs.field(default=4, validator=_non_negative_int)
    initial_delay: float = attrs.field(default=0.5, validator=_positive)
    max_delay: float = attrs.field(default=8.0, validator=_positive)
    max_retry_after: float = attrs.field(default=DEFAULT_MAX_RETRY_AFTER, validator=_positive)

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Delay before retry number `attempt` (from 1): between half and all of the cap."""
        ceiling = min(self.max_delay, self.initial_delay * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + rng.random() / 2)

    def may_retry_error(self, request: httpx.Request, error: httpx.TransportError) -> bool:
        return isinstance(error, NOT_SENT_ERRORS) or is_idempotent(request.method)

    def may_retry_status(self, request: httpx.Request, status: int) -> bool:
        return status == 429 or (status in _RETRYABLE_STATUS and is_idempotent(request.method))

    def delay_after_status(
        self, attempt: int, retry_after: float | None, rng: random.Random
    ) -> float | None:
        """Seconds to wait before repeating after a retryable status, or None to give up."""
        if retry_after is None:
            return self.backoff(attempt, rng)
        if not retry_after <= self.max_retry_after:  # also catches nan
            return None
        return retry_after


class RetryBudget:
    """Caps retries so that a struggling Pacta is not hit by a retry storm, without
    ever starving a client whose failures are steady and few (Finagle's model).

    Within any `ttl` seconds a client may retry `min_per_second * ttl` times, plus
    `ratio` of the requests it made in those seconds. Spent retries leave the window
    after `ttl` seconds, so the floor refills: a client never gets fewer than
    `min_per_second` retries a second on average, however long failures last, and a
    steady error rate cannot drain it. The ratio lets a busy client retry more. A
    failing Pacta sees at most that many retries, not one per failed call. Waiting
    out a 429 is not charged: that repeats only what the server asked for.
    """

    _SLOTS = 10  # the window moves in steps of ttl / 10

    def __init__(
        self,
        *,
        ratio: float = 0.2,
        min_per_second: float = 10.0,
        ttl: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        for name, value in (("ratio", ratio), ("min_per_second", min_per_second)):
            if not (value >= 0 and math.isfinite(value)):
                raise ConfigurationError(f"{name} must be a number >= 0, got {value!r}")
        if not (ttl > 0 and math.isfinite(ttl)):
            raise ConfigurationError(f"ttl must be a positive number, got {ttl!r}")
        self._ratio = ratio
        self._reserve = min_per_second * ttl
        self._slot_seconds = ttl / self._SLOTS
        self._clock: Clock = SystemClock() if clock is None else clock
        # Net deposits (ratio per request, -1 per retry) per slot of the last ttl.
        self._slots = [0.0] * self._SLOTS
        self._slot = self._current_slot()

    def _current_slot(self) -> int:
        return math.floor(self._clock.monotonic() / self._slot_seconds)

    def _roll(self) -> None:
        """Forget the slots that have left the window."""
        slot = self._current_slot()
        for expired in range(self._slot + 1, min(slot, self._slot + self._SLOTS) + 1):
            self._slots[expired % self._SLOTS] = 0.0
        self._slot = max(self._slot, slot)

    @property
    def balance(self) -> float:
        """Retries available now."""
        self._roll()
        return self._reserve + sum(self._slots)

    def record_request(self) -> None:
        self._roll()
        self._slots[self._slot % self._SLOTS] += self._ratio

    def try_spend(self) -> bool:
        if self.balance < 1:
            return False
        self._slots[self._slot % self._SLOTS] -= 1
        return True
