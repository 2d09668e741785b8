"""Running a webhook handler once per event, although Pacta may deliver an event many times.

Pacta retries any delivery that did not get a 2xx within 10 seconds, for up to 24
hours, so one event can arrive many times: one after another, at once, and at
different receiver processes. Each event therefore has three states in a store:

- new: no one has handled it; the delivery that claims it runs the handler;
- in progress: a run holds a lease on it. Another delivery must not run the handler
  and must not answer 2xx either, since the run may still fail: it answers non-2xx,
  and Pacta tries again later. The lease is renewed while the run goes on and runs
  out if the receiver dies, so a crash blocks the event for one lease, not 25 hours;
- done: handled; later deliveries are answered 2xx without running anything.

A run that fails (raises or is cancelled) makes the event new again. The store is in
memory by default (one process); `RedisDedupStore` shares one between processes.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final, Protocol

import anyio

from .._clock import Clock, SystemClock
from .._errors import ConfigurationError
from .._logging import logger
from ._events import WebhookEvent

__all__ = [
    "DEFAULT_DEDUP_LEASE",
    "DEFAULT_DEDUP_TTL",
    "DedupStore",
    "HandlingState",
    "InMemoryDedupStore",
    "WebhookDeduplicator",
]

# Longer than Pacta's 24-hour retry window, so a late retry is still recognised.
DEFAULT_DEDUP_TTL: Final = 25 * 3600.0
# How long an in-progress mark outlives a receiver that stopped renewing it (a crash).
DEFAULT_DEDUP_LEASE: Final = 60.0


class HandlingState(enum.Enum):
    """Where an event stands, as seen by the delivery that asks."""

    NEW = "new"
    """This delivery claimed the event: run the handler, answer 2xx if it succeeds."""
    IN_PROGRESS = "in_progress"
    """Another run is handling it: answer non-2xx (409), so that Pacta retries later."""
    DONE = "done"
    """Handled already: answer 2xx and do nothing."""


class DedupStore(Protocol):
    """Where event states live; share one store between processes to deduplicate across them.

    `owner` is a random id for one run, so that a run whose lease ran out and was
    taken over cannot renew or release the new run's claim. Every method must be
    atomic with respect to the others.
    """

    async def claim(self, key: str, owner: str, lease: float) -> HandlingState:
        """If `key` is new, or its lease ran out, mark it in progress by `owner` for `lease`
        seconds and return NEW; otherwise return its state, changing nothing."""
        ...

    async def renew(self, key: str, owner: str, lease: float) -> bool:
        """Extend `owner`'s claim by `lease` seconds from now; False if it holds none."""
        ...

    async def complete(self, key: str, owner: str, ttl: float) -> None:
        """Mark `key` done for `ttl` seconds."""
        ...

    async def release(self, key: str, owner: str) -> None:
        """Forget `owner`'s claim on `key`, so that the event is new again."""
        ...


class InMemoryDedupStore:
    """A per-process store that keeps at most `max_entries` keys, least recently changed
    evicted first.

    Eviction trades memory for the rare duplicate: an event redelivered after more than
    `max_entries` newer ones is run again.
    """

    def __init__(self, *, max_entries: int = 10_000, clock: Clock | None = None) -> None:
        if max_entries < 1:
            raise ConfigurationError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._clock = clock or SystemClock()
        # key -> (owner, or None once done; deadline), least recently changed first
        self._entries: dict[str, tuple[str | None, float]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def claim(self, key: str, owner: str, lease: float) -> HandlingState:
        now = self._clock.monotonic()
        entry = self._live(key, now)
        if entry is not None:
            return HandlingState.DONE if entry[0] is None else HandlingState.IN_PROGRESS
        self._put(key, owner, now + lease)
        return HandlingState.NEW

    async def renew(self, key: str, owner: str, lease: float) -> bool:
        now = self._clock.monotonic()
        entry = self._live(key, now)
        if entry is None or entry[0] != owner:
            return False
        self._entries[key] = (owner, now + lease)
        return True

    async def complete(self, key: str, owner: str, ttl: float) -> None:
        self._put(key, None, self._clock.monotonic() + ttl)

    async def release(self, key: str, owner: str) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry[0] == owner:
            del self._entries[key]

    def _live(self, key: str, now: float) -> tuple[str | None, float] | None:
        entry = self._entries.get(key)
        if entry is not None and entry[1] <= now:
            del self._entries[key]
            return None
        return entry

    def _put(self, key: str, owner: str | None, deadline: float) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (owner, deadline)
        while len(self._entries) > self._max_entries:
            del self._entries[next(iter(self._entries))]


class WebhookDeduplicator:
    """Lets each event be handled once, across retries, concurrent deliveries and processes.

        async with dedup.once(event) as state:
            if state is HandlingState.IN_PROGRESS:
                return 409  # another run is still going: Pacta will retry
            if state is HandlingState.NEW:
                await handle(event)
        return 200

    The event is done when the block of a NEW run exits normally; if it raises or is
    cancelled, the event is new again and the next delivery runs the handler. While
    the block runs, its lease is renewed every `lease / 3` seconds.
    """

    def __init__(
        self,
        store: DedupStore | None = None,
        *,
        ttl: float = DEFAULT_DEDUP_TTL,
        lease: float = DEFAULT_DEDUP_LEASE,
        clock: Clock | None = None,
    ) -> None:
        if ttl <= 0:
            raise ConfigurationError("ttl must be positive")
        if lease <= 0:
            raise ConfigurationError("lease must be positive")
        self._store: DedupStore = store if store is not None else InMemoryDedupStore(clock=clock)
        self._ttl = ttl
        self._lease = lease
        self._clock = clock or SystemClock()

    @asynccontextmanager
    async def once(self, event: WebhookEvent) -> AsyncIterator[HandlingState]:
        """Claim `event` and yield its state; a NEW run's block decides done or new again."""
        key = event.dedup_key
        owner = secrets.token_hex(16)
        state = await self._store.claim(key, owner, self._lease)
        if state is not HandlingState.NEW:
            yield state
            return
        succeeded = False
        failure: BaseException | None = None
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._keep_claimed, key, owner)
                try:
                    yield state
                    succeeded = True
                except anyio.get_cancelled_exc_class():
                    raise
                except BaseException as exc:  # raised below as is, not in an ExceptionGroup
                    failure = exc
                finally:
                    tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):  # record the outcome even when cancelled
                if succeeded:
                    await self._store.complete(key, owner, self._ttl)
                else:
                    await self._store.release(key, owner)
        if failure is not None:
            raise failure

    async def _keep_claimed(self, key: str, owner: str) -> None:
        """Renew the lease while the handler runs; a store failure here only risks a rerun."""
        while True:
            await self._clock.sleep(self._lease / 3)
            try:
                held = await self._store.renew(key, owner, self._lease)
            except Exception:
                logger.warning("could not renew the claim on %s", key, exc_info=True)
                continue
            if not held:
                logger.warning("the claim on %s ran out; another delivery may run it", key)
                return
