"""WebhookDeduplicator: once per event, again after a failure, never twice at once."""

from __future__ import annotations

import anyio
import pytest

from pacta_async import (
    ConfigurationError,
    InMemoryDedupStore,
    WebhookDeduplicator,
    WebhookEvent,
    parse_webhook,
)
from pacta_async._webhooks._dedup import DEFAULT_DEDUP_TTL
from pacta_async.testing import FakeClock

from .support import SECRET, delivery_json, encode

pytestmark = pytest.mark.anyio


def event(name: str = "DOCUMENT_SIGNED", created_at: str = "2026-05-12T09:32:00Z") -> WebhookEvent:
    body = encode(delivery_json(name, createdAt=created_at))
    return parse_webhook(body, {"X-Pacta-Secret": SECRET}, secret=SECRET)


async def handled(dedup: WebhookDeduplicator, e: WebhookEvent) -> bool:
    async with dedup.once(e) as fresh:
        return fresh


class Boom(Exception):
    pass


async def fail(dedup: WebhookDeduplicator, e: WebhookEvent, seen: list[bool]) -> None:
    """A handler that raises; records whether it was let through."""
    async with dedup.once(e) as fresh:
        seen.append(fresh)
        raise Boom


async def test_duplicate_is_skipped() -> None:
    dedup = WebhookDeduplicator()
    assert await handled(dedup, event())
    assert not await handled(dedup, event())  # a redelivery parses to an equal event
    assert await handled(dedup, event("DOCUMENT_COMPLETED"))
    assert await handled(dedup, event(created_at="2026-05-12T09:33:00Z"))


async def test_failed_handler_lets_the_retry_run() -> None:
    dedup = WebhookDeduplicator()
    seen: list[bool] = []
    with pytest.raises(Boom):
        await fail(dedup, event(), seen)
    assert seen == [True]
    assert await handled(dedup, event())
    assert not await handled(dedup, event())


async def test_cancelled_handler_lets_the_retry_run() -> None:
    dedup = WebhookDeduplicator()
    with anyio.CancelScope() as scope:
        async with dedup.once(event()) as fresh:
            assert fresh
            scope.cancel()
            await anyio.sleep_forever()
    assert await handled(dedup, event())


async def test_failure_of_a_skipped_duplicate_does_not_unmark_the_event() -> None:
    dedup = WebhookDeduplicator()
    assert await handled(dedup, event())
    seen: list[bool] = []
    with pytest.raises(Boom):
        await fail(dedup, event(), seen)
    assert seen == [False]
    assert not await handled(dedup, event())


async def test_concurrent_duplicates_run_once() -> None:
    dedup = WebhookDeduplicator()
    runs: list[int] = []
    release = anyio.Event()

    async def deliver(n: int) -> None:
        async with dedup.once(event()) as fresh:
            if fresh:
                runs.append(n)
                await release.wait()

    async with anyio.create_task_group() as tg:
        for n in range(5):
            tg.start_soon(deliver, n)
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert len(runs) == 1


async def test_entries_expire_after_the_ttl() -> None:
    clock = FakeClock()
    dedup = WebhookDeduplicator(InMemoryDedupStore(clock=clock), ttl=60)
    assert await handled(dedup, event())
    clock.advance(59.9)
    assert not await handled(dedup, event())
    clock.advance(0.1)
    assert await handled(dedup, event())


async def test_default_ttl_outlasts_pacta_retry_window() -> None:
    clock = FakeClock()
    dedup = WebhookDeduplicator(InMemoryDedupStore(clock=clock))
    assert DEFAULT_DEDUP_TTL > 24 * 3600
    assert await handled(dedup, event())
    clock.advance(24 * 3600)
    assert not await handled(dedup, event())


async def test_store_is_bounded_and_evicts_the_oldest() -> None:
    clock = FakeClock()
    store = InMemoryDedupStore(max_entries=3, clock=clock)
    dedup = WebhookDeduplicator(store)
    events = [event(created_at=f"2026-05-12T09:3{n}:00Z") for n in range(4)]
    for e in events:
        assert await handled(dedup, e)
    assert len(store) == 3
    assert not await handled(dedup, events[3])
    assert await handled(dedup, events[0])  # evicted, so seen as new
    assert len(store) == 3


async def test_expired_entries_are_dropped() -> None:
    clock = FakeClock()
    store = InMemoryDedupStore(clock=clock)
    assert await store.add_if_absent("a", 10)
    assert await store.add_if_absent("b", 10)
    clock.advance(10)
    assert await store.add_if_absent("c", 10)
    assert len(store) == 1


async def test_a_custom_store_is_used() -> None:
    class RecordingStore:
        def __init__(self) -> None:
            self.keys: dict[str, float] = {}
            self.discarded: list[str] = []

        async def add_if_absent(self, key: str, ttl: float) -> bool:
            if key in self.keys:
                return False
            self.keys[key] = ttl
            return True

        async def discard(self, key: str) -> None:
            self.discarded.append(key)

    store = RecordingStore()
    dedup = WebhookDeduplicator(store, ttl=90)
    with pytest.raises(Boom):
        await fail(dedup, event(), [])
    assert store.keys == {event().dedup_key: 90}
    assert store.discarded == [event().dedup_key]


def test_bad_configuration() -> None:
    with pytest.raises(ConfigurationError, match="max_entries"):
        InMemoryDedupStore(max_entries=0)
    with pytest.raises(ConfigurationError, match="ttl"):
        WebhookDeduplicator(ttl=0)
