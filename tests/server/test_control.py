"""The control API: recipients' actions, cancelling, send counts, limits and errors."""

from __future__ import annotations

import httpx
import pytest

from pacta_async.testing import ApiError, FakeClock, ReferenceServer

from .conftest import CreateDocument

pytestmark = pytest.mark.anyio


async def add_recipient(
    client: httpx.AsyncClient, document_id: int, role: str, signature: bool = True
) -> int:
    response = await client.post(
        f"/documents/{document_id}/recipients",
        json={"name": role.title(), "email": f"{role.lower()}@example.com", "role": role},
    )
    recipient: int = response.json()["id"]
    if signature:
        await client.post(
            f"/documents/{document_id}/fields",
            json={
                "type": "SIGNATURE",
                "page": 1,
                "x": 1,
                "y": 1,
                "width": 1,
                "height": 1,
                "recipientId": recipient,
            },
        )
    return recipient


async def test_signing_completes_when_every_signer_and_approver_has_signed(
    server: ReferenceServer,
    client: httpx.AsyncClient,
    create_document: CreateDocument,
    clock: FakeClock,
) -> None:
    document = await create_document(signature=True)
    doc_id, signer = document["id"], document["recipients"][0]["id"]
    approver = await add_recipient(client, doc_id, "APPROVER", signature=False)
    viewer = await add_recipient(client, doc_id, "VIEWER", signature=False)
    await client.post(f"/documents/{doc_id}/send")

    server.open_document(doc_id, viewer)
    server.sign(doc_id, signer)
    clock.advance(5)
    state = server.document(doc_id)
    assert state["status"] == "PENDING"
    by_id = {r["id"]: r for r in state["recipients"]}
    assert by_id[viewer]["readStatus"] == "OPENED"
    assert by_id[signer]["signingStatus"] == "SIGNED"
    assert by_id[signer]["readStatus"] == "OPENED"
    assert by_id[signer]["signedAt"] == "2027-01-15T08:00:00.000Z"
    fields = (await client.get(f"/documents/{doc_id}/fields")).json()["fields"]
    assert [f["inserted"] for f in fields] == [True]

    server.sign(doc_id, approver)
    completed = (await client.get(f"/documents/{doc_id}")).json()
    assert completed["status"] == "COMPLETED"
    assert completed["completedAt"] == "2027-01-15T08:00:05.000Z"

    with pytest.raises(ApiError) as raised:
        server.sign(doc_id, approver)
    assert (raised.value.status, raised.value.code) == (400, "INVALID_DOCUMENT_STATUS")
    assert raised.value.details == {"status": "COMPLETED"}


async def test_rejecting_rejects_the_document(
    server: ReferenceServer, client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document(signature=True)
    await client.post(f"/documents/{document['id']}/send")
    server.reject(document["id"], document["recipients"][0]["id"])
    state = server.document(document["id"])
    assert state["status"] == "REJECTED"
    assert state["recipients"][0]["signingStatus"] == "REJECTED"


async def test_cancel(
    server: ReferenceServer, client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document(signature=True)
    with pytest.raises(ApiError, match="INVALID_DOCUMENT_STATUS"):
        server.cancel(document["id"])
    await client.post(f"/documents/{document['id']}/send")
    server.cancel(document["id"])
    assert server.document(document["id"])["status"] == "CANCELLED"


async def test_control_errors(
    server: ReferenceServer, client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document(signature=True)
    doc_id, signer = document["id"], document["recipients"][0]["id"]
    with pytest.raises(ApiError, match="INVALID_DOCUMENT_STATUS"):
        server.sign(doc_id, signer)  # still a draft
    cc = await add_recipient(client, doc_id, "CC", signature=False)
    await client.post(f"/documents/{doc_id}/send")
    with pytest.raises(ApiError, match="NOT_FOUND"):
        server.sign(999, signer)
    with pytest.raises(ApiError, match="NOT_FOUND"):
        server.open_document(doc_id, 999)
    with pytest.raises(ApiError, match="VALIDATION_ERROR") as raised:
        server.sign(doc_id, cc)
    assert raised.value.details == {"field": "role"}
    server.sign(doc_id, signer)
    with pytest.raises(ApiError, match="NOT_FOUND"):
        server.send_count(999)
    with pytest.raises(ApiError, match="NOT_FOUND"):
        server.create_token(999)


async def test_send_count_counts_sends_only(
    server: ReferenceServer, client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document(signature=True)
    assert server.send_count(document["id"]) == 0
    for _ in range(3):
        await client.post(f"/documents/{document['id']}/send")
    assert server.send_count(document["id"]) == 1


async def test_duplicate_makes_what_the_duplicate_endpoint_makes_in_one_step(
    server: ReferenceServer, client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document(signature=True)
    by_request = (await client.post(f"/documents/{document['id']}/duplicate")).json()
    ids = server.duplicate(document["id"], copies=3)
    assert ids == [by_request["id"] + 1, by_request["id"] + 2, by_request["id"] + 3]
    drop = {"id", "createdAt", "updatedAt"}

    def shape(doc: dict[str, object]) -> dict[str, object]:
        recipients = doc["recipients"]
        assert isinstance(recipients, list)
        people = [
            {k: v for k, v in r.items() if k not in ("id", "documentId", "signingUrl")}
            for r in recipients
        ]
        return {k: v for k, v in doc.items() if k not in drop | {"recipients"}} | {"people": people}

    for copy_id in ids:
        copy = (await client.get(f"/documents/{copy_id}")).json()  # the team's, by the API
        assert shape(copy) == shape(by_request)
        await client.post(f"/documents/{copy_id}/send")  # its signature field came along
        assert server.send_count(copy_id) == 1
    with pytest.raises(ApiError, match="NOT_FOUND"):
        server.duplicate(999)
    for copies in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="copies"):
            server.duplicate(document["id"], copies=copies)  # type: ignore[arg-type]
