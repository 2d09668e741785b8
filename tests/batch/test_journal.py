"""Resumable batches: a rerun with the same journal finishes the rest, checks what was in
flight, and refuses a journal that belongs to another batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pacta_async import (
    GenerateItem,
    InvalidInputError,
    ItemResult,
    ItemStatus,
    JournalError,
    PactaClient,
)
from pacta_async._batch._journal import open_journal
from pacta_async.testing import ReferenceServer

from .support import (
    Interceptor,
    add_signature,
    client_for,
    documents_by_external_id,
    is_post,
    journal_states,
    make_drafts,
    make_template,
    people,
)

pytestmark = pytest.mark.anyio


class Stop(Exception):
    pass


async def test_a_rerun_skips_what_was_sent(
    client: PactaClient, server: ReferenceServer, tmp_path: Path
) -> None:
    journal = tmp_path / "batch.journal"
    ids = await make_drafts(client, 20)
    done = 0

    def stop_after_five(result: ItemResult[int]) -> None:
        nonlocal done
        done += 1
        if done == 5:
            raise Stop

    with pytest.raises(Stop):
        await client.batch.send_many(ids, concurrency=3, journal=journal, on_result=stop_after_five)
    recorded = journal_states(journal)
    assert 5 <= sum(state == "sent" for state, _ in recorded.values()) < 20

    results: list[ItemResult[int]] = []
    summary = await client.batch.send_many(
        ids, concurrency=3, journal=journal, on_result=results.append
    )
    assert summary.ok
    assert summary.skipped == sum(state == "sent" for state, _ in recorded.values())
    assert summary.sent + summary.skipped == 20
    assert all(r.document_id == r.item for r in results)
    assert [server.send_count(i) for i in ids] == [1] * 20
    assert {state for state, _ in journal_states(journal).values()} == {"sent"}


class Crash(BaseException):
    """The process dies: nothing after this point runs, not even `except Exception`."""


async def _die_after(client: PactaClient, call: Any, suffix: str) -> None:
    """Run `call(client)` and die just after Pacta processed the first `suffix` POST,
    before its answer reaches the batch."""

    def die(request: httpx.Request) -> None:
        if is_post(request, suffix):
            raise Crash

    client._transport._inner = Interceptor(client._transport._inner, after=die)
    with pytest.raises(Crash):
        await call(client)


async def test_a_send_in_flight_when_the_process_died_is_checked_not_repeated(
    server: ReferenceServer, token: str, tmp_path: Path
) -> None:
    journal = tmp_path / "batch.journal"
    async with client_for(server, token) as client:
        ids = await make_drafts(client, 3)
        await _die_after(
            client, lambda c: c.batch.send_many(ids, concurrency=1, journal=journal), "/send"
        )
    assert journal_states(journal)[str(ids[0])] == ("in_flight", None)
    assert server.send_count(ids[0]) == 1

    results: list[ItemResult[int]] = []
    async with client_for(server, token) as client:
        summary = await client.batch.send_many(ids, journal=journal, on_result=results.append)
    assert summary.sent == 3
    assert {r.item: r.status for r in results}[ids[0]] is ItemStatus.SENT
    assert [server.send_count(i) for i in ids] == [1, 1, 1]


async def test_a_generate_in_flight_when_the_process_died_is_found_not_repeated(
    server: ReferenceServer, token: str, tmp_path: Path
) -> None:
    journal = tmp_path / "batch.journal"
    async with client_for(server, token) as client:
        template_id, placeholder = await make_template(client)
        items = people(placeholder, 4)
        await _die_after(
            client,
            lambda c: c.batch.generate_many(template_id, items, concurrency=1, journal=journal),
            "/generate",
        )
    assert list(journal_states(journal).values()) == [("in_flight", None)]

    async with client_for(server, token) as client:
        summary = await client.batch.generate_many(template_id, items, journal=journal)
        by_external_id = await documents_by_external_id(client)
    assert summary.sent == 4
    assert len(by_external_id) == 4
    assert set(by_external_id.values()) == {1}


async def test_failed_items_are_tried_again_on_a_rerun(
    client: PactaClient, server: ReferenceServer, tmp_path: Path
) -> None:
    journal = tmp_path / "batch.journal"
    ids = await make_drafts(client, 2)
    [unsigned] = await make_drafts(client, 1, signature=False)
    first = await client.batch.send_many([*ids, unsigned], journal=journal)
    assert (first.sent, first.failed) == (2, 1)
    assert journal_states(journal)[str(unsigned)][0] == "failed"

    await add_signature(client, unsigned)  # the user fixes the draft
    second = await client.batch.send_many([*ids, unsigned], journal=journal)
    assert (second.sent, second.skipped, second.failed) == (1, 2, 0)
    assert server.send_count(unsigned) == 1


async def test_a_journal_of_another_batch_is_refused_before_anything_is_sent(
    client: PactaClient, server: ReferenceServer, tmp_path: Path
) -> None:
    journal = tmp_path / "batch.journal"
    template_id, placeholder = await make_template(client)
    other_template, _ = await make_template(client)
    await client.batch.generate_many(template_id, people(placeholder, 2), journal=journal)
    drafts = await make_drafts(client, 1)
    before = await documents_by_external_id(client)

    with pytest.raises(JournalError, match="another batch"):
        await client.batch.send_many(drafts, journal=journal)
    with pytest.raises(JournalError, match=f"generate from template {template_id}"):
        await client.batch.generate_many(other_template, people(placeholder, 2), journal=journal)
    assert await documents_by_external_id(client) == before
    assert server.send_count(drafts[0]) == 0


async def test_an_item_that_changed_since_the_first_run_is_refused(
    client: PactaClient, tmp_path: Path
) -> None:
    journal = tmp_path / "batch.journal"
    template_id, placeholder = await make_template(client)
    items = people(placeholder, 3)
    for n, item in enumerate(items):
        item["external_id"] = f"order-{n}"
    await client.batch.generate_many(template_id, items, journal=journal)
    items[1]["recipients"][0]["email"] = "someone.else@x.io"
    results: list[ItemResult[GenerateItem]] = []
    summary = await client.batch.generate_many(
        template_id,
        items,
        journal=journal,
        on_result=results.append,
    )
    assert (summary.skipped, summary.failed) == (2, 1)
    [failed] = [r for r in results if r.status is ItemStatus.FAILED]
    assert failed.index == 1
    assert isinstance(failed.error, InvalidInputError)
    assert "different content" in str(failed.error)
    assert len(await documents_by_external_id(client)) == 3


async def test_a_journal_in_use_or_unreadable_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "batch.journal"
    journal = await open_journal(path)
    try:
        with pytest.raises(JournalError, match="in use"):
            await open_journal(path)
    finally:
        await journal.aclose()
    await (await open_journal(path)).aclose()  # free again once closed

    garbage = tmp_path / "not-a-journal"
    garbage.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(JournalError, match="not a batch journal"):
        await open_journal(garbage)
