"""Documents, recipients, fields and embed tokens over plain httpx, in-process."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from pacta_async.testing import FakeClock, ReferenceServer, make_pdf

from .conftest import BASE_URL, CreateDocument

pytestmark = pytest.mark.anyio

RFC3339_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def raw_multipart(parts: list[tuple[str, str | bytes]], boundary: str = "pacta-boundary") -> bytes:
    """A multipart body written out by hand, like curl -F: the file part gets a filename."""
    body = b""
    for name, value in parts:
        if isinstance(value, bytes):
            disposition = f'form-data; name="{name}"; filename="contract.pdf"'
            head = f"Content-Disposition: {disposition}\r\nContent-Type: application/pdf\r\n"
            content = value
        else:
            head = f'Content-Disposition: form-data; name="{name}"\r\n'
            content = value.encode()
        body += f"--{boundary}\r\n{head}\r\n".encode() + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


def assert_error(response: httpx.Response, status: int, code: str, details: Any = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    if details is not None:
        assert body["details"] == details


async def test_the_overviews_curl_example(server: ReferenceServer, token: str) -> None:
    body = raw_multipart(
        [
            ("file", make_pdf()),
            ("title", "Q4 vendor agreement"),
            ("recipients[0][name]", "John Doe"),
            ("recipients[0][email]", "john@acme.com"),
            ("recipients[0][role]", "SIGNER"),
        ]
    )
    async with httpx.AsyncClient(transport=server.transport(), base_url=BASE_URL) as http:
        created = await http.post(
            "/documents",
            content=body,
            headers={
                "Authorization": token,
                "Content-Type": "multipart/form-data; boundary=pacta-boundary",
            },
        )
        assert created.status_code == 201, created.text
        document = created.json()
        assert document["status"] == "DRAFT"
        assert document["title"] == "Q4 vendor agreement"
        (recipient,) = document["recipients"]
        assert recipient["name"] == "John Doe"
        assert recipient["email"] == "john@acme.com"
        assert recipient["role"] == "SIGNER"

        field = await http.post(
            f"/documents/{document['id']}/fields",
            headers={"Authorization": token},
            json={
                "type": "SIGNATURE",
                "page": 1,
                "x": 100,
                "y": 600,
                "width": 200,
                "height": 50,
                "recipientId": recipient["id"],
            },
        )
        assert field.status_code == 201, field.text

        sent = await http.post(
            f"/documents/{document['id']}/send", headers={"Authorization": token}
        )
        assert sent.status_code == 200
        assert sent.json()["id"] == document["id"]
        assert sent.json()["status"] == "PENDING"
    assert server.send_count(document["id"]) == 1


async def test_document_object_has_exactly_the_contracts_fields(
    client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document(external_id="crm-7")
    assert set(document) == {
        "id",
        "title",
        "status",
        "externalId",
        "teamId",
        "createdAt",
        "updatedAt",
        "completedAt",
        "recipients",
    }
    assert isinstance(document["id"], int)
    assert document["externalId"] == "crm-7"
    assert document["completedAt"] is None
    assert RFC3339_MS.fullmatch(document["createdAt"])
    assert document["createdAt"] == "2027-01-15T08:00:00.000Z"  # FakeClock's wall start
    recipient = document["recipients"][0]
    assert set(recipient) == {
        "id",
        "documentId",
        "name",
        "email",
        "role",
        "signingOrder",
        "signingStatus",
        "readStatus",
        "sendStatus",
        "signedAt",
        "signingUrl",
    }
    assert recipient["documentId"] == document["id"]
    assert recipient["signingStatus"] == "NOT_SIGNED"
    assert recipient["readStatus"] == "NOT_OPENED"
    assert recipient["sendStatus"] == "NOT_SENT"
    assert recipient["signingUrl"].startswith("https://")

    fetched = await client.get(f"/documents/{document['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == document


async def test_signing_order_and_several_recipients(client: httpx.AsyncClient) -> None:
    data = {"title": "Two", "externalId": "x-1"}
    for i, role in enumerate(["SIGNER", "CC"]):
        data |= {
            f"recipients[{i}][name]": f"R{i}",
            f"recipients[{i}][email]": f"r{i}@example.com",
            f"recipients[{i}][role]": role,
            f"recipients[{i}][signingOrder]": str(i + 1),
        }
    response = await client.post(
        "/documents", data=data, files={"file": ("a.pdf", make_pdf(), "application/pdf")}
    )
    assert response.status_code == 201, response.text
    recipients = response.json()["recipients"]
    assert [(r["role"], r["signingOrder"]) for r in recipients] == [("SIGNER", 1), ("CC", 2)]


async def test_list_is_paginated_newest_first_and_filtered(
    client: httpx.AsyncClient, create_document: CreateDocument, clock: FakeClock
) -> None:
    ids = []
    for _ in range(12):
        ids.append((await create_document(signature=True))["id"])
        clock.advance(1)
    await client.post(f"/documents/{ids[0]}/send")

    first = (await client.get("/documents")).json()
    assert first["totalPages"] == 2
    assert [d["id"] for d in first["documents"]] == ids[::-1][:10]
    second = (await client.get("/documents", params={"page": 2})).json()
    assert [d["id"] for d in second["documents"]] == ids[::-1][10:]
    beyond = (await client.get("/documents", params={"page": 3})).json()
    assert beyond == {"documents": [], "totalPages": 2}
    small = (await client.get("/documents", params={"perPage": 5, "page": 3})).json()
    assert small["totalPages"] == 3
    assert [d["id"] for d in small["documents"]] == ids[1::-1]

    pending = (await client.get("/documents", params={"status": "PENDING"})).json()
    assert [d["id"] for d in pending["documents"]] == [ids[0]]
    assert pending["totalPages"] == 1


async def test_empty_list(client: httpx.AsyncClient) -> None:
    response = await client.get("/documents", params={"perPage": 100})
    assert response.json() == {"documents": [], "totalPages": 0}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"perPage": "0"}, "perPage"),
        ({"perPage": "101"}, "perPage"),
        ({"status": "SIGNED"}, "status"),
    ],
)
async def test_bad_list_parameters(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/documents", params=params)
    assert_error(response, 400, "VALIDATION_ERROR", {"field": field})


async def test_tokens_are_required_raw_and_current(
    server: ReferenceServer, clock: FakeClock, token: str
) -> None:
    team = server.create_team()
    expiring = server.create_token(team, expires_in=60)
    async with httpx.AsyncClient(transport=server.transport(), base_url=BASE_URL) as http:
        assert_error(await http.get("/documents"), 401, "UNAUTHORIZED")
        for header in [f"Bearer {token}", "api_unknown", ""]:
            response = await http.get("/documents", headers={"Authorization": header})
            assert_error(response, 401, "UNAUTHORIZED")
        assert (await http.get("/documents", headers={"Authorization": expiring})).is_success
        clock.advance(60)
        response = await http.get("/documents", headers={"Authorization": expiring})
        assert_error(response, 401, "UNAUTHORIZED")


async def test_another_teams_document_is_forbidden(
    server: ReferenceServer, create_document: CreateDocument
) -> None:
    document = await create_document()
    other = server.create_token(server.create_team("Other"))
    async with httpx.AsyncClient(
        transport=server.transport(), base_url=BASE_URL, headers={"Authorization": other}
    ) as http:
        base = f"/documents/{document['id']}"
        for method, path in [
            ("GET", base),
            ("DELETE", base),
            ("POST", f"{base}/send"),
            ("POST", f"{base}/duplicate"),
            ("GET", f"{base}/recipients"),
            ("GET", f"{base}/fields"),
        ]:
            assert_error(await http.request(method, path), 403, "FORBIDDEN")
        assert (await http.get("/documents")).json()["documents"] == []


async def test_deleted_document_is_forbidden(
    client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document()
    deleted = await client.delete(f"/documents/{document['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(await client.get(f"/documents/{document['id']}"), 403, "FORBIDDEN")
    assert_error(await client.delete(f"/documents/{document['id']}"), 403, "FORBIDDEN")
    assert (await client.get("/documents")).json()["documents"] == []


async def test_unknown_objects_are_not_found(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/documents/999"),
        ("GET", "/documents/abc"),
        ("POST", "/documents/999/send"),
        ("GET", "/documents/999/fields"),
        ("POST", "/templates/999/direct-link"),
        ("DELETE", "/webhooks/wh_999"),
        ("GET", "/no-such-endpoint"),
    ]:
        assert_error(await client.request(method, path), 404, "NOT_FOUND")


async def test_a_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.put("/documents")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}


def upload(data: dict[str, str], pdf: bytes | None = None) -> dict[str, Any]:
    files = {} if pdf is None else {"file": ("a.pdf", pdf, "application/pdf")}
    return {"data": data, "files": files}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        (
            {"title": "T", "recipients[0][name]": "A", "recipients[0][role]": "SIGNER"},
            "recipients[0].email",
        ),
        (
            {
                "title": "T",
                "recipients[0][name]": "A",
                "recipients[0][email]": "not-an-email",
                "recipients[0][role]": "SIGNER",
            },
            "recipients[0].email",
        ),
        (
            {
                "title": "T",
                "recipients[0][name]": "A",
                "recipients[0][email]": "a@example.com",
                "recipients[0][role]": "BOSS",
            },
            "recipients[0].role",
        ),
        (
            {
                "title": "T",
                "recipients[0][name]": "A",
                "recipients[0][email]": "a@example.com",
                "recipients[0][role]": "SIGNER",
                "recipients[0][signingOrder]": "0",
            },
            "recipients[0].signingOrder",
        ),
        ({"title": "T", "recipients[1][name]": "A"}, "recipients[0]"),
    ],
)
async def test_upload_validation(
    client: httpx.AsyncClient, data: dict[str, str], field: str
) -> None:
    response = await client.post("/documents", **upload(data, make_pdf()))
    assert_error(response, 400, "VALIDATION_ERROR", {"field": field})


async def test_upload_needs_a_file(client: httpx.AsyncClient) -> None:
    response = await client.post("/documents", **upload({"title": "T"}))
    assert_error(response, 400, "VALIDATION_ERROR", {"field": "file"})
    response = await client.post("/documents", json={"title": "T"})
    assert_error(response, 400, "VALIDATION_ERROR", {"field": "file"})


@pytest.mark.parametrize(
    "pdf",
    [b"", b"PK\x03\x04 a zip file", b"%PDF-" + b"x" * (50 * 1024 * 1024)],
    ids=["empty", "not-a-pdf", "over-50-MiB"],
)
async def test_invalid_files(client: httpx.AsyncClient, pdf: bytes) -> None:
    small = len(pdf) < 100  # one 50 MiB upload is enough
    for path in ["/documents", "/templates"] if small else ["/documents"]:
        response = await client.post(path, **upload({"title": "T"}, pdf))
        assert_error(response, 400, "INVALID_FILE")


async def test_malformed_multipart(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/documents",
        content=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data"},  # no boundary
    )
    assert_error(response, 400, "VALIDATION_ERROR", {"field": "body"})


async def test_recipients_are_listed_and_added_in_draft_only(
    client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document(signature=True)
    path = f"/documents/{document['id']}/recipients"
    added = await client.post(path, json={"name": "Bo", "email": "bo@example.com", "role": "CC"})
    assert added.status_code == 201
    assert added.json()["signingOrder"] is None
    listed = (await client.get(path)).json()["recipients"]
    assert [r["name"] for r in listed] == ["Ann Signer", "Bo"]

    await client.post(f"/documents/{document['id']}/send")
    late = await client.post(path, json={"name": "Cy", "email": "cy@example.com", "role": "CC"})
    assert_error(late, 400, "INVALID_DOCUMENT_STATUS", {"status": "PENDING"})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@example.com", "role": "SIGNER"}, "name"),
        ({"name": "A", "email": "a@", "role": "SIGNER"}, "email"),
        ({"name": "A", "email": "a@example.com"}, "role"),
        (
            {"name": "A", "email": "a@example.com", "role": "SIGNER", "signingOrder": "1"},
            "signingOrder",
        ),
    ],
)
async def test_recipient_validation(
    client: httpx.AsyncClient,
    create_document: CreateDocument,
    body: dict[str, Any],
    field: str,
) -> None:
    document = await create_document()
    response = await client.post(f"/documents/{document['id']}/recipients", json=body)
    assert_error(response, 400, "VALIDATION_ERROR", {"field": field})


async def test_json_bodies_must_be_objects(
    client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document()
    path = f"/documents/{document['id']}/recipients"
    for content in [b"", b"{not json", b"[1, 2]"]:
        response = await client.post(path, content=content)
        assert_error(response, 400, "VALIDATION_ERROR", {"field": "body"})


async def test_fields_only_on_existing_pages_and_own_recipients(
    client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document(pages=3)
    signer = document["recipients"][0]["id"]
    path = f"/documents/{document['id']}/fields"
    field = {"type": "TEXT", "page": 3, "x": 0, "y": 0.5, "width": 1, "height": 1}
    placed = await client.post(path, json=field | {"recipientId": signer})
    assert placed.status_code == 201
    assert placed.json() == {
        "id": placed.json()["id"],
        "documentId": document["id"],
        "recipientId": signer,
        "type": "TEXT",
        "page": 3,
        "x": 0,
        "y": 0.5,
        "width": 1,
        "height": 1,
        "inserted": False,
    }
    assert (await client.get(path)).json() == {"fields": [placed.json()]}

    beyond = await client.post(path, json=field | {"page": 4, "recipientId": signer})
    assert_error(beyond, 400, "VALIDATION_ERROR", {"field": "page"})
    stranger = await client.post(path, json=field | {"recipientId": signer + 100})
    assert_error(stranger, 400, "VALIDATION_ERROR", {"field": "recipientId"})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "STAMP"}, "type"),
        ({"page": 0}, "page"),
        ({"page": True}, "page"),
        ({"x": -1}, "x"),
        ({"y": "1"}, "y"),
        ({"width": 0}, "width"),
        ({"height": -2}, "height"),
        ({"recipientId": None}, "recipientId"),
    ],
)
async def test_field_validation(
    client: httpx.AsyncClient,
    create_document: CreateDocument,
    change: dict[str, Any],
    field: str,
) -> None:
    document = await create_document()
    body = {
        "type": "SIGNATURE",
        "page": 1,
        "x": 1,
        "y": 1,
        "width": 1,
        "height": 1,
        "recipientId": document["recipients"][0]["id"],
    }
    response = await client.post(f"/documents/{document['id']}/fields", json=body | change)
    assert_error(response, 400, "VALIDATION_ERROR", {"field": field})


async def test_send_needs_a_signature_field_per_signer(
    client: httpx.AsyncClient, create_document: CreateDocument, server: ReferenceServer
) -> None:
    document = await create_document()
    response = await client.post(f"/documents/{document['id']}/send")
    assert_error(response, 400, "VALIDATION_ERROR", {"field": "recipients[0]"})
    assert server.send_count(document["id"]) == 0
    assert server.document(document["id"])["status"] == "DRAFT"


async def test_send_only_from_draft(
    client: httpx.AsyncClient, create_document: CreateDocument, server: ReferenceServer
) -> None:
    document = await create_document(signature=True)
    first = await client.post(f"/documents/{document['id']}/send", json={"sendEmail": False})
    assert first.status_code == 200
    assert first.json()["recipients"][0]["sendStatus"] == "NOT_SENT"
    again = await client.post(f"/documents/{document['id']}/send")
    assert_error(again, 400, "INVALID_DOCUMENT_STATUS", {"status": "PENDING"})
    field = await client.post(
        f"/documents/{document['id']}/fields",
        json={
            "type": "SIGNATURE",
            "page": 1,
            "x": 1,
            "y": 1,
            "width": 1,
            "height": 1,
            "recipientId": document["recipients"][0]["id"],
        },
    )
    assert_error(field, 400, "INVALID_DOCUMENT_STATUS", {"status": "PENDING"})
    bad_flag = await client.post(f"/documents/{document['id']}/send", json={"sendEmail": "yes"})
    assert_error(bad_flag, 400, "VALIDATION_ERROR", {"field": "sendEmail"})
    assert server.send_count(document["id"]) == 1


async def test_duplicate_is_a_new_draft_with_copies(
    client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document(signature=True, pages=2)
    await client.post(f"/documents/{document['id']}/send")
    response = await client.post(f"/documents/{document['id']}/duplicate")
    assert response.status_code == 201
    copy = response.json()
    assert copy["id"] != document["id"]
    assert copy["status"] == "DRAFT"
    assert copy["title"] == document["title"]
    (recipient,) = copy["recipients"]
    assert recipient["id"] != document["recipients"][0]["id"]
    assert recipient["sendStatus"] == "NOT_SENT"
    fields = (await client.get(f"/documents/{copy['id']}/fields")).json()["fields"]
    assert [(f["recipientId"], f["type"]) for f in fields] == [(recipient["id"], "SIGNATURE")]
    assert (await client.post(f"/documents/{copy['id']}/send")).status_code == 200


async def test_embed_tokens(
    server: ReferenceServer, client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document()
    recipient = document["recipients"][0]["id"]
    path = f"/documents/{document['id']}/recipients/{recipient}/embed-token"
    response = await client.post(path)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "expiresAt", "embedUrl"}
    assert RFC3339_MS.fullmatch(body["expiresAt"])

    missing = await client.post(f"/documents/{document['id']}/recipients/999/embed-token")
    assert_error(missing, 404, "NOT_FOUND")

    free = server.create_token(server.create_team("Free", plan="free"))
    async with httpx.AsyncClient(
        transport=server.transport(), base_url=BASE_URL, headers={"Authorization": free}
    ) as http:
        own = await create_document(http=http)
        own_recipient = own["recipients"][0]["id"]
        response = await http.post(f"/documents/{own['id']}/recipients/{own_recipient}/embed-token")
        assert_error(response, 403, "PLAN_REQUIRED")
