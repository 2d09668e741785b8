"""What every limiter shares: the protocol the transport calls, Pacta's limits, and
the building blocks both limiters use (a validated rate, a first-in first-out line).

Pacta allows each token 100 requests a minute and 30 sends a minute, and a send
(`POST /documents/{id}/send`, `POST /templates/{id}/generate`) counts against both.
The transport asks a `RateLimiter` before every request and reports every response
back to it, so one limiter per token paces every task that uses that token.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import anyio
import anyio.lowlevel
import attrs
import httpx

from .._clock import Clock
from .._errors import ConfigurationError, PactaError, RateLimitError, status_error_from_response

__all__ = [
    "DEFAULT_REQUESTS_PER_MINUTE",
    "DEFAULT_SENDS_PER_MINUTE",
    "JITTER_ALLOWANCE",
    "ArrivalSpread",
    "PacingTimeout",
    "Rate",
    "RateLimiter",
    "WaitLine",
    "check_max_pause",
    "check_rate",
    "refusal_error",
    "wait_event",
]

# Pacta's documented limits per token.
DEFAULT_REQUESTS_PER_MINUTE = 100
DEFAULT_SENDS_PER_MINUTE = 30

# Pacta meters requests when they arrive, we when they leave. A request that arrives
# sooner after its predecessor than it left (the first of a burst opened a connection,
# the next reused it) would look early by that difference and get a 429, so we give up
# that much of the burst tolerance. The difference is at most the earlier request's
# delay on the way, which is less than its round trip: `ArrivalSpread` measures it.
# Until a round trip has been measured, this much is given up. The long-run rate is
# unchanged; with a burst of 1 there is no tolerance to give, and a rare 429 is absorbed
# by the pause and retry.
JITTER_ALLOWANCE = 0.25
# How many recent round trips the allowance covers: enough to span a burst and its
# reconnections, few enough to follow a network that gets faster.
_SPREAD_WINDOW = 64


class ArrivalSpread:
    """How much earlier than it left a request may arrive, relative to the ones before
    it: twice the longest of the recent round trips. A request's delay on the way is
    less than its round trip, but the request before it may still be on its way, and
    slower than any answered so far: the factor covers a round trip that doubles."""

    def __init__(self, unmeasured: float = JITTER_ALLOWANCE) -> None:
        self._recent: collections.deque[float] = collections.deque(maxlen=_SPREAD_WINDOW)
        self.allowance = unmeasured

    def record(self, round_trip: float) -> bool:
        """Add one measurement; True when the allowance shrank, so waiters may go sooner."""
        if not (round_trip >= 0 and math.isfinite(round_trip)):
            return False
        before = self.allowance
        self._recent.append(round_trip)
        self.allowance = 2 * max(self._recent)
        return self.allowance < before


class PacingTimeout(PactaError):
    """The limiter could not let a request go before the caller's deadline.

    The transport turns it into `APITimeoutError`, saying where the time went.
    """


class RateLimiter(Protocol):
    """What the transport calls around every request made with one token."""

    async def acquire(
        self, *, send: bool, place: int | None = None, timeout: float | None = None
    ) -> int | None:
        """Wait until a request may go: one general token, plus a send token if `send`.

        Both are taken at once, never one while queued for the other. Waiters are
        served first in, first out within each limit, so a request that needs only a
        general token never waits behind a send held back by the send limit. A waiter
        that is cancelled has taken nothing.

        Returns the request's place in line; a retry passes it back as `place` to be
        served in that place rather than at the back. `timeout` is how long the caller
        can wait: a slot further away raises `PacingTimeout` at once, and
        `RateLimitError` is raised while a 429 longer than the limiter's `max_pause`
        holds the limit back.
        """
        ...

    async def observe(
        self,
        status_code: int,
        headers: httpx.Headers,
        *,
        scope: str | None = None,
        limit: int | None = None,
        error: RateLimitError | None = None,
        round_trip: float | None = None,
    ) -> None:
        """Learn from a response: a 429 pauses every user of the limiter until
        `Retry-After`, and `X-RateLimit-*` lowers our view to the server's when it is
        lower. `round_trip` is the seconds from the request leaving to its answer: it
        bounds how far the server's arrival times can differ from our departures.

        `scope` and `limit` are the ``details.scope`` and ``details.limit`` of a 429's
        body when the caller has them: only the body says whether the send limit was
        the one hit, and what that limit is, since the headers describe the general
        limit alone. Without them a 429 pauses both buckets. `error` is the 429 as an
        exception: when its `Retry-After` is longer than `max_pause`, waiters of that
        limit get it raised instead of waiting.
        """
        ...


@attrs.frozen
class Rate:
    """A configured limit: so many per minute, and at most `burst` at once."""

    per_minute: float
    burst: int


def check_rate(per_minute: float, burst: int | None, name: str) -> Rate:
    """Validate one limit; the burst defaults to a minute's worth, as Pacta allows."""
    if not (per_minute > 0 and math.isfinite(per_minute)):
        raise ConfigurationError(f"{name} must be a positive number, got {per_minute!r}")
    chosen = max(1, int(per_minute)) if burst is None else burst
    if chosen < 1:
        raise ConfigurationError(f"the burst for {name} must be at least 1, got {burst!r}")
    return Rate(per_minute, chosen)


def check_max_pause(max_pause: float) -> float:
    if not (max_pause > 0 and math.isfinite(max_pause)):
        raise ConfigurationError(f"max_pause must be a positive number, got {max_pause!r}")
    return float(max_pause)


def refusal_error(scope: str, seconds: float, source: str) -> RateLimitError:
    """A 429 as `RateLimitError`, for a waiter refused by a 429 it did not receive."""
    body = {
        "code": "RATE_LIMITED",
        "message": f"rate limited ({scope}) as seen by {source}; retry in {seconds:.0f} s",
        "details": {"scope": scope},
    }
    request = httpx.Request("GET", "http://rate-limiter.invalid/")
    headers = {"Retry-After": str(math.ceil(seconds))}
    response = httpx.Response(429, headers=headers, json=body, request=request)
    error = status_error_from_response(response)
    assert isinstance(error, RateLimitError)
    return error


async def wait_event(event: anyio.Event, clock: Clock, timeout: float | None) -> bool:
    """Wait for `event`, at most `timeout` seconds of `clock`; True if it was set."""
    if timeout is None:
        await event.wait()
        return True
    if event.is_set() or timeout <= 0:
        await anyio.lowlevel.checkpoint()
        return event.is_set()
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tasks:

            async def alarm() -> None:
                await clock.sleep(timeout)
                scope.cancel()

            tasks.start_soon(alarm)
            await event.wait()
            tasks.cancel_scope.cancel()
    return event.is_set()


class WaitLine:
    """A line in which only the task holding the front may act, served by place.

    Places are handed out in arrival order, so the line is first in, first out; a
    retry comes back with its old place and is served before later arrivals. The
    holder of the front does its own waiting (for tokens, for Redis) and hands the
    front to the next place when it leaves, however it leaves: served, cancelled or
    failed. An earlier place joining while the holder sleeps takes the front from it.
    So nobody can jump the line, and a cancelled waiter holds nothing it could leak.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._waiting: list[tuple[int, int, anyio.Event]] = []
        self._order = itertools.count()
        self._holder: int | None = None
        self._nudge = anyio.Event()

    def __bool__(self) -> bool:
        return self._holder is not None or bool(self._waiting)

    def __len__(self) -> int:
        return len(self._waiting) + (self._holder is not None)

    @asynccontextmanager
    async def front(self, place: int, deadline: float | None) -> AsyncIterator[None]:
        """Join the line, and return once at the front; leaving the block leaves the line.

        Raises `PacingTimeout` if the front is not reached by `deadline` (monotonic).
        """
        if self._holder is None and not self._waiting:
            self._holder = place
        else:
            await self._queue(place, deadline)
        try:
            yield
        finally:
            # Not the holder if stepping aside failed: the queue has let go already.
            if self._holder == place:
                self._hand_over()

    async def sleep(self, seconds: float, deadline: float | None) -> None:
        """The holder's wait; it steps aside for an earlier place that joins meanwhile."""
        place = self._holder
        assert place is not None
        if not (self._waiting and self._waiting[0][0] < place):
            self._nudge = anyio.Event()
            if not await wait_event(self._nudge, self._clock, seconds):
                return
            if not (self._waiting and self._waiting[0][0] < place):
                return  # woken to look again (`wake`)
        self._hand_over()
        await self._queue(place, deadline)

    def wake(self) -> None:
        """Cut the holder's sleep short, so that it looks at the limits again now."""
        self._nudge.set()

    async def _queue(self, place: int, deadline: float | None) -> None:
        entry = (place, next(self._order), anyio.Event())
        heapq.heappush(self._waiting, entry)
        if self._holder is not None and place < self._holder:
            self._nudge.set()
        timeout = None if deadline is None else deadline - self._clock.monotonic()
        try:
            reached = await wait_event(entry[2], self._clock, timeout)
        except BaseException:
            if entry[2].is_set():
                self._hand_over()
            else:
                self._forget(entry)
            raise
        if not reached:
            self._forget(entry)
            ahead = len(self)
            raise PacingTimeout(f"still in line behind {ahead} request(s) at the deadline")

    def _forget(self, entry: tuple[int, int, anyio.Event]) -> None:
        self._waiting.remove(entry)
        heapq.heapify(self._waiting)

    def _hand_over(self) -> None:
        if self._waiting:
            place, _, turn = heapq.heappop(self._waiting)
            self._holder = place
            turn.set()
        else:
            self._holder = None
