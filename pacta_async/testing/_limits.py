"""Per-token rate limits, enforced the way a client can predict exactly.

Each limit is a token bucket: it holds up to `burst` requests (a minute's worth by
default) and refills at `limit / 60` per second. A client that runs an identical
bucket and takes a token before each request can never see a 429, because the
server's bucket for that token is always at least as full as the client's.
"""

from __future__ import annotations

import math
import threading
from typing import Final, Literal

import attrs

from .._clock import Clock

__all__ = ["Limits", "RateLimited", "RateLimiter"]

Scope = Literal["general", "send"]

# Floating-point slack, so a bucket the client computes as exactly 1.0 is never
# 0.9999999999999999 here.
_EPSILON: Final = 1e-9


@attrs.frozen(kw_only=True)
class Limits:
    """Requests per minute per token; a send counts against both limits."""

    general: int = attrs.field(default=100, validator=attrs.validators.ge(1))
    send: int = attrs.field(default=30, validator=attrs.validators.ge(1))
    general_burst: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(1))
    )
    send_burst: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(1))
    )


@attrs.frozen
class RateLimited:
    """Why a request was refused: the limit that ran out and when to come back."""

    scope: Scope
    limit: int
    retry_after: int  # whole seconds, at least 1


class _Bucket:
    def __init__(self, per_minute: int, burst: int, now: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst)
        self.tokens = self.capacity
        self.updated = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def has_token(self) -> bool:
        return self.tokens >= 1 - _EPSILON

    def seconds_until_token(self) -> float:
        return max(0.0, (1 - self.tokens) / self.rate)

    def seconds_until_full(self) -> float:
        return max(0.0, (self.capacity - self.tokens) / self.rate)


class RateLimiter:
    """The buckets of every token, thread-safe."""

    def __init__(self, limits: Limits, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._limits = limits
        self._buckets: dict[str, tuple[_Bucket, _Bucket]] = {}

    @property
    def limits(self) -> Limits:
        return self._limits

    def set_limits(self, limits: Limits) -> None:
        """New limits for every token, starting from full buckets."""
        with self._lock:
            self._limits = limits
            self._buckets.clear()

    def _pair(self, token: str, now: float) -> tuple[_Bucket, _Bucket]:
        pair = self._buckets.get(token)
        if pair is None:
            limits = self._limits
            pair = (
                _Bucket(limits.general, limits.general_burst or limits.general, now),
                _Bucket(limits.send, limits.send_burst or limits.send, now),
            )
            self._buckets[token] = pair
        return pair

    def acquire(self, token: str, *, send: bool) -> RateLimited | None:
        """Take one request (and one send) for `token`, or none of either and say why."""
        now = self._clock.monotonic()
        with self._lock:
            general, sends = self._pair(token, now)
            checks: list[tuple[Scope, _Bucket, int]] = [("general", general, self._limits.general)]
            if send:
                checks.append(("send", sends, self._limits.send))
            for scope, bucket, limit in checks:
                bucket.refill(now)
                if not bucket.has_token():
                    wait = math.ceil(bucket.seconds_until_token())
                    return RateLimited(scope, limit, max(1, wait))
            for _, bucket, _ in checks:
                bucket.tokens = max(0.0, bucket.tokens - 1)
            return None

    def headers(self, token: str | None) -> dict[str, str]:
        """`X-RateLimit-*` for the general limit; `Reset` is when the bucket is full again."""
        now = self._clock.monotonic()
        wall = self._clock.wall()
        with self._lock:
            limit = self._limits.general
            pair = self._buckets.get(token) if token is not None else None
            if pair is None:  # never charged: a full bucket
                remaining, until_full = self._limits.general_burst or limit, 0.0
            else:
                bucket = pair[0]
                bucket.refill(now)
                remaining = math.floor(bucket.tokens + _EPSILON)
                until_full = bucket.seconds_until_full()
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(wall + until_full)),
        }
