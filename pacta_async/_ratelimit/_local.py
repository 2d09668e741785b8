"""`TokenBucketLimiter`: Pacta's per-token limits, kept by one process.

The buckets use GCRA, the token bucket written as a single "theoretical arrival time"
per bucket. That form needs no refill bookkeeping, keeps exact timings under a fake
clock, and is the same arithmetic as the Redis script in `_redis`, so the two
limiters behave alike.
"""

from __future__ import annotations

import anyio.lowlevel
import attrs
import httpx

from .._clock import Clock, SystemClock
from .._headers import parse_rate_limit_headers, parse_retry_after
from ._base import (
    DEFAULT_REQUESTS_PER_MINUTE,
    DEFAULT_SENDS_PER_MINUTE,
    JITTER_ALLOWANCE,
    Rate,
    WaitLine,
    check_rate,
)

__all__ = ["TokenBucketLimiter"]

# Float arithmetic may leave a waiter a hair short of its slot after sleeping exactly
# as long as it was told; this much is "on time".
_ON_TIME = 1e-9


@attrs.define
class _Bucket:
    """One bucket as GCRA state: `tat`, the time at which the bucket is full again.

    With interval T = 60 / per_minute and burst b, a request may go once
    ``now >= tat - max(0, (b - 1) * T - JITTER_ALLOWANCE)`` and then moves `tat` to
    ``max(tat, now) + T``.
    Every other adjustment is `cap`: a lower bound on `tat`, so observations can only
    ever slow the bucket down, whatever order they arrive in.
    """

    rate: Rate
    tat: float
    # The limit the server reports, which wins while it is lower than the configured one.
    reported: float | None = None

    @property
    def interval(self) -> float:
        return 60.0 / self._per_minute

    @property
    def burst(self) -> int:
        if self.reported is not None and self.reported < self.rate.per_minute:
            return min(self.rate.burst, max(1, int(self.reported)))
        return self.rate.burst

    @property
    def _per_minute(self) -> float:
        if self.reported is not None:
            return min(self.rate.per_minute, self.reported)
        return self.rate.per_minute

    def allowed_at(self) -> float:
        tolerance = (self.burst - 1) * self.interval
        return self.tat - max(0.0, tolerance - JITTER_ALLOWANCE)

    def take(self, now: float) -> None:
        self.tat = max(self.tat, now) + self.interval

    def cap(self, at: float, tokens: float) -> None:
        """Make sure no more than `tokens` are available at time `at`."""
        self.tat = max(self.tat, at + (self.burst - tokens) * self.interval)


class TokenBucketLimiter:
    """An in-process limiter for one token: a general bucket and a send bucket.

    Every request takes a general token and a send takes a send token as well, both
    at the same instant, so a send waiting for its send token never sits on a general
    token that others could use. Waiters form one first-in, first-out line across
    both kinds: a general request queued behind a send waits for that send, which is
    what guarantees that a steady stream of general requests cannot starve sends (nor
    sends starve general requests). The price is head-of-line waiting, which costs
    nothing in throughput here: the send would have used the next general token anyway.

    It adapts to what Pacta says. A 429 pauses every task until `Retry-After`, then
    lets requests resume one interval apart rather than in a burst; `X-RateLimit-*`
    lowers the general bucket when the server has less left than we think (another
    process using the token, a lower limit than configured), and a reported limit
    below the configured one becomes the rate. Limits are never raised above the
    configured ones.

    Share one instance between every client that uses the same token; the limits
    belong to the token, not to a client.
    """

    def __init__(
        self,
        *,
        requests_per_minute: float = DEFAULT_REQUESTS_PER_MINUTE,
        sends_per_minute: float = DEFAULT_SENDS_PER_MINUTE,
        burst: int | None = None,
        send_burst: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._clock: Clock = SystemClock() if clock is None else clock
        now = self._clock.monotonic()
        self._general = _Bucket(check_rate(requests_per_minute, burst, "requests_per_minute"), now)
        self._send = _Bucket(check_rate(sends_per_minute, send_burst, "sends_per_minute"), now)
        self._line = WaitLine()

    async def acquire(self, *, send: bool) -> None:
        await anyio.lowlevel.checkpoint_if_cancelled()
        if not self._line and self._delay(send) <= _ON_TIME:
            # Nobody is waiting and the tokens are there: take them and return without
            # yielding (the request that follows yields), so a cancellation cannot land
            # between taking and returning, and the fast path costs no loop pass.
            self._take(send)
            return
        async with self._line.front():
            # Observations may push the slot back while we sleep, so look again on waking.
            while (delay := self._delay(send)) > _ON_TIME:
                await self._clock.sleep(delay)
            self._take(send)

    async def observe(
        self,
        status_code: int,
        headers: httpx.Headers,
        *,
        scope: str | None = None,
        limit: int | None = None,
    ) -> None:
        now = self._clock.monotonic()
        if status_code == 429:
            buckets = _scoped(self._general, self._send, scope)
            if limit is not None and limit >= 1 and scope is not None:
                for bucket in buckets:
                    bucket.reported = limit
            retry_after = parse_retry_after(headers, now=self._clock.wall())
            for bucket in buckets:
                _pause(bucket, now, retry_after)
        server = parse_rate_limit_headers(headers)
        if server is not None:
            if server.limit >= 1:
                self._general.reported = server.limit
            self._general.cap(now, max(0, server.remaining))

    def _delay(self, send: bool) -> float:
        allowed_at = self._general.allowed_at()
        if send:
            allowed_at = max(allowed_at, self._send.allowed_at())
        return allowed_at - self._clock.monotonic()

    def _take(self, send: bool) -> None:
        now = self._clock.monotonic()
        self._general.take(now)
        if send:
            self._send.take(now)


def _scoped(general: _Bucket, send: _Bucket, scope: str | None) -> tuple[_Bucket, ...]:
    """The buckets a 429 is about; without a scope, assume both, to be safe."""
    if scope == "general":
        return (general,)
    if scope == "send":
        return (send,)
    return (general, send)


def _pause(bucket: _Bucket, now: float, retry_after: float | None) -> None:
    """After a 429: one token when `Retry-After` is up, then one per interval.

    Resuming with a single token rather than a refilled burst keeps the first seconds
    after a pause from tripping the limit again. Without `Retry-After` the bucket is
    emptied, which waits one interval.
    """
    if retry_after is None:
        bucket.cap(now, 0)
    else:
        bucket.cap(now + retry_after, 1)
