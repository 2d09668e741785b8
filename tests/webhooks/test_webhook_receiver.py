"""The example receiver (examples/webhook_receiver.py), in-process and over loopback."""

from __future__ import annotations

import logging
from types import ModuleType

import anyio
import httpx
import pytest
from starlette.types import Message

from pacta_async import DocumentCompleted, DocumentSigned, WebhookDeduplicator, WebhookEvent
from pacta_async.testing import build_webhook_delivery, serve_app_in_thread

from .support import (
    RECEIVER_PATH,
    SECRET,
    Recorder,
    asgi_client,
    delivery_json,
    encode,
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
        assert await post(client, delivery_json("DOCUMENT_SIGNED")) == 200
        assert await post(client, delivery_json("DOCUMENT_COMPLETED")) == 200
        # answered 200 only once handled
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


async def test_retries_with_new_created_at_run_the_handler_once(receiver: ModuleType) -> None:
    handler = Recorder()
    first = build_webhook_delivery(secret=SECRET)
    async with asgi_client(receiver.create_app(SECRET, handler)) as client:
        for n in range(3):
            retry = first.retried(f"2026-05-12T09:4{n}:00.000Z")
            response = await client.post(RECEIVER_PATH, content=retry.body, headers=retry.headers)
            assert response.status_code == 200
        assert await post(client, delivery_json("DOCUMENT_COMPLETED")) == 200
    assert [e.event for e in handler.events] == ["DOCUMENT_SIGNED", "DOCUMENT_COMPLETED"]


async def test_a_failing_handler_answers_500_and_the_retry_runs_it_again(
    receiver: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[WebhookEvent] = []

    async def flaky(event: WebhookEvent) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("database is down")

    async with asgi_client(receiver.create_app(SECRET, flaky)) as client:
        assert await post(client, delivery_json()) == 500
        assert await post(client, delivery_json()) == 200
        assert await post(client, delivery_json()) == 200
    assert len(calls) == 2
    assert calls[0] == calls[1]
    assert "handler failed for DOCUMENT_SIGNED:42:" in caplog.text
    assert any(r.levelno == logging.ERROR for r in caplog.records)


@pytest.mark.parametrize("first_run_fails", [False, True], ids=["succeeds", "fails"])
async def test_a_retry_during_a_slow_run_is_not_acknowledged(
    receiver: ModuleType, first_run_fails: bool
) -> None:
    """Case 2: the first run outlasts the answer; a retry meanwhile must not get a 2xx."""
    release = anyio.Event()
    effects: list[WebhookEvent] = []
    runs = 0

    async def slow(event: WebhookEvent) -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            await release.wait()
            if first_run_fails:
                raise RuntimeError("lost the database connection")
        effects.append(event)

    app = receiver.create_app(SECRET, slow, answer_within=0.05)
    async with asgi_client(app) as client:
        assert await post(client, delivery_json()) == 503  # still running: try later
        assert await post(client, delivery_json()) == 409  # the retry: in progress
        release.set()
        await anyio.wait_all_tasks_blocked()
        assert await post(client, delivery_json()) == 200  # done, or run again and done
        assert await post(client, delivery_json()) == 200
    assert len(effects) == 1
    assert runs == (2 if first_run_fails else 1)


async def test_answers_503_while_too_many_handlers_run(receiver: ModuleType) -> None:
    release = anyio.Event()
    handled: list[WebhookEvent] = []

    async def slow(event: WebhookEvent) -> None:
        await release.wait()
        handled.append(event)

    app = receiver.create_app(SECRET, slow, answer_within=0.01, max_running=1)
    async with asgi_client(app) as client:
        assert await post(client, delivery_json()) == 503
        response = await client.post(
            RECEIVER_PATH, content=encode(delivery_json("DOCUMENT_COMPLETED")), headers=HEADERS
        )
        assert (response.status_code, response.headers["retry-after"]) == (503, "10")
        release.set()
        await anyio.wait_all_tasks_blocked()
        assert await post(client, delivery_json("DOCUMENT_COMPLETED")) == 200
    assert [e.event for e in handled] == ["DOCUMENT_SIGNED", "DOCUMENT_COMPLETED"]


async def test_shutdown_cancels_a_running_handler_and_frees_the_event(receiver: ModuleType) -> None:
    dedup = WebhookDeduplicator()

    async def forever(event: WebhookEvent) -> None:
        await anyio.sleep_forever()

    async with asgi_client(
        receiver.create_app(SECRET, forever, answer_within=0.01, dedup=dedup)
    ) as client:
        assert await post(client, delivery_json()) == 503
    handler = Recorder()
    async with asgi_client(receiver.create_app(SECRET, handler, dedup=dedup)) as client:
        assert await post(client, delivery_json()) == 200  # new again: run now
    assert len(handler.events) == 1


async def test_answers_503_when_not_running(receiver: ModuleType) -> None:
    app = receiver.create_app(SECRET, Recorder())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as client:
        assert await post(client, delivery_json()) == 503


async def test_over_loopback(receiver: ModuleType) -> None:
    handler = Recorder()
    with serve_app_in_thread(receiver.create_app(SECRET, handler)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            assert await post(client, delivery_json()) == 200
            assert await post(client, delivery_json()) == 200
            assert await post(client, delivery_json(), {"X-Pacta-Secret": "no"}) == 401
            assert await post(client, b"x" * (2 * 1024 * 1024)) == 413
            assert await post(client, delivery_json("DOCUMENT_COMPLETED")) == 200
            events = await handler.wait_for(2)
    assert [type(e) for e in events] == [DocumentSigned, DocumentCompleted]
