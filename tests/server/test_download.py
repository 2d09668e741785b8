"""`GET /documents/{id}/download`: a presigned, expiring link on the storage origin."""

from __future__ import annotations

import httpx
import pytest

from pacta_async.testing import FakeClock, ReferenceServer

from .conftest import CreateDocument
from .test_documents import RFC3339_MS, assert_error

pytestmark = pytest.mark.anyio


async def test_the_original_has_a_link_for_every_document(
    client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document()
    response = await client.get(
        f"/documents/{document['id']}/download", params={"original": "true"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"downloadUrl", "expiresAt"}
    assert body["downloadUrl"].startswith(f"http://files.pacta.test/files/{document['id']}/")
    assert RFC3339_MS.fullmatch(body["expiresAt"])
    assert "x-ratelimit-remaining" in response.headers


async def test_the_signed_pdf_needs_a_completed_document(
    client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document()
    response = await client.get(f"/documents/{document['id']}/download")
    assert_error(response, 400, "INVALID_DOCUMENT_STATUS", {"status": "DRAFT"})


async def test_a_bad_flag_and_a_missing_document_are_refused(
    client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document()
    bad = await client.get(f"/documents/{document['id']}/download", params={"original": "yes"})
    assert_error(bad, 400, "VALIDATION_ERROR", {"field": "original"})
    assert_error(await client.get("/documents/999999/download"), 404, "NOT_FOUND")


async def test_storage_serves_the_link_without_a_token_until_it_expires(
    client: httpx.AsyncClient,
    create_document: CreateDocument,
    server: ReferenceServer,
    clock: FakeClock,
) -> None:
    document = await create_document()
    link = (
        await client.get(f"/documents/{document['id']}/download", params={"original": "true"})
    ).json()["downloadUrl"]
    async with httpx.AsyncClient(transport=server.transport()) as storage:
        fine = await storage.get(link)
        assert fine.status_code == 200
        assert fine.headers["content-type"] == "application/pdf"
        assert int(fine.headers["content-length"]) == len(fine.content)
        assert fine.content.startswith(b"%PDF-")
        with_token = await storage.get(link, headers={"Authorization": "api_x"})
        assert with_token.status_code == 400
        tampered = await storage.get(link.replace("original", "signed"))
        assert tampered.status_code == 403
        clock.advance(3600)
        expired = await storage.get(link)
        assert expired.status_code == 403
        assert not expired.headers["content-type"].startswith("application/json")
    assert [r.authorization for r in server.storage_requests()] == [False, True, False, False]
