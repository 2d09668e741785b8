"""End to end: the reference server delivers over loopback to the example receiver.

Both run on uvicorn in their own threads; the test drives the reference server with
plain httpx calls to its REST API and its control API, as a user's system and its
signers would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from types import ModuleType

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
)
from pacta_async.testing import Backoff, Delivery, ReferenceServer, make_pdf

from .support import RECEIVER_PATH, SECRET, Recorder, serve_in_thread

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
LIFECYCLE = [DocumentCreated, DocumentSent, DocumentOpened, DocumentSigned, DocumentCompleted]


@pytest.fixture
def anyio_backend() -> str:
    # Server and receiver run on their own threads; the test only makes HTTP calls.
    return "asyncio"


@pytest.fixture
def pacta() -> Iterator[tuple[ReferenceServer, str]]:
    """A reference server retrying failed deliveries within milliseconds."""
    server = ReferenceServer(webhook_backoff=Backoff(base=0.01, cap=0.05, give_up_after=60))
    with server.serve_in_thread() as base_url:
        yield server, base_url


@asynccontextmanager
async def api(pacta: tuple[ReferenceServer, str]) -> AsyncIterator[httpx.AsyncClient]:
    server, base_url = pacta
    token = server.create_token(server.create_team())
    headers = {"Authorization": token}
    async with httpx.AsyncClient(base_url=base_url, headers=headers) as client:
        yield client


async def subscribe(client: httpx.AsyncClient, url: str, secret: str) -> str:
    response = await client.post(
        "/webhooks", json={"webhookUrl": url, "eventTriggers": ALL_EVENTS, "secret": secret}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def create_document(client: httpx.AsyncClient) -> tuple[int, int]:
    """A DRAFT with one signer and their signature field: (document id, recipient id)."""
    response = await client.post(
        "/documents",
        files={"file": ("contract.pdf", make_pdf(), "application/pdf")},
        data={
            "title": "Q4 vendor agreement",
            "recipients[0][name]": "John Doe",
            "recipients[0][email]": "john@acme.com",
            "recipients[0][role]": "SIGNER",
        },
    )
    assert response.status_code == 201, response.text
    document = response.json()
    document_id, recipient_id = document["id"], document["recipients"][0]["id"]
    response = await client.post(
        f"/documents/{document_id}/fields",
        json={
            "type": "SIGNATURE",
            "page": 1,
            "x": 72,
            "y": 600,
            "width": 200,
            "height": 40,
            "recipientId": recipient_id,
        },
    )
    assert response.status_code == 201, response.text
    return document_id, recipient_id


async def run_lifecycle(pacta: tuple[ReferenceServer, str], receiver_url: str) -> int:
    """Subscribe, then create, send, open and sign a document; returns its id."""
    server, _ = pacta
    async with api(pacta) as client:
        await subscribe(client, receiver_url, SECRET)
        document_id, recipient_id = await create_document(client)
        response = await client.post(f"/documents/{document_id}/send", json={"sendEmail": True})
        assert response.status_code == 200, response.text
    server.open_document(document_id, recipient_id)
    server.sign(document_id, recipient_id)
    return document_id


async def settled(server: ReferenceServer, count: int) -> list[Delivery]:
    """Wait until `count` deliveries exist and none is pending any more."""
    with anyio.fail_after(10):
        while True:
            deliveries = server.deliveries()
            if len(deliveries) >= count and all(d.status != "pending" for d in deliveries):
                return deliveries
            await anyio.sleep(0.01)


def check_lifecycle(handler: Recorder, document_id: int) -> None:
    events = handler.events
    assert [type(e) for e in events] == LIFECYCLE
    assert {e.document.id for e in events} == {document_id}
    assert [e.document.status for e in events] == [
        "DRAFT",
        "PENDING",
        "PENDING",
        "PENDING",
        "COMPLETED",
    ]
    assert [e.created_at for e in events] == sorted(e.created_at for e in events)
    assert len({e.dedup_key for e in events}) == len(events)


async def test_receiver_sees_each_event_once_in_order(
    receiver: ModuleType, pacta: tuple[ReferenceServer, str]
) -> None:
    server, _ = pacta
    handler = Recorder()
    with serve_in_thread(receiver.create_app(SECRET, handler)) as url:
        document_id = await run_lifecycle(pacta, url + RECEIVER_PATH)
        deliveries = await settled(server, len(LIFECYCLE))
    # Leaving the block shut the receiver down, which drained its queue.
    assert [(d.status, d.attempts, d.last_status_code) for d in deliveries] == [
        ("delivered", 1, 202)
    ] * len(LIFECYCLE)
    check_lifecycle(handler, document_id)


@pytest.mark.parametrize("secret", ["whsec_wrong", ""], ids=["wrong", "none"])
async def test_a_delivery_without_the_right_secret_is_refused(
    receiver: ModuleType, pacta: tuple[ReferenceServer, str], secret: str
) -> None:
    server, _ = pacta
    handler = Recorder()
    with serve_in_thread(receiver.create_app(SECRET, handler)) as url:
        async with api(pacta) as client:
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
    with serve_in_thread(app) as url:  # type: ignore[arg-type]
        document_id = await run_lifecycle(pacta, url + RECEIVER_PATH)
        deliveries = await settled(server, len(LIFECYCLE))
    assert [(d.status, d.attempts) for d in deliveries] == [("delivered", 2)] + [
        ("delivered", 1)
    ] * (len(LIFECYCLE) - 1)
    assert deliveries[0].last_status_code == 202
    check_lifecycle(handler, document_id)
