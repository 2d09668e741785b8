"""What every limiter shares: the protocol the transport calls, Pacta's limits, and
the building blocks both limiters use (a validated rate, a first-in first-out line).

Pacta allows each token 100 requests a minute and 30 sends a minute, and a send
(`POST /documents/{id}/send`, `POST /templates/{id}/generate`) counts against both.
The transport asks a `RateLimiter` before every request and reports every response
back to it, so one limiter per token paces every task that uses that token.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import anyio
import attrs
import httpx

from .._errors import ConfigurationError

__all__ = [
    "DEFAULT_REQUESTS_PER_MINUTE",
    "DEFAULT_SENDS_PER_MINUTE",
    "JITTER_ALLOWANCE",
    "Rate",
    "RateLimiter",
    "WaitLine",
    "check_rate",
]

# Pacta's documented limits per token.
DEFAULT_REQUESTS_PER_MINUTE = 100
DEFAULT_SENDS_PER_MINUTE = 30

# Pacta meters requests when they arrive, we when they leave. A request that arrives
# sooner after its predecessor than it left (the first of a burst opened a connection,
# the next reused it) would look early by that difference and get a 429, so we give up
# this much of the burst tolerance. The long-run rate is unchanged; with a burst of 1
# there is no tolerance to give, and a rare 429 is absorbed by the pause and retry.
JITTER_ALLOWANCE = 0.25


class RateLimiter(Protocol):
    """What the transport calls around every request made with one token."""

    async def acquire(self, *, send: bool) -> None:
        """Wait until a request may go: one general token, plus a send token if `send`.

        Both are taken at once, never one while queued for the other, and waiters are
        served first in, first out. A waiter that is cancelled has taken nothing.
        """
        ...

    async def observe(
        self,
        status_code: int,
        headers: httpx.Headers,
        *,
        scope: str | None = None,
        limit: int | None = None,
    ) -> None:
        """Learn from a response: a 429 pauses every user of the limiter until
        `Retry-After`, and `X-RateLimit-*` lowers our view to the server's when it is
        lower.

        `scope` and `limit` are the ``details.scope`` and ``details.limit`` of a 429's
        body when the caller has them: only the body says whether the send limit was
        the one hit, and what that limit is, since the headers describe the general
        limit alone. Without them a 429 pauses both buckets.
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


class WaitLine:
    """A first-in, first-out line in which only the task at the front may act.

    The front task does its own waiting (for tokens, for Redis) and hands the front to
    the next task when it leaves, however it leaves: served, cancelled or failed. So
    nobody can jump the line, and a cancelled waiter holds nothing it could leak.
    """

    def __init__(self) -> None:
        self._turns: deque[anyio.Event] = deque()

    def __bool__(self) -> bool:
        return bool(self._turns)

    @asynccontextmanager
    async def front(self) -> AsyncIterator[None]:
        """Join the line, and return once at the front; leaving the block leaves the line."""
        turn = anyio.Event()
        self._turns.append(turn)
        try:
            if self._turns[0] is not turn:
                await turn.wait()
            yield
        finally:
            was_front = self._turns[0] is turn
            self._turns.remove(turn)
            if was_front and self._turns:
                self._turns[0].set()
