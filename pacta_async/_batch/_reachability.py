"""Whether Pacta can be reached, and stopping a batch cleanly: past the deadline for
that, or on an error every item would meet (a revoked token, a fail-closed limiter).

While no request reaches Pacta, every item of a batch waits: backoffs, settle
windows, checks that cannot be made. Each item noticing the deadline on its own
would stop the batch only once the slowest had finished its current wait (minutes
past the deadline). So one watcher holds the deadline. Once it passes (or `stop` is
called), every wait is cut short and nothing new starts (both raise `Stopping`); a
request already on its way gets a few seconds to come back, so that one refused at
once is known as not sent; then the work is cancelled, and the reason raised.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from .._clock import Clock
from .._errors import APIConnectionError, PactaError, ServerUnreachableError
from .._task_result import TaskResult

__all__ = ["STOP_GRACE", "Reachability", "Stopping"]

R = TypeVar("R")

# Seconds a request on its way when the batch stops may take to come back.
STOP_GRACE = 5.0


class Stopping(Exception):
    """Raised in place of a wait or a new request once the work is stopping: the item
    ends there, pending if none of its requests may have arrived."""


class Reachability:
    """Since when no request has had an answer from Pacta; `enforce` stops work past
    `deadline`, or once `stop` is called."""

    def __init__(self, clock: Clock, deadline: float) -> None:
        self._clock = clock
        self._deadline = deadline
        self._since: float | None = None
        self.since_wall: float | None = None  # epoch seconds, for the progress line
        self._reached_at = clock.monotonic()
        self._last: PactaError | None = None
        self._changed = anyio.Event()
        self._reason: PactaError | None = None  # why the work stops
        self._stopping = anyio.Event()
        self._pauses: set[anyio.CancelScope] = set()

    def reached(self) -> None:
        self._since = self.since_wall = None
        self._reached_at = self._clock.monotonic()

    def failed(self, error: PactaError, started: float | None = None) -> None:
        """A request that began at `started` (monotonic; default now) got `error`."""
        # No connection, no answer, or a connection dropped without one: a server that
        # drops every connection is as unreachable as one that refuses them. An error
        # page (a 5xx) came from somewhere.
        if not isinstance(error, APIConnectionError):
            self.reached()
            return
        self._last = error
        if self._since is None:
            now = self._clock.monotonic()
            # Silent since it left, unless something reached Pacta after that.
            since = max(now if started is None else started, self._reached_at)
            self._since = since
            self.since_wall = self._clock.wall() - (now - since)
            self._changed.set()
            self._changed = anyio.Event()

    def stop(self, reason: PactaError) -> None:
        """Stop the work cleanly; `enforce` raises `reason` (the first one given)."""
        if self._reason is not None:
            return
        self._reason = reason
        self._stopping.set()
        for pause in self._pauses:
            pause.cancel()

    def check(self) -> None:
        """`Stopping` once the work stops: call before each request."""
        if self._reason is not None:
            raise Stopping(str(self._reason))

    async def pause(self, seconds: float) -> None:
        """Sleep; cut short with `Stopping` when the work stops."""
        self.check()
        with anyio.CancelScope() as scope:
            self._pauses.add(scope)
            try:
                await self._clock.sleep(seconds)
            finally:
                self._pauses.discard(scope)
        self.check()

    async def enforce(self, work: Callable[[], Awaitable[R]]) -> R:
        """`work()`'s result. Once it stops (`stop`, or no request reaching Pacta for
        `deadline` seconds: `ServerUnreachableError`), its waits are cut short, its
        requests on their way get `STOP_GRACE` seconds, then it is cancelled and the
        reason raised."""
        result = TaskResult[R]()
        async with anyio.create_task_group() as tg:
            tg.start_soon(result.capture, work, tg.cancel_scope)  # then stops the watcher
            tg.start_soon(self._watch)
            await self._stopping.wait()
            await self._clock.sleep(STOP_GRACE)
            tg.cancel_scope.cancel()  # what is still on its way
        if result.error is not None and not isinstance(result.error, Stopping):
            raise result.error
        if self._reason is not None:
            raise self._reason
        return result.value()

    async def _watch(self) -> None:
        """Stops the work once no request has reached Pacta for `deadline` seconds."""
        while True:
            if self._since is None:
                await self._changed.wait()
                continue
            left = self._since + self._deadline - self._clock.monotonic()
            if left <= 0:
                break
            await self._clock.sleep(left)
        since = datetime.datetime.fromtimestamp(self.since_wall or 0, datetime.UTC)
        error = ServerUnreachableError(
            f"Pacta unreachable since {since:%H:%M:%S} UTC (over {self._deadline:g}s); "
            f"stopped (last: {self._last})"
        )
        error.__cause__ = self._last
        self.stop(error)
