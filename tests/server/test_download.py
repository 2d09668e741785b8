"""`GET /documents/{id}/download`: only the link, as far as the snapshot describes it."""

from __future__ import annotations

import httpx
import pytest

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
    assert body["downloadUrl"].startswith(f"https://files.pacta.test/documents/{document['id']}/")
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
