"""Per-item results and totals, failure isolation, streamed inputs, callbacks, bad arguments."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from pacta_async import (
    BadRequestError,
    BatchSummary,
    GenerateItem,
    InvalidInputError,
    ItemResult,
    ItemStatus,
    NotFoundError,
    PactaClient,
    PermissionDeniedError,
)
from pacta_async.testing import ReferenceServer

from .support import make_drafts, make_template, people

pytestmark = pytest.mark.anyio


async def test_every_item_gets_a_result_and_the_totals_add_up(
    client: PactaClient, server: ReferenceServer
) -> None:
    ids = await make_drafts(client, 12)
    results: list[ItemResult[int]] = []
    summary = await client.batch.send_many(ids, concurrency=4, on_result=results.append)
    assert (summary.sent, summary.failed, summary.skipped, summary.done) == (12, 0, 0, 12)
    assert summary.ok
    assert summary.batch_id == "send"  # the default: the kind of batch
    assert sorted(r.index for r in results) == list(range(12))
    for result in results:
        assert result.status is ItemStatus.SENT
        assert result.document_id == result.item == ids[result.index]
        assert result.error is None
    assert [server.send_count(i) for i in ids] == [1] * 12
    assert {server.document(i)["status"] for i in ids} == {"PENDING"}


async def test_a_failing_item_fails_alone_with_a_typed_error(
    client: PactaClient, server: ReferenceServer
) -> None:
    good = await make_drafts(client, 6)
    no_signature = (await make_drafts(client, 1, signature=False))[0]
    already_sent = (await make_drafts(client, 1))[0]
    await client.documents.send(already_sent)
    deleted = (await make_drafts(client, 1))[0]
    await client.documents.delete(deleted)
    inputs = [good[0], no_signature, good[1], 999_999, good[2], already_sent, 0, deleted, *good[3:]]
    results: dict[object, ItemResult[int]] = {}

    def keep(result: ItemResult[int]) -> None:
        results[result.item] = result

    summary = await client.batch.send_many(inputs, concurrency=3, on_result=keep)
    assert (summary.sent, summary.failed, summary.skipped) == (6, 4, 1)
    assert all(results[i].status is ItemStatus.SENT for i in good)
    assert results[already_sent].status is ItemStatus.SKIPPED  # sent: by someone, once
    assert isinstance(results[no_signature].error, BadRequestError)
    assert isinstance(results[999_999].error, NotFoundError)
    assert isinstance(results[0].error, InvalidInputError)
    assert isinstance(results[deleted].error, PermissionDeniedError)
    assert server.send_count(already_sent) == 1
    assert server.send_count(no_signature) == 0


async def test_a_sync_generator_is_consumed_as_items_are_sent(client: PactaClient) -> None:
    ids = await make_drafts(client, 60)
    pulled = finished = 0
    ahead: list[int] = []

    def inputs() -> Iterator[int]:
        nonlocal pulled
        for document_id in ids:
            pulled += 1
            yield document_id

    def on_result(result: ItemResult[int]) -> None:
        nonlocal finished
        finished += 1
        ahead.append(pulled - finished)

    summary = await client.batch.send_many(inputs(), concurrency=4, on_result=on_result)
    assert summary.sent == 60
    # Read ahead at most: the input stream's buffer, one per worker, the results' buffer,
    # and the one the feeder holds.
    assert max(ahead) <= 3 * 4 + 1


async def test_an_async_iterable_works_like_a_sync_one(client: PactaClient) -> None:
    template_id, placeholder = await make_template(client)

    async def inputs() -> AsyncIterator[GenerateItem]:
        for item in people(placeholder, 15):
            yield item

    results: list[ItemResult[GenerateItem]] = []

    async def on_result(result: ItemResult[GenerateItem]) -> None:  # async callbacks are awaited
        results.append(result)

    summary = await client.batch.generate_many(
        template_id,
        inputs(),
        concurrency=5,
        on_result=on_result,
    )
    assert summary.sent == 15
    assert len(results) == 15
    documents = {d.id: d async for d in client.documents.iter()}
    for result in results:
        assert result.document_id is not None
        document = documents[result.document_id]
        assert document.external_id == result.external_id
        assert (result.external_id or "").startswith(f"{summary.batch_id}:")
        assert document.recipients[0].email == f"p{result.index}@x.io"
        assert str(document.status) == "PENDING"


async def test_progress_is_reported_after_every_item(client: PactaClient) -> None:
    ids = await make_drafts(client, 10)
    seen: list[BatchSummary] = []
    summary = await client.batch.send_many([*ids, -1], concurrency=3, on_progress=seen.append)
    assert [s.done for s in seen] == list(range(1, 12))
    assert seen[-1].sent == summary.sent == 10
    assert seen[-1].failed == summary.failed == 1
    assert all(b.elapsed >= a.elapsed for a, b in itertools.pairwise(seen))
    assert summary.elapsed >= seen[-1].elapsed


async def test_empty_inputs_give_empty_totals(client: PactaClient) -> None:
    summary = await client.batch.send_many([])
    assert summary.done == 0
    assert summary.ok


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.batch.send_many([1], concurrency=0), "concurrency"),
        (lambda c: c.batch.send_many("123"), "document_ids"),
        (lambda c: c.batch.send_many(5), "document_ids"),
        (lambda c: c.batch.generate_many(0, []), "template_id"),
        (lambda c: c.batch.generate_many(1, {"recipients": []}), "inputs"),
    ],
)
async def test_bad_batch_arguments_are_refused_before_anything_is_sent(
    client: PactaClient,
    server: ReferenceServer,
    call: Callable[[PactaClient], Awaitable[object]],
    field: str,
) -> None:
    ids = await make_drafts(client, 1)
    with pytest.raises(InvalidInputError) as caught:
        await call(client)
    assert caught.value.field == field
    assert server.send_count(ids[0]) == 0


async def test_a_bad_item_fails_without_stopping_the_batch(client: PactaClient) -> None:
    template_id, placeholder = await make_template(client)
    items: list[Any] = [
        *people(placeholder, 2),
        {"recipients": [{"id": placeholder, "name": "X", "email": "not-an-email"}]},
        {"recipients": []},
        {"recipients": [{"id": placeholder, "name": "Y", "email": "y@x.io"}], "colour": "red"},
        "not a dict",
        *people(placeholder, 2, start=2),
    ]
    results: list[ItemResult[GenerateItem]] = []
    summary = await client.batch.generate_many(
        template_id,
        items,
        on_result=results.append,
    )
    assert (summary.sent, summary.failed) == (4, 4)
    failed = sorted((r.index, r) for r in results if r.status is ItemStatus.FAILED)
    assert [index for index, _ in failed] == [2, 3, 4, 5]
    assert all(isinstance(r.error, InvalidInputError) for _, r in failed)
    assert "recipients[0].email" in str(failed[0][1].error)


async def test_errors_from_the_callers_code_stop_the_batch_unwrapped(client: PactaClient) -> None:
    ids = await make_drafts(client, 3)

    def broken_inputs() -> Iterator[int]:
        yield ids[0]
        raise LookupError("the caller's bug")

    with pytest.raises(LookupError, match="the caller's bug"):
        await client.batch.send_many(broken_inputs())

    def broken_callback(result: ItemResult[int]) -> None:
        raise KeyError("callback")

    with pytest.raises(KeyError, match="callback"):
        await client.batch.send_many(ids[1:], on_result=broken_callback)
