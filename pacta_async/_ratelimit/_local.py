"""`TokenBucketLimiter`: Pacta's per-token limits, kept by one process.

The buckets use GCRA, the token bucket written as a single "theoretical arrival time"
per bucket. That form needs no refill bookkeeping, keeps exact timings under a fake
clock, and is the same arithmetic as the Redis script in `_redis`, so the two
limiters behave alike.
"""

from __future__ import annotations

import anyio.lowlevel
import attrs

from .._clock import Clock
from .._errors import RateLimitError
from .._logging import logger
from .._retry import DEFAULT_MAX_RETRY_AFTER
from ._base import (
    DEFAULT_REQUESTS_PER_MINUTE,
    DEFAULT_SENDS_PER_MINUTE,
    ArrivalSpread,
    LimiterBase,
    Observation,
    PacingTimeout,
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
    ``now >= tat - max(0, (b - 1) * T - allowance)`` and then moves `tat` to
    ``max(tat, now) + T``, where `allowance` is the measured `ArrivalSpread`.
    Every other adjustment is `cap`: a lower bound on `tat`, so observations can only
    ever slow the bucket down, whatever order they arrive in.

    The server's bucket runs behind ours by the delay on the way of the request that
    found it full, for as long as it has not been full again; `held` keeps the longest
    round trip measured since then (a bound on that delay), so the allowance never
    drops below it when the recent, faster round trips push it out of `spread`.
    """

    rate: Rate
    tat: float
    spread: ArrivalSpread
    # The limit the server reports, which wins while it is lower than the configured one.
    reported: float | None = None
    # Until when (monotonic) requests fail with this 429: its Retry-After is too long.
    refused: tuple[float, RateLimitError] | None = None
    held: float = 0.0

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
        return self.tat - max(0.0, tolerance - max(self.spread.allowance, self.held))

    def take(self, now: float) -> None:
        if self.tat <= now:  # full: the server's starts again from this request
            self.held = 0.0
        longest = self.spread.longest
        if longest is not None:
            self.held = max(self.held, longest)
        self.tat = max(self.tat, now) + self.interval

    def cap(self, at: float, tokens: float) -> None:
        """Make sure no more than `tokens` are available at time `at`."""
        self.tat = max(self.tat, at + (self.burst - tokens) * self.interval)


class TokenBucketLimiter(LimiterBase):
    """An in-process limiter for one token: a general bucket and a send bucket.

    Every request takes a general token and a send takes a send token as well, both
    at the same instant, so a send waiting for its send token never sits on a general
    token that others could use. Each limit has its own first-in, first-out line: a
    send first queues for the send limit, then joins the general line like any other
    request, so a send held back by the send limit (after a send-scoped 429, say)
    never delays requests that need only a general token, and neither kind can starve
    the other. A retry keeps its place in line.

    It adapts to what Pacta says. A 429 pauses every task until `Retry-After` (or for
    one interval of the limit the 429 reports, when `Retry-After` only rounds that up
    to a whole second: `resume_after`), then lets requests resume one interval apart
    rather than in a burst; `X-RateLimit-*` lowers the general bucket when the server
    has less left than we think (another process using the token, a lower limit than
    configured), and a reported limit below the configured one becomes the rate.
    Limits are never raised above the configured ones. A `Retry-After` beyond
    `max_pause` does not pause anybody: until it is over, requests of that limit fail
    at once with the 429's `RateLimitError`.

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
        max_pause: float = DEFAULT_MAX_RETRY_AFTER,
        clock: Clock | None = None,
    ) -> None:
        general = check_rate(requests_per_minute, burst, "requests_per_minute")
        send = check_rate(sends_per_minute, send_burst, "sends_per_minute")
        super().__init__(clock=clock, max_pause=max_pause)
        now = self._clock.monotonic()
        self._general = _Bucket(general, now, self._spread)
        self._send = _Bucket(send, now, self._spread)

    async def acquire(
        self, *, send: bool, place: int | None = None, timeout: float | None = None
    ) -> int:
        await anyio.lowlevel.checkpoint_if_cancelled()
        self._check_refused(send)
        if place is None:
            place = next(self._places)
        if (
            not self._general_line
            and not (send and self._send_line)
            and self._delay(send) <= _ON_TIME
        ):
            # Nobody is waiting and the tokens are there: take them and return without
            # yielding (the request that follows yields), so a cancellation cannot land
            # between taking and returning, and the fast path costs no loop pass.
            self._take(send)
            return place
        deadline = None if timeout is None else self._clock.monotonic() + timeout
        if not send:
            async with self._general_line.front(place, deadline):
                await self._wait_general(send=False, deadline=deadline)
            return place
        async with self._send_line.front(place, deadline):
            while True:
                # Observations may push the slot back while we sleep, so look again on waking.
                while (delay := self._send.allowed_at() - self._clock.monotonic()) > _ON_TIME:
                    await self._sleep(self._send_line, delay, deadline, "send")
                async with self._general_line.front(place, deadline):
                    if await self._wait_general(send=True, deadline=deadline):
                        return place

    async def _wait_general(self, *, send: bool, deadline: float | None) -> bool:
        """At the general line's front: take the tokens when due. A send gives up (False)
        when its send token is no longer there, to wait for it without blocking the line."""
        while True:
            self._check_refused(send)
            if send and self._send.allowed_at() - self._clock.monotonic() > _ON_TIME:
                return False
            delay = self._general.allowed_at() - self._clock.monotonic()
            if delay <= _ON_TIME:
                self._take(send)
                return True
            await self._sleep(self._general_line, delay, deadline, "general")

    async def _sleep(
        self, line: WaitLine, delay: float, deadline: float | None, scope: str
    ) -> None:
        if deadline is not None and self._clock.monotonic() + delay > deadline:
            raise PacingTimeout(f"the next {scope} slot was {delay:.2f} s away")
        await line.sleep(delay, deadline)

    async def _apply(self, seen: Observation) -> None:
        now = self._clock.monotonic()
        if seen.general_limit is not None:
            self._general.reported = seen.general_limit
        if seen.send_limit is not None:
            self._send.reported = seen.send_limit
        for scope in seen.paused:
            bucket = self._general if scope == "general" else self._send
            if seen.refusal is not None:
                assert seen.pause is not None
                bucket.refused = (now + seen.pause, seen.refusal)
                # Waiters raise it now rather than when their sleep ends.
                self._wake()
                continue
            label = scope if len(seen.paused) == 1 else "general and send"
            _pause(bucket, now, seen.pause, label)
        if seen.remaining is not None:
            # Pacta counted what is left when this request arrived, no earlier than it
            # left: capping at `now` would also throw away what refilled during the round
            # trip, up to a token per answer when the general limit sets the pace.
            left = now if seen.round_trip is None else now - seen.round_trip
            self._general.cap(left, seen.remaining)

    def _check_refused(self, send: bool) -> None:
        now = self._clock.monotonic()
        for bucket in (self._general, self._send) if send else (self._general,):
            if bucket.refused is not None:
                until, error = bucket.refused
                if now < until:
                    raise error
                bucket.refused = None

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


def _pause(bucket: _Bucket, now: float, pause: float | None, scope: str) -> None:
    """After a 429: one token when the pause is up, then one per interval.

    Resuming with a single token rather than a refilled burst keeps the first seconds
    after a pause from tripping the limit again. Without `Retry-After` the bucket is
    emptied, which waits one interval.
    """
    before = bucket.tat
    if pause is None:
        bucket.cap(now, 0)
    else:
        bucket.cap(now + pause, 1)
    if bucket.tat - before > bucket.interval:
        # Once per pause, not once per waiting request.
        logger.info("rate limited (%s): pausing for %.2fs", scope, bucket.tat - now)
