"""A fake clock for deterministic tests of anything that waits."""

from __future__ import annotations

import heapq
import itertools

import anyio
import anyio.lowlevel

__all__ = ["FakeClock"]


class FakeClock:
    """A `pacta_async._clock.Clock` whose time only moves when a test moves it.

    `advance()` moves time by hand; `autojump()`, run as a background task, moves it
    to the next sleeper's deadline whenever every task is blocked, so a test of a
    minute of rate limiting finishes in milliseconds with exact timings.
    """

    def __init__(self, start: float = 0.0, *, wall_offset: float = 1_800_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_offset
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._wall_offset + self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        entry = (self._now + seconds, next(self._order), anyio.Event())
        heapq.heappush(self._sleepers, entry)
        try:
            await entry[2].wait()
        finally:
            if not entry[2].is_set():  # cancelled: forget the sleeper
                self._sleepers.remove(entry)
                heapq.heapify(self._sleepers)

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has come."""
        if seconds < 0:
            raise ValueError("time cannot go backwards")
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            heapq.heappop(self._sleepers)[2].set()

    @property
    def next_deadline(self) -> float | None:
        return self._sleepers[0][0] if self._sleepers else None

    async def autojump(self) -> None:
        """Run forever, jumping to the next deadline whenever all tasks are blocked.

        Start it with `task_group.start_soon(clock.autojump)` and cancel the task
        group's scope when the test is done.
        """
        while True:
            # Let just-woken tasks run first: on asyncio, wait_all_tasks_blocked() sleeps
            # 0.1 s of real time whenever a task is still runnable.
            for _ in range(20):
                await anyio.lowlevel.checkpoint()
            await anyio.wait_all_tasks_blocked()
            deadline = self.next_deadline
            if deadline is None:
                await anyio.sleep(0.001)  # nothing asleep: tasks wait on something real
            else:
                self.advance(max(0.0, deadline - self._now))
