"""Running a webhook handler once per event, although Pacta may deliver an event many times.

Pacta retries any delivery that did not get a 2xx for up to 24 hours, and a 2xx that
is lost on the way back looks like a failure to Pacta: the same event arrives again.
The deduplicator remembers events by `WebhookEvent.dedup_key` in a store: in memory by
default, or any shared store (Redis, a database) that implements `DedupStore`:

    class RedisDedupStore:
        def __init__(self, redis: redis.asyncio.Redis) -> None:
            self._redis = redis

        async def add_if_absent(self, key: str, ttl: float) -> bool:
            return bool(await self._redis.set(f"pacta:{key}", 1, nx=True, px=int(ttl * 1000)))

        async def discard(self, key: str) -> None:
            await self._redis.delete(f"pacta:{key}")
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final, Protocol

import anyio

from .._clock import Clock, SystemClock
from .._errors import ConfigurationError
from ._events import WebhookEvent

__all__ = ["DEFAULT_DEDUP_TTL", "DedupStore", "InMemoryDedupStore", "WebhookDeduplicator"]

# Longer than Pacta's 24-hour retry window, so a late retry is still recognised.
DEFAULT_DEDUP_TTL: Final = 25 * 3600.0


class DedupStore(Protocol):
    """Where seen keys live; share one store between processes to deduplicate across them."""

    async def add_if_absent(self, key: str, ttl: float) -> bool:
        """Record `key` for `ttl` seconds; True if it was not already recorded.

        Must be atomic: of two concurrent calls with one key, only one gets True.
        """
        ...

    async def discard(self, key: str) -> None:
        """Forget `key`, so that the event it stands for can run again."""
        ...


class InMemoryDedupStore:
    """A per-process store that keeps at most `max_entries` keys, oldest evicted first.

    Eviction trades memory for the rare duplicate: an event redelivered after more than
    `max_entries` newer ones is run again.
    """

    def __init__(self, *, max_entries: int = 10_000, clock: Clock | None = None) -> None:
        if max_entries < 1:
            raise ConfigurationError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._clock = clock or SystemClock()
        self._expiries: dict[str, float] = {}  # key -> deadline, in insertion order

    def __len__(self) -> int:
        return len(self._expiries)

    async def add_if_absent(self, key: str, ttl: float) -> bool:
        now = self._clock.monotonic()
        self._drop_expired(now)
        expiry = self._expiries.get(key)
        if expiry is not None and expiry > now:
            return False
        self._expiries.pop(key, None)
        self._expiries[key] = now + ttl
        while len(self._expiries) > self._max_entries:
            del self._expiries[next(iter(self._expiries))]
        return True

    async def discard(self, key: str) -> None:
        self._expiries.pop(key, None)

    def _drop_expired(self, now: float) -> None:
        # Keys share one ttl in practice, so the oldest entries expire first.
        while self._expiries:
            key, expiry = next(iter(self._expiries.items()))
            if expiry > now:
                return
            del self._expiries[key]


class WebhookDeduplicator:
    """Lets each event through once, unless handling it fails.

        async with dedup.once(event) as fresh:
            if fresh:
                await handle(event)

    The key is recorded before the handler runs, so a concurrent duplicate is skipped
    rather than run twice; if the block raises (or is cancelled), the key is forgotten
    and a redelivery runs the handler again. A duplicate that arrives while the first
    delivery is still running is skipped, not made to wait: answer it 2xx, since the
    first delivery's own answer decides whether Pacta retries.
    """

    def __init__(self, store: DedupStore | None = None, *, ttl: float = DEFAULT_DEDUP_TTL) -> None:
        if ttl <= 0:
            raise ConfigurationError("ttl must be positive")
        self._store: DedupStore = store if store is not None else InMemoryDedupStore()
        self._ttl = ttl

    @asynccontextmanager
    async def once(self, event: WebhookEvent) -> AsyncIterator[bool]:
        """Yield True the first time `event` is seen; forget it again if the block fails."""
        key = event.dedup_key
        fresh = await self._store.add_if_absent(key, self._ttl)
        try:
            yield fresh
        except BaseException:
            if fresh:
                with anyio.CancelScope(shield=True):
                    await self._store.discard(key)
            raise
