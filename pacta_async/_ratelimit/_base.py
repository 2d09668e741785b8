"""What every limiter shares: the protocol the transport calls, Pacta's limits, and
the building blocks both limiters use (a validated rate, a first-in first-out line,
the measured arrival spread, and `LimiterBase`, which reads every response alike).

Pacta allows each token 100 requests a minute and 30 sends a minute, and a send
(`POST /documents/{id}/send`, `POST /templates/{id}/generate`) counts against both.
The transport asks a `RateLimiter` before every request and reports every response
back to it, so one limiter per token paces every task that uses that token.
"""

from __future__ import annotations

import abc
import collections
import heapq
import itertools
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal, Protocol

import anyio
import anyio.lowlevel
import attrs
import httpx

from .._clock import Clock, SystemClock
from .._errors import ConfigurationError, PactaError, RateLimitError, status_error_from_response
from .._headers import parse_rate_limit_headers, parse_retry_after

__all__ = [
    "DEFAULT_REQUESTS_PER_MINUTE",
    "DEFAULT_SENDS_PER_MINUTE",
    "JITTER_ALLOWANCE",
    "ArrivalSpread",
    "LimiterBase",
    "Observation",
    "PacingTimeout",
    "Rate",
    "RateLimiter",
    "Scope",
    "WaitLine",
    "check_max_pause",
    "check_rate",
    "read_response",
    "refusal_error",
    "resume_after",
    "wait_event",
]

Scope = Literal["general", "send"]

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

    def __init__(self, unmeasured: float) -> None:
        self._recent: collections.deque[float] = collections.deque(maxlen=_SPREAD_WINDOW)
        self.allowance = unmeasured

    @property
    def longest(self) -> float | None:
        """The longest recent round trip; None until one is measured."""
        return max(self._recent) if self._recent else None

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


@attrs.frozen
class Observation:
    """One response as every limiter reads it (`read_response`).

    A 429 holds back `paused` (both limits when it does not say which) for `pause`
    seconds, or empties them when it has no `Retry-After` (`pause` None). With
    `refusal` set, its `Retry-After` is beyond the limiter's `max_pause`: the paused
    limits refuse requests with that error for `pause` seconds instead of pausing.
    `general_limit` and `send_limit` are the limits Pacta reported; `remaining` is
    what was left of the general limit when the request arrived, at most `round_trip`
    seconds ago (None: not measured, or unusable).
    """

    paused: tuple[Scope, ...] = ()
    pause: float | None = None
    refusal: RateLimitError | None = None
    general_limit: int | None = None
    send_limit: int | None = None
    remaining: int | None = None
    round_trip: float | None = None


def read_response(
    status_code: int,
    headers: httpx.Headers,
    *,
    scope: str | None,
    limit: int | None,
    error: RateLimitError | None,
    round_trip: float | None,
    max_pause: float,
    wall: float,
) -> Observation:
    """What a response tells a limiter; the arguments are `RateLimiter.observe`'s, with
    the limiter's `max_pause` and the wall-clock time a dated `Retry-After` is read by."""
    if round_trip is not None and not (round_trip >= 0 and math.isfinite(round_trip)):
        round_trip = None
    paused: tuple[Scope, ...] = ()
    pause: float | None = None
    refusal: RateLimitError | None = None
    general_limit: int | None = None
    send_limit: int | None = None
    if status_code == 429:
        reported = limit if limit is not None and limit >= 1 else None
        if scope == "general":
            paused, general_limit = ("general",), reported
        elif scope == "send":
            paused, send_limit = ("send",), reported
        else:  # assume both limits were hit, to be safe; the limit is of neither
            paused, reported = ("general", "send"), None
        pause = parse_retry_after(headers, now=wall)
        if pause is not None and not pause <= max_pause:
            if error is not None:
                refusal = error
            else:
                pause = max_pause
        elif pause is not None and reported is not None:
            pause = resume_after(pause, reported)
    remaining: int | None = None
    server = parse_rate_limit_headers(headers)
    if server is not None:
        if server.limit >= 1:
            general_limit = server.limit
        remaining = max(0, server.remaining)
    return Observation(paused, pause, refusal, general_limit, send_limit, remaining, round_trip)


def resume_after(retry_after: float, per_minute: int) -> float:
    """How long a 429 from a token bucket of `per_minute` really holds that limit back.

    The request found less than one token left when it arrived, which was no later
    than its answer came back; a token comes every 60 / per_minute seconds, so one is
    there within an interval of now. `Retry-After` rounds the wait up to whole seconds
    (at least 1), which at a few requests a second would leave most of a second
    unused. A `Retry-After` longer than that rounding explains means the server meters
    otherwise (a window, other users of the token): then it is waited out in full.
    """
    interval = 60.0 / per_minute
    if retry_after <= math.ceil(interval):
        return min(retry_after, interval)
    return retry_after


class LimiterBase(abc.ABC):
    """What both limiters do alike: a first-in, first-out line per limit, the measured
    `ArrivalSpread`, and `observe`, which reads each response the same way
    (`read_response`) before the limiter applies it (`_apply`)."""

    def __init__(self, *, clock: Clock | None, max_pause: float) -> None:
        self._clock: Clock = SystemClock() if clock is None else clock
        self._max_pause = check_max_pause(max_pause)
        self._spread = ArrivalSpread(JITTER_ALLOWANCE)
        self._general_line = WaitLine(self._clock)
        self._send_line = WaitLine(self._clock)
        self._places = itertools.count()

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
        """See `RateLimiter.observe`."""
        seen = read_response(
            status_code,
            headers,
            scope=scope,
            limit=limit,
            error=error,
            round_trip=round_trip,
            max_pause=self._max_pause,
            wall=self._clock.wall(),
        )
        await self.learn(seen)

    async def learn(self, seen: Observation) -> None:
        """`observe` for a response already read, as another limiter passes it on."""
        if seen.round_trip is not None and self._spread.record(seen.round_trip):
            # Less of the burst is held back now: the front waiters may be due already.
            self._wake()
        await self._apply(seen)

    def _wake(self) -> None:
        """Have the front waiters of both lines look at the limits again now."""
        self._general_line.wake()
        self._send_line.wake()

    @abc.abstractmethod
    async def _apply(self, seen: Observation) -> None:
        """Bring the limits in line with what one response said."""


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
