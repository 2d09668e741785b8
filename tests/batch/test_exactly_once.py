"""A send whose answer was lost is checked before it is repeated: never twice, never
reported sent when it was not."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from pacta_async import GenerateItem, ItemResult, ItemStatus, PactaClient, UnknownOutcomeError
from pacta_async._batch._engine import CHECK_BUDGET
from pacta_async.testing import SEND_ROUTES, FakeClock, Faults, ReferenceServer

from .support import (
    Interceptor,
    client_for,
    documents_by_external_id,
    fast_server,
    is_post,
    make_drafts,
    make_template,
    people,
)

pytestmark = pytest.mark.anyio

GET_DOCUMENT = "GET /documents/{documentId}"
LIST_DOCUMENTS = "GET /documents"


async def test_sends_whose_answers_are_lost_happen_once(clock: FakeClock) -> None:
    server = fast_server(clock)
    token = server.create_token(server.create_team())
    results: list[ItemResult[int]] = []
    async with client_for(server, token, clock=clock) as client:
        ids = await make_drafts(client, 60)
        server.set_faults(
            Faults(error_rate=0.3, drop_after_rate=0.3, routes=SEND_ROUTES, seed=1),
            Faults(error_rate=0.2, routes={GET_DOCUMENT}, seed=2),
        )
        summary = await client.batch.send_many(ids, concurrency=8, on_result=results.append)
    assert summary.sent == 60, [str(r.error) for r in results if r.error]
    assert [server.send_count(i) for i in ids] == [1] * 60
    assert {r.document_id for r in results} == set(ids)


async def test_generates_whose_answers_are_lost_happen_once(clock: FakeClock) -> None:
    server = fast_server(clock)
    token = server.create_token(server.create_team())
    results: list[ItemResult[GenerateItem]] = []
    async with client_for(server, token, clock=clock) as client:
        template_id, placeholder = await make_template(client)
        server.set_faults(
            Faults(error_rate=0.3, drop_after_rate=0.3, routes=SEND_ROUTES, seed=3),
            Faults(error_rate=0.2, routes={LIST_DOCUMENTS}, seed=4),
        )
        summary = await client.batch.generate_many(
            template_id,
            people(placeholder, 60),
            concurrency=8,
            on_result=results.append,
        )
        server.clear_faults()
        by_external_id = await documents_by_external_id(client)
    assert summary.sent == 60, [str(r.error) for r in results if r.error]
    assert len(by_external_id) == 60
    assert set(by_external_id.values()) == {1}
    for result in results:
        assert result.document_id is not None
        assert server.document(result.document_id)["externalId"] == result.external_id
        assert server.send_count(result.document_id) == 1


async def test_lookups_in_doubt_share_scans(clock: FakeClock) -> None:
    server = fast_server(clock)
    token = server.create_token(server.create_team())
    listings = 0

    def count(request: httpx.Request) -> None:
        nonlocal listings
        listings += request.method == "GET" and request.url.path.endswith("/documents")

    transport = Interceptor(server.transport(), before=count)
    async with client_for(server, token, clock=clock, transport=transport) as client:
        template_id, placeholder = await make_template(client)
        server.set_faults(Faults(drop_after_rate=1.0, routes=SEND_ROUTES))
        summary = await client.batch.generate_many(
            template_id,
            people(placeholder, 40),
            concurrency=10,
        )
    assert summary.sent == 40
    # One listing for the batch's floor, then one page per scan, each serving many items.
    assert listings <= 1 + 40 // 4


async def test_a_check_that_keeps_failing_is_an_unknown_outcome_never_a_send(
    clock: FakeClock, tmp_path: Path
) -> None:
    server = fast_server(clock)
    token = server.create_token(server.create_team())
    journal = tmp_path / "batch.journal"
    async with client_for(server, token, clock=clock) as client:
        [document_id] = await make_drafts(client, 1)
        server.set_faults(
            Faults(drop_after_rate=1.0, routes=SEND_ROUTES),
            Faults(error_rate=1.0, routes={GET_DOCUMENT}),
        )
        results: list[ItemResult[int]] = []
        summary = await client.batch.send_many(
            [document_id], journal=journal, on_result=results.append
        )
        assert (summary.sent, summary.failed, summary.unknown) == (0, 0, 1)
        assert results[0].status is ItemStatus.UNKNOWN
        assert isinstance(results[0].error, UnknownOutcomeError)
        assert "not reported as sent" in str(results[0].error)
        assert server.send_count(document_id) == 1  # it did happen: we just could not tell

        # Pacta recovers; the rerun checks the item instead of sending it again.
        server.clear_faults()
        results.clear()
        summary = await client.batch.send_many(
            [document_id], journal=journal, on_result=results.append
        )
    assert summary.sent == 1
    assert results[0].document_id == document_id
    assert server.send_count(document_id) == 1


async def test_a_generate_whose_check_keeps_failing_is_found_on_the_rerun(
    clock: FakeClock, tmp_path: Path
) -> None:
    server = fast_server(clock)
    token = server.create_token(server.create_team())
    journal = tmp_path / "batch.journal"
    scans_fail = False  # once the batch has begun

    def fail_scans(request: httpx.Request) -> None:
        nonlocal scans_fail
        scans_fail = scans_fail or is_post(request, "/generate")
        if scans_fail and request.url.params.get("perPage") == "100":
            raise httpx.ReadError("connection reset", request=request)

    transport = Interceptor(server.transport(), before=fail_scans)
    async with client_for(server, token, clock=clock, transport=transport) as client:
        template_id, placeholder = await make_template(client)
        items = people(placeholder, 3)
        server.set_faults(Faults(drop_after_rate=1.0, routes=SEND_ROUTES))
        results: list[ItemResult[GenerateItem]] = []
        summary = await client.batch.generate_many(
            template_id,
            items,
            journal=journal,
            on_result=results.append,
            # Past the check budget, before the batch would stop as Pacta unreachable.
            unreachable_timeout=10 * CHECK_BUDGET,
        )
        assert summary.unknown == 3
        assert all(isinstance(r.error, UnknownOutcomeError) for r in results)
        assert len(await documents_by_external_id(client)) == 3  # all three were sent

        server.clear_faults()
        scans_fail = False
        summary = await client.batch.generate_many(template_id, items, journal=journal)
        assert summary.sent == 3
        by_external_id = await documents_by_external_id(client)
    assert len(by_external_id) == 3
    assert set(by_external_id.values()) == {1}


async def test_an_external_id_already_on_pacta_counts_as_sent(
    client: PactaClient, server: ReferenceServer
) -> None:
    """No journal vouches for the batch: Pacta is the source of truth."""
    template_id, placeholder = await make_template(client)
    older = await client.templates.generate(
        template_id,
        recipients=[{"id": placeholder, "name": "Old", "email": "old@x.io"}],
        external_id="order-1",
    )
    results: list[ItemResult[GenerateItem]] = []
    item: GenerateItem = {
        "recipients": [{"id": placeholder, "name": "New", "email": "new@x.io"}],
        "external_id": "order-1",
    }
    summary = await client.batch.generate_many(template_id, [item], on_result=results.append)
    assert (summary.sent, summary.skipped) == (0, 1)
    assert results[0].document_id == older.id
    assert (await documents_by_external_id(client))["order-1"] == 1


async def test_not_a_draft_after_an_answer_in_doubt_means_our_send_went_through(
    clock: FakeClock,
) -> None:
    # A send times out, the check still sees a DRAFT (Pacta was slow), the repeat is
    # refused because by then the first send had gone through.
    posts = 0
    gets = 0

    def document(status: str) -> httpx.Response:
        body = {
            "id": 5,
            "title": "Contract",
            "status": status,
            "externalId": None,
            "teamId": 1,
            "createdAt": "2026-05-12T09:30:00.000Z",
            "updatedAt": "2026-05-12T09:30:00.000Z",
            "completedAt": None,
            "recipients": [],
        }
        return httpx.Response(200, json=body)

    def pacta(request: httpx.Request) -> httpx.Response:
        nonlocal posts, gets
        if request.url.path.endswith("/documents"):  # the batch's look at the team
            return httpx.Response(200, json={"documents": [], "totalPages": 1})
        if request.method == "POST":
            posts += 1
            if posts == 1:
                raise httpx.ReadTimeout("timed out", request=request)
            error = {
                "code": "INVALID_DOCUMENT_STATUS",
                "message": "Only a DRAFT document can be sent",
                "details": {"status": "PENDING"},
            }
            return httpx.Response(400, content=json.dumps(error))
        gets += 1
        return document("DRAFT" if gets == 1 else "PENDING")

    client = PactaClient(
        "api_test_token_0123",
        base_url="https://pacta.test/api/v1",
        transport=httpx.MockTransport(pacta),
        rate_limiter=None,
        clock=clock,
    )
    results: list[ItemResult[int]] = []
    async with client:
        summary = await client.batch.send_many([5], on_result=results.append)
    assert summary.sent == 1
    assert results[0].status is ItemStatus.SENT
    assert (posts, gets) == (2, 2)


async def test_a_check_pacta_refuses_leaves_the_outcome_unknown(clock: FakeClock) -> None:
    def pacta(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            raise httpx.ReadTimeout("timed out", request=request)
        if request.url.path.endswith("/documents"):  # the batch's look at the team
            return httpx.Response(200, json={"documents": [], "totalPages": 1})
        return httpx.Response(404, json={"code": "NOT_FOUND", "message": "No such document"})

    client = PactaClient(
        "api_test_token_0123",
        base_url="https://pacta.test/api/v1",
        transport=httpx.MockTransport(pacta),
        rate_limiter=None,
        clock=clock,
    )
    results: list[ItemResult[int]] = []
    async with client:
        summary = await client.batch.send_many([5], on_result=results.append)
    assert summary.unknown == 1
    error = results[0].error
    assert isinstance(error, UnknownOutcomeError)
    assert "checking was refused" in str(error)
    assert "404 NOT_FOUND" in str(error)
