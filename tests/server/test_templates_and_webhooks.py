"""Templates and webhook subscriptions over plain httpx, in-process."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pacta_async.testing import ReferenceServer, make_pdf

from .conftest import BASE_URL
from .test_documents import assert_error

pytestmark = pytest.mark.anyio


async def create_template(client: httpx.AsyncClient, **extra: str) -> dict[str, Any]:
    data = {
        "title": "NDA",
        "recipients[0][name]": "Placeholder signer",
        "recipients[0][email]": "signer@placeholder.test",
        "recipients[0][role]": "SIGNER",
        "recipients[1][name]": "Placeholder copy",
        "recipients[1][email]": "cc@placeholder.test",
        "recipients[1][role]": "CC",
    } | extra
    files = {"file": ("nda.pdf", make_pdf(2), "application/pdf")}
    response = await client.post("/templates", data=data, files=files)
    assert response.status_code == 201, response.text
    template: dict[str, Any] = response.json()
    return template


async def test_templates_are_created_and_listed(client: httpx.AsyncClient) -> None:
    first = await create_template(client, externalId="tpl-1")
    assert set(first) == {
        "id",
        "title",
        "externalId",
        "teamId",
        "createdAt",
        "updatedAt",
        "recipients",
        "fields",
    }
    assert first["externalId"] == "tpl-1"
    assert first["fields"] == []
    assert [set(r) for r in first["recipients"]] == [{"id", "name", "email", "role"}] * 2
    second = await create_template(client)
    listed = (await client.get("/templates", params={"perPage": 1})).json()
    assert listed == {"templates": [second], "totalPages": 2}
    bad = await client.get("/templates", params={"perPage": 101})
    assert_error(bad, 400, "VALIDATION_ERROR", {"field": "perPage"})


async def test_generate_sends_a_document_and_honours_external_id(
    client: httpx.AsyncClient, server: ReferenceServer
) -> None:
    template = await create_template(client)
    signer, copy = template["recipients"]
    response = await client.post(
        f"/templates/{template['id']}/generate",
        json={
            "externalId": "row-17",
            "recipients": [{"id": signer["id"], "name": "Real Person", "email": "p@example.com"}],
        },
    )
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["status"] == "PENDING"
    assert document["externalId"] == "row-17"
    assert document["title"] == "NDA"
    assert [(r["name"], r["role"], r["sendStatus"]) for r in document["recipients"]] == [
        ("Real Person", "SIGNER", "SENT"),
        (copy["name"], "CC", "SENT"),
    ]
    assert server.send_count(document["id"]) == 1

    titled = await client.post(
        f"/templates/{template['id']}/generate",
        json={"title": "NDA for Bo", "recipients": [], "sendEmail": False},
    )
    assert titled.json()["title"] == "NDA for Bo"
    assert titled.json()["externalId"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "recipients"),
        ({"recipients": [{"id": 999, "name": "A", "email": "a@example.com"}]}, "recipients[0].id"),
        ({"recipients": [{"id": "1", "name": "A", "email": "a@example.com"}]}, "recipients[0].id"),
        ({"recipients": [{"name": "A", "email": "a@example.com"}]}, "recipients[0].id"),
        ({"recipients": ["x"]}, "recipients[0]"),
        ({"recipients": [], "title": ""}, "title"),
        ({"recipients": [], "externalId": 5}, "externalId"),
        ({"recipients": [], "sendEmail": 1}, "sendEmail"),
    ],
)
async def test_generate_validation(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    template = await create_template(client)
    response = await client.post(f"/templates/{template['id']}/generate", json=body)
    assert_error(response, 400, "VALIDATION_ERROR", {"field": field})


async def test_generate_refuses_the_same_placeholder_twice(client: httpx.AsyncClient) -> None:
    template = await create_template(client)
    signer = {"id": template["recipients"][0]["id"], "name": "A", "email": "a@example.com"}
    response = await client.post(
        f"/templates/{template['id']}/generate", json={"recipients": [signer, signer]}
    )
    assert_error(response, 400, "VALIDATION_ERROR", {"field": "recipients[1].id"})


async def test_direct_link_is_stable(client: httpx.AsyncClient) -> None:
    template = await create_template(client)
    first = await client.post(f"/templates/{template['id']}/direct-link")
    assert first.status_code == 201
    assert set(first.json()) == {"url", "token", "enabled"}
    assert first.json()["enabled"] is True
    again = await client.post(f"/templates/{template['id']}/direct-link")
    assert again.json() == first.json()


async def test_another_teams_template_is_forbidden(
    client: httpx.AsyncClient, server: ReferenceServer
) -> None:
    template = await create_template(client)
    other = server.create_token(server.create_team("Other"))
    async with httpx.AsyncClient(
        transport=server.transport(), base_url=BASE_URL, headers={"Authorization": other}
    ) as http:
        response = await http.post(f"/templates/{template['id']}/direct-link")
        assert_error(response, 403, "FORBIDDEN")
        response = await http.post(f"/templates/{template['id']}/generate", json={"recipients": []})
        assert_error(response, 403, "FORBIDDEN")
        assert (await http.get("/templates")).json() == {"templates": [], "totalPages": 0}


async def test_webhooks_are_managed(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/webhooks",
        json={
            "webhookUrl": "https://example.com/hook",
            "eventTriggers": ["DOCUMENT_SENT"],
            "secret": "s3cret",
        },
    )
    assert created.status_code == 201
    webhook = created.json()
    assert set(webhook) == {
        "id",
        "webhookUrl",
        "eventTriggers",
        "enabled",
        "createdAt",
        "updatedAt",
    }
    assert isinstance(webhook["id"], str)
    assert webhook["enabled"] is True

    path = f"/webhooks/{webhook['id']}"
    updated = await client.patch(
        path, json={"enabled": False, "eventTriggers": ["DOCUMENT_SIGNED"]}
    )
    assert updated.status_code == 200
    assert updated.json()["enabled"] is False
    assert updated.json()["eventTriggers"] == ["DOCUMENT_SIGNED"]
    assert updated.json()["webhookUrl"] == "https://example.com/hook"
    assert (await client.get("/webhooks")).json() == {"webhooks": [updated.json()]}

    deleted = await client.delete(path)
    assert deleted.status_code == 204
    assert (await client.get("/webhooks")).json() == {"webhooks": []}
    assert_error(await client.delete(path), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"eventTriggers": ["DOCUMENT_SENT"]}, "webhookUrl"),
        ({"webhookUrl": "ftp://example.com", "eventTriggers": ["DOCUMENT_SENT"]}, "webhookUrl"),
        ({"webhookUrl": "https://example.com"}, "eventTriggers"),
        ({"webhookUrl": "https://example.com", "eventTriggers": []}, "eventTriggers"),
        (
            {"webhookUrl": "https://example.com", "eventTriggers": ["DOCUMENT_SENT", "NOPE"]},
            "eventTriggers[1]",
        ),
        (
            {"webhookUrl": "https://e.com", "eventTriggers": ["DOCUMENT_SENT"], "secret": 1},
            "secret",
        ),
        (
            {"webhookUrl": "https://e.com", "eventTriggers": ["DOCUMENT_SENT"], "enabled": "no"},
            "enabled",
        ),
    ],
)
async def test_webhook_validation(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/webhooks", json=body)
    assert_error(response, 400, "VALIDATION_ERROR", {"field": field})


async def test_another_teams_webhook_is_forbidden(
    client: httpx.AsyncClient, server: ReferenceServer
) -> None:
    webhook = await client.post(
        "/webhooks",
        json={"webhookUrl": "https://example.com/hook", "eventTriggers": ["DOCUMENT_SENT"]},
    )
    other = server.create_token(server.create_team("Other"))
    async with httpx.AsyncClient(
        transport=server.transport(), base_url=BASE_URL, headers={"Authorization": other}
    ) as http:
        path = f"/webhooks/{webhook.json()['id']}"
        assert_error(await http.patch(path, json={"enabled": False}), 403, "FORBIDDEN")
        assert_error(await http.delete(path), 403, "FORBIDDEN")
        assert (await http.get("/webhooks")).json() == {"webhooks": []}


async def test_openapi_needs_no_token(server: ReferenceServer) -> None:
    async with httpx.AsyncClient(transport=server.transport(), base_url=BASE_URL) as http:
        response = await http.get("/openapi")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    assert "/documents/{documentId}/send" in spec["paths"]
