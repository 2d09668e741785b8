"""Time as a dependency, so that limits, retries and backoff can be tested without waiting."""

from __future__ import annotations

import time
from typing import Protocol

import anyio

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """Monotonic time plus a way to wait; tests pass a fake one that jumps forward."""

    def monotonic(self) -> float: ...

    def wall(self) -> float:
        """Epoch seconds, for `Retry-After` dates and `X-RateLimit-Reset`."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: `time.monotonic` and `anyio.sleep`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)
