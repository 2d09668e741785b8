"""Typed failures for every answer: a success that is not Pacta's JSON is a PactaError."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pacta_async import PactaClient, ResponseValidationError
from pacta_async.testing import Faults, ReferenceServer, make_pdf

from .support import Script, document, make_client

pytestmark = pytest.mark.anyio

LOGIN = b"<html><title>Sign in</title><form action=/login></form></html>"


def html(status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=LOGIN, headers={"Content-Type": "text/html"})


def without(key: str) -> dict[str, Any]:
    data = document(5)
    del data[key]
    return data


@pytest.mark.parametrize(
    ("reply", "problem", "field"),
    [
        (html(), "not JSON", None),
        (httpx.Response(200, content=b"\xff\xfe\x00"), "not JSON", None),
        (httpx.Response(200, content=b""), "not JSON", None),
        (httpx.Response(200, json=[document(5)]), "a JSON list, not an object", None),
        (httpx.Response(200, json="ok"), "a JSON str, not an object", None),
        (httpx.Response(200, json=without("recipients")), "missing", "recipients"),
        (httpx.Response(200, json=without("status")), "missing", "status"),
        (httpx.Response(200, json=document(5, createdAt="yesterday")), "isoformat", None),
        (httpx.Response(200, json=document(5, status=7)), "ValueError", None),
        (httpx.Response(200, json=document(5, recipients=None)), "TypeError", None),
        (httpx.Response(200, json=document(5, recipients=[{"id": 1}])), "missing", None),
        (httpx.Response(204), "not JSON", None),  # undocumented for GET
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_a_success_body_that_is_not_a_document(
    reply: httpx.Response, problem: str, field: str | None
) -> None:
    async with make_client(Script([reply])) as client:
        with pytest.raises(ResponseValidationError, match=problem) as caught:
            await client.documents.get(5)
    error = caught.value
    assert error.status_code == reply.status_code
    assert error.request.url.path == "/api/v1/documents/5"
    if field is not None:
        assert error.field == field
    assert "is not a valid Document" in str(error)


async def test_the_message_shows_the_status_content_type_and_a_snippet() -> None:
    async with make_client(Script([html()])) as client:
        with pytest.raises(ResponseValidationError) as caught:
            await client.documents.list()
    message = str(caught.value)
    assert message.startswith("HTTP 200 answer to GET /api/v1/documents is not a valid")
    assert "text/html" in message
    assert "<title>Sign in</title>" in message
    assert caught.value.response.content == LOGIN


@pytest.mark.parametrize("status", [200, 201, 202, 203])
async def test_undocumented_success_statuses_are_parsed(status: int) -> None:
    script = Script([httpx.Response(status, json=document(9))])
    async with make_client(script) as client:
        assert (await client.documents.duplicate(9)).id == 9  # documented: 201
        assert (await client.documents.get(9)).id == 9  # documented: 200


async def test_an_undocumented_success_that_is_not_json_is_typed_too() -> None:
    async with make_client(Script([html(202)])) as client:
        with pytest.raises(ResponseValidationError, match="HTTP 202"):
            await client.documents.duplicate(9)


@pytest.mark.parametrize("reply", [html(201), httpx.Response(201, json={"id": 1})])
async def test_an_upload_answered_by_something_else(reply: httpx.Response) -> None:
    async with make_client(Script([reply])) as client:
        with pytest.raises(ResponseValidationError, match="POST /api/v1/documents"):
            await client.documents.create(make_pdf(1), title="t")
        with pytest.raises(ResponseValidationError, match="Template"):
            await client.templates.create(make_pdf(1), title="t")


async def test_a_login_page_in_front_of_the_reference_server() -> None:
    server = ReferenceServer(faults=[Faults(login_page_rate=1.0)])
    token = server.create_token(server.create_team())
    async with PactaClient(
        token, base_url="http://localhost", transport=server.transport(), rate_limiter=None
    ) as client:
        with pytest.raises(ResponseValidationError, match="Sign in"):
            await client.documents.list()
        with pytest.raises(ResponseValidationError, match="not JSON"):
            [d async for d in client.documents.iter()]
        with pytest.raises(ResponseValidationError):
            await client.webhooks.list()
        with pytest.raises(ResponseValidationError):
            await client.documents.create(make_pdf(1), title="t")
        server.clear_faults()
        assert (await client.documents.list()).documents == []  # nothing got past the page
