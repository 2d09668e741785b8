"""`create_and_send_many`: upload, place fields, send; each step at most once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pacta_async import (
    CreateItem,
    FieldParam,
    InvalidInputError,
    ItemResult,
    ItemStatus,
    PactaClient,
)
from pacta_async.testing import Faults, ReferenceServer

from .support import PDF, Interceptor, client_for, documents_by_external_id, is_post

pytestmark = pytest.mark.anyio


def signature(recipient: int, x: float) -> FieldParam:
    return {"recipient": recipient, "type": "SIGNATURE", "page": 1, "x": x, "y": 600,
            "width": 150, "height": 40}  # fmt: skip


def contract(n: int, file: Any = PDF) -> CreateItem:
    """Two signers, a signature field each."""
    return {
        "file": file,
        "title": f"Contract {n}",
        "recipients": [
            {"name": f"Ann {n}", "email": f"ann{n}@x.io"},
            {"name": f"Bob {n}", "email": f"bob{n}@x.io"},
        ],
        "fields": [signature(0, 50), signature(1, 300)],
    }


async def check_sent_once(client: PactaClient, server: ReferenceServer, count: int) -> None:
    documents = [d async for d in client.documents.iter()]
    assert len(documents) == count
    assert set((await documents_by_external_id(client)).values()) == {1}
    for document in documents:
        assert server.send_count(document.id) == 1
        fields = await client.documents.fields.list(document.id)
        assert sorted((f.recipient_id, f.x) for f in fields) == [
            (document.recipients[0].id, 50),
            (document.recipients[1].id, 300),
        ]


async def test_each_item_is_uploaded_given_its_fields_and_sent(
    client: PactaClient, server: ReferenceServer, tmp_path: Path
) -> None:
    pdf = tmp_path / "contract.pdf"
    pdf.write_bytes(PDF)
    results: list[ItemResult[CreateItem]] = []
    items = [contract(n, file=pdf if n % 2 else PDF) for n in range(6)]
    summary = await client.batch.create_and_send_many(items, on_result=results.append)
    assert summary.sent == 6
    for result in results:
        assert result.document_id is not None
        document = server.document(result.document_id)
        assert document["status"] == "PENDING"
        assert document["title"] == result.item["title"]
        assert document["externalId"] == result.external_id
    await check_sent_once(client, server, 6)


async def test_uploads_whose_answers_are_lost_are_not_repeated(
    client: PactaClient, server: ReferenceServer
) -> None:
    server.set_faults(
        Faults(drop_after_rate=0.5, routes={"POST /documents"}, seed=5),
        Faults(drop_after_rate=0.3, routes={"POST /documents/{documentId}/fields"}, seed=6),
    )
    summary = await client.batch.create_and_send_many([contract(n) for n in range(12)])
    server.clear_faults()
    assert summary.sent == 12
    await check_sent_once(client, server, 12)


async def test_a_rerun_picks_up_the_uploaded_draft(
    server: ReferenceServer, token: str, tmp_path: Path
) -> None:
    class Crash(BaseException):
        pass

    def die_after_the_first_field(request: httpx.Request) -> None:
        if is_post(request, "/fields"):
            raise Crash

    journal = tmp_path / "batch.journal"
    items = [contract(n) for n in range(3)]
    transport = Interceptor(server.transport(), after=die_after_the_first_field)
    async with client_for(server, token, transport=transport) as client:
        with pytest.raises(Crash):
            await client.batch.create_and_send_many(items, concurrency=1, journal=journal)
    async with client_for(server, token) as client:
        summary = await client.batch.create_and_send_many(items, journal=journal)
        assert summary.sent == 3
        await check_sent_once(client, server, 3)


async def test_a_bad_field_fails_its_item_before_the_upload(
    client: PactaClient, server: ReferenceServer
) -> None:
    bad = contract(1)
    bad["fields"] = [signature(2, 50)]
    results: list[ItemResult[CreateItem]] = []
    summary = await client.batch.create_and_send_many([contract(0), bad], on_result=results.append)
    assert (summary.sent, summary.failed) == (1, 1)
    [failed] = [r for r in results if r.status is ItemStatus.FAILED]
    assert isinstance(failed.error, InvalidInputError)
    assert failed.error.field == "fields[0].recipient"
    assert len([d async for d in client.documents.iter()]) == 1
