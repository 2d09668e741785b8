"""WebhookDeduplicator: one handler effect per event, across retries, overlaps and failures."""

from __future__ import annotations

import json

import anyio
import pytest

from pacta_async import (
    ConfigurationError,
    HandlingState,
    InMemoryDedupStore,
    WebhookDeduplicator,
    WebhookEvent,
    parse_webhook,
)
from pacta_async._webhooks._dedup import DEFAULT_DEDUP_LEASE, DEFAULT_DEDUP_TTL
from pacta_async.testing import FakeClock, WebhookDelivery, build_webhook_delivery, sample_document

from .support import SECRET

pytestmark = pytest.mark.anyio

NEW, IN_PROGRESS, DONE = HandlingState.NEW, HandlingState.IN_PROGRESS, HandlingState.DONE


def parse(delivery: WebhookDelivery) -> WebhookEvent:
    return parse_webhook(delivery.body, delivery.headers, secret=SECRET)


def event(name: str = "DOCUMENT_SIGNED", **document: object) -> WebhookEvent:
    created_at = "2026-05-12T09:32:00.000Z"
    doc = sample_document(**document)
    return parse(build_webhook_delivery(name, secret=SECRET, document=doc, created_at=created_at))


async def state_of(dedup: WebhookDeduplicator, e: WebhookEvent) -> HandlingState:
    async with dedup.once(e) as state:
        return state


class Boom(Exception):
    pass


async def fail(dedup: WebhookDeduplicator, e: WebhookEvent, seen: list[HandlingState]) -> None:
    async with dedup.once(e) as state:
        seen.append(state)
        raise Boom


# -- the identity -------------------------------------------------------------


def test_a_retry_with_a_new_created_at_keeps_the_identity() -> None:
    first = build_webhook_delivery(secret=SECRET, created_at="2026-05-12T09:32:00.000Z")
    retry = first.retried(created_at="2026-05-12T09:32:05.123Z")
    assert json.loads(retry.body)["createdAt"] != json.loads(first.body)["createdAt"]
    assert retry.body != first.body  # re-serialised in another key order, too
    assert parse(first).dedup_key == parse(retry).dedup_key


def test_distinct_events_in_one_millisecond_differ() -> None:
    """Two recipients sign in the same millisecond: same event, document and createdAt."""
    signer = sample_document()["recipients"][0]
    one_signed = [
        {**signer, "id": 7, "signingStatus": "SIGNED"},
        {**signer, "id": 8, "email": "ann@acme.com"},
    ]
    both_signed = [one_signed[0], {**one_signed[1], "signingStatus": "SIGNED"}]
    first = event(recipients=one_signed)
    second = event(recipients=both_signed)
    assert first.created_at == second.created_at
    assert first.dedup_key != second.dedup_key
    assert event("DOCUMENT_SIGNED").dedup_key != event("DOCUMENT_OPENED").dedup_key


def test_the_identity_is_readable_and_ignores_the_endpoint() -> None:
    a = build_webhook_delivery(secret=SECRET, webhook_endpoint="https://a.example/hook")
    b = build_webhook_delivery(secret=SECRET, webhook_endpoint="https://b.example/hook")
    assert parse(a).dedup_key == parse(b).dedup_key
    name, document_id, digest = parse(a).dedup_key.split(":")
    assert (name, document_id, len(digest)) == ("DOCUMENT_SIGNED", "42", 64)


# -- three states -------------------------------------------------------------


async def test_retries_with_new_created_at_run_the_handler_once() -> None:
    dedup = WebhookDeduplicator()
    first = build_webhook_delivery(secret=SECRET)
    effects = 0
    for n in range(5):
        async with dedup.once(parse(first.retried(f"2026-05-12T09:3{n}:00.000Z"))) as state:
            if state is NEW:
                effects += 1
    assert effects == 1
    assert await state_of(dedup, parse(first)) is DONE


async def test_a_duplicate_during_the_run_is_in_progress_not_done() -> None:
    dedup = WebhookDeduplicator()
    release = anyio.Event()
    states: list[HandlingState] = []

    async def first_run() -> None:
        async with dedup.once(event()) as state:
            states.append(state)
            await release.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(first_run)
        await anyio.wait_all_tasks_blocked()
        states.append(await state_of(dedup, event()))
        release.set()
    states.append(await state_of(dedup, event()))
    assert states == [NEW, IN_PROGRESS, DONE]


async def test_a_slow_first_run_that_fails_leaves_the_event_to_a_retry() -> None:
    """Case 2: a retry arrives while the first run is going; then that run fails."""
    dedup = WebhookDeduplicator()
    effects: list[str] = []
    overlapping = anyio.Event()
    seen: list[HandlingState] = []

    async def first_run() -> None:
        async with dedup.once(event()) as state:
            seen.append(state)
            await overlapping.wait()
            raise Boom  # before its effect

    async def first_run_fails() -> None:
        with pytest.raises(Boom):
            await first_run()

    async with anyio.create_task_group() as tg:
        tg.start_soon(first_run_fails)
        await anyio.wait_all_tasks_blocked()
        seen.append(await state_of(dedup, event()))  # the retry: must not be answered 2xx
        overlapping.set()
    async with dedup.once(event()) as state:  # the next retry
        seen.append(state)
        effects.append("archived")
    assert seen == [NEW, IN_PROGRESS, NEW]
    assert effects == ["archived"]


async def test_failed_and_cancelled_runs_make_the_event_new_again() -> None:
    dedup = WebhookDeduplicator()
    seen: list[HandlingState] = []
    with pytest.raises(Boom):
        await fail(dedup, event(), seen)
    with anyio.CancelScope() as scope:
        async with dedup.once(event()) as state:
            seen.append(state)
            scope.cancel()
            await anyio.sleep_forever()
    assert seen == [NEW, NEW]
    assert await state_of(dedup, event()) is NEW
    assert await state_of(dedup, event()) is DONE


async def test_the_handler_exception_is_raised_as_is() -> None:
    dedup = WebhookDeduplicator()
    with pytest.raises(Boom):  # not an ExceptionGroup, although a renewal task runs
        await fail(dedup, event(), [])


async def test_failure_of_a_skipped_duplicate_does_not_unmark_the_event() -> None:
    dedup = WebhookDeduplicator()
    assert await state_of(dedup, event()) is NEW
    seen: list[HandlingState] = []
    with pytest.raises(Boom):
        await fail(dedup, event(), seen)
    assert seen == [DONE]
    assert await state_of(dedup, event()) is DONE


async def test_concurrent_duplicates_run_once() -> None:
    dedup = WebhookDeduplicator()
    states: list[HandlingState] = []
    release = anyio.Event()

    async def deliver() -> None:
        async with dedup.once(event()) as state:
            states.append(state)
            if state is NEW:
                await release.wait()

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(deliver)
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert sorted(s.value for s in states) == ["in_progress"] * 4 + ["new"]


# -- leases and expiry ----------------------------------------------------------


async def test_a_crashed_runs_claim_runs_out_after_the_lease() -> None:
    clock = FakeClock()
    store = InMemoryDedupStore(clock=clock)
    assert await store.claim("k", "crashed", 30) is NEW  # never completed nor released
    clock.advance(29.9)
    assert await store.claim("k", "retry", 30) is IN_PROGRESS
    clock.advance(0.1)
    assert await store.claim("k", "retry", 30) is NEW
    await store.release("k", "crashed")  # the old owner cannot free the new claim
    assert not await store.renew("k", "crashed", 30)
    assert await store.claim("k", "third", 30) is IN_PROGRESS


async def test_a_long_run_keeps_its_claim_by_renewing_it() -> None:
    clock = FakeClock()
    dedup = WebhookDeduplicator(InMemoryDedupStore(clock=clock), lease=30, clock=clock)
    release = anyio.Event()
    seen: list[HandlingState] = []

    async def long_run() -> None:
        async with dedup.once(event()) as state:
            seen.append(state)
            await release.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(long_run)
        for _ in range(30):  # 5 minutes, ten leases
            await anyio.wait_all_tasks_blocked()
            clock.advance(10)
        await anyio.wait_all_tasks_blocked()
        seen.append(await state_of(dedup, event()))
        release.set()
    assert seen == [NEW, IN_PROGRESS]
    assert DEFAULT_DEDUP_LEASE < 24 * 3600 / 100  # a crash blocks an event for minutes at most


async def test_done_outlasts_pacta_retry_window() -> None:
    clock = FakeClock()
    dedup = WebhookDeduplicator(InMemoryDedupStore(clock=clock), clock=clock)
    assert DEFAULT_DEDUP_TTL > 24 * 3600
    assert await state_of(dedup, event()) is NEW
    clock.advance(24 * 3600)
    assert await state_of(dedup, event()) is DONE
    clock.advance(DEFAULT_DEDUP_TTL - 24 * 3600)
    assert await state_of(dedup, event()) is NEW


async def test_store_is_bounded_and_evicts_the_least_recently_changed() -> None:
    store = InMemoryDedupStore(max_entries=3)
    dedup = WebhookDeduplicator(store)
    events = [event(id=n) for n in range(4)]
    for e in events:
        assert await state_of(dedup, e) is NEW
    assert len(store) == 3
    assert await state_of(dedup, events[3]) is DONE
    assert await state_of(dedup, events[0]) is NEW  # evicted, so seen as new
    assert len(store) == 3


async def test_a_custom_store_gets_owner_lease_and_ttl() -> None:
    calls: list[tuple[str, ...]] = []

    class RecordingStore(InMemoryDedupStore):
        async def claim(self, key: str, owner: str, lease: float) -> HandlingState:
            calls.append(("claim", key, str(lease)))
            return await super().claim(key, owner, lease)

        async def complete(self, key: str, owner: str, ttl: float) -> None:
            calls.append(("complete", key, str(ttl)))
            await super().complete(key, owner, ttl)

        async def release(self, key: str, owner: str) -> None:
            calls.append(("release", key))
            await super().release(key, owner)

    dedup = WebhookDeduplicator(RecordingStore(), ttl=90, lease=15)
    key = event().dedup_key
    with pytest.raises(Boom):
        await fail(dedup, event(), [])
    assert await state_of(dedup, event()) is NEW
    assert calls == [
        ("claim", key, "15"),
        ("release", key),
        ("claim", key, "15"),
        ("complete", key, "90"),
    ]


def test_bad_configuration() -> None:
    with pytest.raises(ConfigurationError, match="max_entries"):
        InMemoryDedupStore(max_entries=0)
    with pytest.raises(ConfigurationError, match="ttl"):
        WebhookDeduplicator(ttl=0)
    with pytest.raises(ConfigurationError, match="lease"):
        WebhookDeduplicator(lease=-1)
