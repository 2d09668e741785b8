"""End to end: the reference server delivers over loopback to the example receiver.

Both run on uvicorn in their own threads (or the server in its own process); the
test drives the server with plain httpx calls to its REST API and its control API,
as a user's system and its signers would. Deliveries are retried, duplicated (lost
2xx answers) and carry a new `createdAt` per attempt, as Pacta's do.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pacta_async import (
    DocumentCompleted,
    DocumentCreated,
    DocumentOpened,
    DocumentSent,
    DocumentSigned,
    WebhookEvent,
)
from pacta_async.testing import (
    Backoff,
    Delivery,
    ReferenceServer,
    WebhookFaults,
    make_pdf,
    serve_app_in_thread,
)

from .support import RECEIVER_PATH, SECRET, Recorder

pytestmark = pytest.mark.anyio

ALL_EVENTS = [
    "DOCUMENT_CREATED",
    "DOCUMENT_SENT",
    "DOCUMENT_OPENED",
    "DOCUMENT_SIGNED",
    "DOCUMENT_COMPLETED",
    "DOCUMENT_REJECTED",
    "DOCUMENT_CANCELLED",
]
# Create, send, the first signer opens; then both sign in one millisecond ("complete").
LIFECYCLE = [
    DocumentCreated,
    DocumentSent,
    DocumentOpened,
    DocumentSigned,
    DocumentOpened,
    DocumentSigned,
    DocumentCompleted,
]
EVENT_NAMES = [
    "DOCUMENT_CREATED",
    "DOCUMENT_SENT",
    "DOCUMENT_OPENED",
    "DOCUMENT_SIGNED",
    "DOCUMENT_OPENED",
    "DOCUMENT_SIGNED",
    "DOCUMENT_COMPLETED",
]
BURST = slice(3, 7)  # the events of `complete`: one createdAt on their first attempts
DUPLICATES = WebhookFaults(duplicate_rate=0.5, seed=14)


@pytest.fixture
def anyio_backend() -> str:
    # Server and receiver run on their own threads; the test only makes HTTP calls.
    return "asyncio"


def reference_server(**options: Any) -> ReferenceServer:
    """Retries within milliseconds, half the 2xx answers lost (so delivered again)."""
    backoff = Backoff(base=0.01, cap=0.05, give_up_after=60)
    return ReferenceServer(webhook_backoff=backoff, webhook_faults=DUPLICATES, **options)


@pytest.fixture
def pacta() -> Iterator[tuple[ReferenceServer, str]]:
    server = reference_server()
    with server.serve_in_thread() as base_url:
        yield server, base_url


@asynccontextmanager
async def api(base_url: str, token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": token}) as client:
        yield client


@asynccontextmanager
async def team_api(pacta: tuple[ReferenceServer, str]) -> AsyncIterator[httpx.AsyncClient]:
    server, base_url = pacta
    async with api(base_url, server.create_token(server.create_team())) as client:
        yield client


async def subscribe(client: httpx.AsyncClient, url: str, secret: str) -> str:
    response = await client.post(
        "/webhooks", json={"webhookUrl": url, "eventTriggers": ALL_EVENTS, "secret": secret}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def create_document(client: httpx.AsyncClient) -> tuple[int, list[int]]:
    """A DRAFT with two signers and their signature fields: (document id, recipient ids)."""
    data = {"title": "Q4 vendor agreement"}
    for i, name in enumerate(["John", "Ann"]):
        data[f"recipients[{i}][name]"] = name
        data[f"recipients[{i}][email]"] = f"{name.lower()}@acme.com"
        data[f"recipients[{i}][role]"] = "SIGNER"
    files = {"file": ("contract.pdf", make_pdf(), "application/pdf")}
    response = await client.post("/documents", files=files, data=data)
    assert response.status_code == 201, response.text
    document = response.json()
    recipients = [r["id"] for r in document["recipients"]]
    for recipient_id in recipients:
        field = {"type": "SIGNATURE", "page": 1, "x": 72, "y": 600, "width": 200, "height": 40}
        response = await client.post(
            f"/documents/{document['id']}/fields", json={**field, "recipientId": recipient_id}
        )
        assert response.status_code == 201, response.text
    return document["id"], recipients


async def send(client: httpx.AsyncClient, document_id: int) -> None:
    response = await client.post(f"/documents/{document_id}/send", json={"sendEmail": True})
    assert response.status_code == 200, response.text


async def run_lifecycle(pacta: tuple[ReferenceServer, str], receiver_url: str) -> int:
    """Subscribe, create, send; one signer opens, then both sign at once. Returns the id."""
    server, _ = pacta
    async with team_api(pacta) as client:
        await subscribe(client, receiver_url, SECRET)
        document_id, recipients = await create_document(client)
        await send(client, document_id)
    server.open_document(document_id, recipients[0])
    server.complete(document_id)
    return document_id


async def settled(server: ReferenceServer, count: int, timeout: float = 20) -> list[Delivery]:
    """Wait until `count` deliveries exist and none is pending any more."""
    with anyio.fail_after(timeout):
        while True:
            deliveries = server.deliveries()
            if len(deliveries) >= count and all(d.status != "pending" for d in deliveries):
                return deliveries
            await anyio.sleep(0.01)


def check_lifecycle(events: list[WebhookEvent], document_id: int) -> None:
    """Each event of the lifecycle handled exactly once, in order."""
    assert [type(e) for e in events] == LIFECYCLE
    assert {e.document.id for e in events} == {document_id}
    statuses = [e.document.status for e in events]
    assert statuses == ["DRAFT"] + ["PENDING"] * 5 + ["COMPLETED"]
    assert len({e.dedup_key for e in events}) == len(events)


def check_deliveries(deliveries: list[Delivery]) -> None:
    """Every event delivered, some more than once, each attempt with its own createdAt."""
    assert [d.status for d in deliveries] == ["delivered"] * len(LIFECYCLE)
    assert sum(d.attempts for d in deliveries) > len(deliveries)  # retries and duplicates
    for delivery in deliveries:
        assert len(set(delivery.attempt_created_at)) == delivery.attempts
    burst = {d.attempt_created_at[0] for d in deliveries[BURST]}
    assert len(burst) == 1  # four distinct events, one millisecond


async def test_each_event_is_handled_once_under_retries_and_duplicates(
    receiver: ModuleType, pacta: tuple[ReferenceServer, str]
) -> None:
    server, _ = pacta
    handler = Recorder()
    with serve_app_in_thread(receiver.create_app(SECRET, handler)) as url:
        document_id = await run_lifecycle(pacta, url + RECEIVER_PATH)
        deliveries = await settled(server, len(LIFECYCLE))
    check_deliveries(deliveries)
    assert all(d.last_status_code == 200 for d in deliveries)
    check_lifecycle(handler.events, document_id)


@pytest.mark.parametrize("secret", ["whsec_wrong", ""], ids=["wrong", "none"])
async def test_a_delivery_without_the_right_secret_is_refused(
    receiver: ModuleType, pacta: tuple[ReferenceServer, str], secret: str
) -> None:
    server, _ = pacta
    handler = Recorder()
    with serve_app_in_thread(receiver.create_app(SECRET, handler)) as url:
        async with team_api(pacta) as client:
            await subscribe(client, url + RECEIVER_PATH, secret)
            await create_document(client)
        with anyio.fail_after(10):
            while server.deliveries()[0].attempts < 3:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        (delivery,) = server.deliveries()
    assert delivery.status == "pending"  # refused, so Pacta keeps retrying
    assert delivery.last_status_code == 401
    assert handler.events == []


class FailFirst:
    """Answers the first delivery with 500: after handling it (the 2xx is lost), or before."""

    def __init__(self, app: ASGIApp, *, after_handling: bool) -> None:
        self.app = app
        self.after_handling = after_handling
        self.failed = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.failed:
            await self.app(scope, receive, send)
            return
        self.failed = True
        if not self.after_handling:
            await PlainTextResponse("try again", status_code=500)(scope, receive, send)
            return

        async def replace_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "status": 500}
            await send(message)

        await self.app(scope, receive, replace_status)


@pytest.mark.parametrize("after_handling", [True, False], ids=["ack-lost", "failed"])
async def test_a_retried_delivery_is_handled_once(
    receiver: ModuleType, pacta: tuple[ReferenceServer, str], after_handling: bool
) -> None:
    server, _ = pacta
    handler = Recorder()
    app = FailFirst(receiver.create_app(SECRET, handler), after_handling=after_handling)
    with serve_app_in_thread(app) as url:
        document_id = await run_lifecycle(pacta, url + RECEIVER_PATH)
        deliveries = await settled(server, len(LIFECYCLE))
    assert deliveries[0].attempts >= 2
    check_deliveries(deliveries)
    check_lifecycle(handler.events, document_id)


@pytest.mark.parametrize("first_run_fails", [False, True], ids=["succeeds", "fails"])
async def test_a_first_run_slower_than_pacta_timeout_has_one_effect(
    receiver: ModuleType, first_run_fails: bool
) -> None:
    """Case 2 over HTTP: Pacta gives up on the first attempt and retries during the run."""
    server = reference_server(webhook_timeout=0.3)
    effects: list[WebhookEvent] = []
    runs = 0

    async def slow_first(event: WebhookEvent) -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            await anyio.sleep(1.0)  # Pacta's timeout (0.3 s here) passes meanwhile
            if first_run_fails:
                raise RuntimeError("the archive was unreachable")
        effects.append(event)

    app = receiver.create_app(SECRET, slow_first, answer_within=5.0)  # over the timeout
    with server.serve_in_thread() as base_url, serve_app_in_thread(app) as url:
        document_id = await run_lifecycle((server, base_url), url + RECEIVER_PATH)
        deliveries = await settled(server, len(LIFECYCLE))
    created = deliveries[0]
    assert created.attempts >= 3  # timed out, then 409 while the first run went on
    assert created.status == "delivered"
    check_lifecycle(effects, document_id)
    assert runs == len(LIFECYCLE) + (1 if first_run_fails else 0)


class Gate:
    """Answers 503 until opened (Pacta keeps retrying); records each delivery's secret."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.opened = threading.Event()
        self.secrets: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            self.secrets.append(headers.get(b"x-pacta-secret", b"").decode())
            if not self.opened.is_set():
                await PlainTextResponse("later", status_code=503)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def test_retries_signed_with_a_rotated_out_secret_are_accepted(
    receiver: ModuleType, pacta: tuple[ReferenceServer, str]
) -> None:
    """Case 4: the secret is rotated while a delivery is still being retried."""
    server, _ = pacta
    old, new = "whsec_old_1b7c", "whsec_new_9d2e"
    handler = Recorder()
    gate = Gate(receiver.create_app([new, old], handler))
    with serve_app_in_thread(gate) as url:
        async with team_api(pacta) as client:
            webhook_id = await subscribe(client, url + RECEIVER_PATH, old)
            document_id, _ = await create_document(client)  # DOCUMENT_CREATED, old secret
            response = await client.patch(f"/webhooks/{webhook_id}", json={"secret": new})
            assert response.status_code == 200, response.text
            await send(client, document_id)  # DOCUMENT_SENT, new secret
            gate.opened.set()
            deliveries = await settled(server, 2)
    assert [d.status for d in deliveries] == ["delivered"] * 2
    assert [type(e) for e in handler.events] == [DocumentCreated, DocumentSent]
    assert gate.secrets[0] == old
    assert set(gate.secrets) == {old, new}


def start_standalone_server(*options: str) -> tuple[subprocess.Popen[str], str, str]:
    """`python -m pacta_async.testing` on a free port: (process, base URL, token)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pacta_async.testing", "--port", "0", *options],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    base_url = token = ""
    for line in process.stdout:
        if line.startswith("Pacta reference server at "):
            base_url = line.split(" at ", 1)[1].strip()
        if line.startswith("Token (Authorization header): "):
            token = line.split(": ", 1)[1].strip()
            break
    assert base_url
    assert token
    return process, base_url, token


@pytest.fixture
def standalone() -> Iterator[tuple[str, str]]:
    """A reference server process with retries in milliseconds and duplicates on."""
    process, base_url, token = start_standalone_server(
        *("--webhook-retry-base", "0.01", "--webhook-retry-cap", "0.05"),
        *("--webhook-duplicate-rate", "0.5", "--seed", "14"),
    )
    try:
        yield base_url, token
    finally:
        process.terminate()  # by its own handle
        process.wait(timeout=10)


async def test_a_standalone_server_process_driven_by_its_http_control_api(
    receiver: ModuleType, standalone: tuple[str, str]
) -> None:
    base_url, token = standalone
    control = base_url.removesuffix("/api/v1") + "/_control"
    handler = Recorder()
    with serve_app_in_thread(receiver.create_app(SECRET, handler)) as url:
        async with api(base_url, token) as client:
            await subscribe(client, url + RECEIVER_PATH, SECRET)
            document_id, recipients = await create_document(client)
            await send(client, document_id)
            sign = f"{control}/documents/{document_id}/sign"
            response = await client.post(sign, json={"recipientId": recipients[0]})
            assert response.status_code == 200, response.text
            assert response.json()["recipients"][0]["signingStatus"] == "SIGNED"
            response = await client.post(f"{control}/documents/{document_id}/complete")
            assert response.json()["status"] == "COMPLETED"
            with anyio.fail_after(20):
                while True:
                    found = (await client.get(f"{control}/deliveries")).json()["deliveries"]
                    if len(found) == len(LIFECYCLE) and all(
                        d["status"] == "delivered" for d in found
                    ):
                        break
                    await anyio.sleep(0.02)
            other = {"Authorization": "api_" + "0" * 32}
            response = await client.post(
                f"{control}/documents/{document_id}/complete", headers=other
            )
            assert response.status_code == 401
    assert [d["event"] for d in found] == EVENT_NAMES
    assert sum(d["attempts"] for d in found) > len(found)  # duplicates were delivered
    check_lifecycle(handler.events, document_id)
