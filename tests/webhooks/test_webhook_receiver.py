"""The example receiver (examples/webhook_receiver.py), in-process and over loopback."""

from __future__ import annotations

import logging
from types import ModuleType

import anyio
import httpx
import pytest
from starlette.types import Message

from pacta_async import DocumentCompleted, DocumentSigned, WebhookEvent

from .support import (
    RECEIVER_PATH,
    SECRET,
    Recorder,
    asgi_client,
    delivery_json,
    encode,
    serve_in_thread,
)

pytestmark = pytest.mark.anyio

HEADERS = {"X-Pacta-Secret": SECRET, "Content-Type": "application/json"}


async def post(client: httpx.AsyncClient, body: object, headers: object = HEADERS) -> int:
    content = body if isinstance(body, bytes) else encode(body)
    response = await client.post(RECEIVER_PATH, content=content, headers=headers)  # type: ignore[arg-type]
    return response.status_code


async def test_accepts_and_hands_the_event_to_the_handler(receiver: ModuleType) -> None:
    handler = Recorder()
    async with asgi_client(receiver.create_app(SECRET, handler)) as client:
        assert await post(client, delivery_json("DOCUMENT_SIGNED")) == 202
        assert await post(client, delivery_json("DOCUMENT_COMPLETED")) == 202
    # leaving the client shuts the app down, which drains the queue
    assert [type(e) for e in handler.events] == [DocumentSigned, DocumentCompleted]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Type": "application/json"}, 401),
        ({"X-Pacta-Secret": "whsec_wrong"}, 401),
        ({"X-Pacta-Secret": ""}, 401),
    ],
    ids=["missing", "wrong", "empty"],
)
async def test_rejects_a_bad_secret(
    receiver: ModuleType, headers: dict[str, str], status: int
) -> None:
    handler = Recorder()
    async with asgi_client(receiver.create_app(SECRET, handler)) as client:
        response = await client.post(
            RECEIVER_PATH, content=encode(delivery_json()), headers=headers
        )
    assert response.status_code == status
    assert SECRET not in response.text
    assert handler.events == []


@pytest.mark.parametrize("body", [b"{not json", b"[]", encode(delivery_json(payload={"id": 1}))])
async def test_rejects_a_bad_payload(receiver: ModuleType, body: bytes) -> None:
    handler = Recorder()
    async with asgi_client(receiver.create_app(SECRET, handler)) as client:
        assert await post(client, body) == 400
    assert handler.events == []


async def test_rejects_an_oversize_body(receiver: ModuleType) -> None:
    handler = Recorder()
    body = encode(delivery_json())
    app = receiver.create_app(SECRET, handler, max_body_bytes=len(body) - 1)
    async with asgi_client(app) as client:
        assert await post(client, body) == 413
    assert handler.events == []


async def test_stops_reading_a_body_that_grows_too_large(receiver: ModuleType) -> None:
    # No Content-Length, as with chunked encoding: the size is counted while reading.
    app = receiver.create_app(SECRET, Recorder(), max_body_bytes=1000)
    chunks = [{"type": "http.request", "body": b"x" * 300, "more_body": True}] * 10
    sent: list[Message] = []

    async def receive() -> Message:
        return chunks.pop()

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": RECEIVER_PATH,
        "raw_path": RECEIVER_PATH.encode(),
        "query_string": b"",
        "headers": [(b"x-pacta-secret", SECRET.encode())],
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert len(chunks) == 6  # four chunks read, the rest left alone


async def test_duplicate_deliveries_run_the_handler_once(receiver: ModuleType) -> None:
    handler = Recorder()
    async with asgi_client(receiver.create_app(SECRET, handler)) as client:
        for _ in range(3):
            assert await post(client, delivery_json()) == 202
        assert await post(client, delivery_json("DOCUMENT_COMPLETED")) == 202
    assert [e.event for e in handler.events] == ["DOCUMENT_SIGNED", "DOCUMENT_COMPLETED"]


async def test_failing_handler_is_logged_and_a_redelivery_runs_it_again(
    receiver: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[WebhookEvent] = []

    async def flaky(event: WebhookEvent) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("database is down")

    async with asgi_client(receiver.create_app(SECRET, flaky)) as client:
        assert await post(client, delivery_json()) == 202
        await anyio.wait_all_tasks_blocked()  # the first run failed
        assert await post(client, delivery_json()) == 202
    assert len(calls) == 2
    assert calls[0] == calls[1]
    assert "handler failed for DOCUMENT_SIGNED:42:" in caplog.text
    assert any(r.levelno == logging.ERROR for r in caplog.records)


async def test_answers_503_while_the_queue_is_full(receiver: ModuleType) -> None:
    started = anyio.Event()
    release = anyio.Event()
    handled: list[str] = []

    async def slow(event: WebhookEvent) -> None:
        started.set()
        await release.wait()
        handled.append(event.created_at.isoformat())

    def at(minute: int) -> dict[str, object]:
        return delivery_json(createdAt=f"2026-05-12T09:{minute:02}:00Z")

    async with asgi_client(receiver.create_app(SECRET, slow, queue_size=1)) as client:
        assert await post(client, at(1)) == 202
        await started.wait()  # the worker holds event 1; the queue is empty again
        assert await post(client, at(2)) == 202
        assert await post(client, at(3)) == 503  # Pacta will retry it later
        release.set()
        await anyio.wait_all_tasks_blocked()  # the worker emptied the queue
        assert len(handled) == 2
        assert await post(client, at(3)) == 202
    assert len(handled) == 3  # shutdown drains the queue


async def test_answers_503_when_not_running(receiver: ModuleType) -> None:
    app = receiver.create_app(SECRET, Recorder())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as client:
        assert await post(client, delivery_json()) == 503


async def test_over_loopback(receiver: ModuleType) -> None:
    handler = Recorder()
    with serve_in_thread(receiver.create_app(SECRET, handler)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            assert await post(client, delivery_json()) == 202
            assert await post(client, delivery_json()) == 202
            assert await post(client, delivery_json(), {"X-Pacta-Secret": "no"}) == 401
            assert await post(client, b"x" * (2 * 1024 * 1024)) == 413
            assert await post(client, delivery_json("DOCUMENT_COMPLETED")) == 202
            events = await handler.wait_for(2)
    assert [type(e) for e in events] == [DocumentSigned, DocumentCompleted]
