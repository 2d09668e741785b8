"""Webhook deliveries over real HTTP to a loopback receiver, with retries."""

from __future__ import annotations

import socket
from typing import Any

import anyio
import httpx
import pytest

from pacta_async.testing import Backoff, ReferenceServer, make_pdf

from .conftest import BASE_URL, Receiver, wait_until

pytestmark = pytest.mark.anyio

FAST = Backoff(base=0.01, cap=0.04, give_up_after=5.0)
EVERY_EVENT = [
    "DOCUMENT_CREATED",
    "DOCUMENT_SENT",
    "DOCUMENT_OPENED",
    "DOCUMENT_SIGNED",
    "DOCUMENT_COMPLETED",
    "DOCUMENT_REJECTED",
    "DOCUMENT_CANCELLED",
]


@pytest.fixture
def server() -> ReferenceServer:
    """Real time: deliveries wait on real sockets, and backoff is milliseconds."""
    return ReferenceServer(webhook_backoff=FAST)


async def subscribe(
    client: httpx.AsyncClient, url: str, events: list[str] = EVERY_EVENT, **extra: Any
) -> str:
    response = await client.post(
        "/webhooks", json={"webhookUrl": url, "eventTriggers": events, **extra}
    )
    assert response.status_code == 201, response.text
    webhook_id: str = response.json()["id"]
    return webhook_id


async def sent_document(client: httpx.AsyncClient) -> tuple[int, int]:
    """A document with one signer, sent: (document id, recipient id)."""
    response = await client.post(
        "/documents",
        data={
            "title": "T",
            "recipients[0][name]": "A",
            "recipients[0][email]": "a@example.com",
            "recipients[0][role]": "SIGNER",
        },
        files={"file": ("a.pdf", make_pdf(), "application/pdf")},
    )
    document = response.json()
    recipient = document["recipients"][0]["id"]
    await client.post(
        f"/documents/{document['id']}/fields",
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
    assert (await client.post(f"/documents/{document['id']}/send")).status_code == 200
    return document["id"], recipient


async def test_a_documents_life_is_delivered_in_order(
    server: ReferenceServer, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    async with server.running():
        await subscribe(client, receiver.url, secret="s3cret")
        document_id, recipient = await sent_document(client)
        server.open_document(document_id, recipient)
        server.sign(document_id, recipient)
        expected = EVERY_EVENT[:5]
        await wait_until(lambda: [d.status for d in server.deliveries()] == ["delivered"] * 5)
    assert receiver.events() == expected
    statuses = [body["payload"]["status"] for _, body in receiver.received]
    assert statuses == ["DRAFT", "PENDING", "PENDING", "PENDING", "COMPLETED"]
    headers, body = receiver.received[0]
    assert headers["x-pacta-secret"] == "s3cret"
    assert headers["content-type"] == "application/json"
    assert set(body) == {"event", "payload", "createdAt", "webhookEndpoint"}
    assert body["webhookEndpoint"] == receiver.url
    assert body["payload"]["id"] == document_id


async def test_failed_deliveries_are_retried_in_order(
    server: ReferenceServer, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503, 404]
    async with server.running():
        await subscribe(client, receiver.url)
        await sent_document(client)
        await wait_until(lambda: [d.status for d in server.deliveries()] == ["delivered"] * 2)
    assert receiver.events() == ["DOCUMENT_CREATED"] * 4 + ["DOCUMENT_SENT"]
    created, sent = server.deliveries()
    assert (created.attempts, created.last_status_code) == (4, 200)
    assert (sent.attempts, sent.event) == (1, "DOCUMENT_SENT")
    assert receiver.received[0][0]["x-pacta-secret"] == ""  # no secret set


async def test_unreachable_webhooks_are_retried_then_given_up(client: httpx.AsyncClient) -> None:
    with socket.socket() as sock:  # a loopback port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ReferenceServer(webhook_backoff=Backoff(base=0.01, cap=0.02, give_up_after=0.1))
    token = server.create_token(server.create_team())
    async with (
        httpx.AsyncClient(
            transport=server.transport(), base_url=BASE_URL, headers={"Authorization": token}
        ) as http,
        server.running(),
    ):
        await subscribe(http, f"http://127.0.0.1:{port}/hook", ["DOCUMENT_CREATED"])
        await sent_document(http)
        await wait_until(lambda: server.deliveries()[0].status == "failed")
    (delivery,) = server.deliveries()
    assert delivery.attempts >= 3
    assert delivery.last_status_code is None


async def test_only_subscribed_enabled_webhooks_of_the_team_get_events(
    server: ReferenceServer, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    other = server.create_token(server.create_team("Other"))
    async with (
        httpx.AsyncClient(
            transport=server.transport(), base_url=BASE_URL, headers={"Authorization": other}
        ) as other_client,
        server.running(),
    ):
        await subscribe(other_client, receiver.url + "?team=other")
        await subscribe(client, receiver.url + "?disabled", enabled=False)
        await subscribe(client, receiver.url, ["DOCUMENT_CANCELLED"])
        document_id, _ = await sent_document(client)
        server.cancel(document_id)
        await wait_until(lambda: len(receiver.received) == 1)
        await anyio.sleep(0.05)  # nothing else arrives
    assert receiver.events() == ["DOCUMENT_CANCELLED"]
    assert receiver.received[0][1]["payload"]["status"] == "CANCELLED"


async def test_events_before_the_worker_starts_wait_for_it(
    server: ReferenceServer, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await subscribe(client, receiver.url, ["DOCUMENT_SENT", "DOCUMENT_REJECTED"])
    document_id, recipient = await sent_document(client)
    server.reject(document_id, recipient)
    assert [d.status for d in server.deliveries()] == ["pending", "pending"]
    async with server.running():
        await wait_until(lambda: len(receiver.received) == 2)
        with pytest.raises(RuntimeError, match="already running"):
            async with server.running():
                pass
    assert receiver.events() == ["DOCUMENT_SENT", "DOCUMENT_REJECTED"]


async def test_deliveries_from_a_server_in_a_thread(receiver: Receiver) -> None:
    server = ReferenceServer(webhook_backoff=FAST)
    token = server.create_token(server.create_team())
    receiver.statuses = [502]
    with server.serve_in_thread() as base_url:
        async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": token}) as http:
            await subscribe(http, receiver.url)
            document_id, recipient = await sent_document(http)
            server.sign(document_id, recipient)  # from this thread: wakes the server's worker
            await wait_until(lambda: len(receiver.received) == 6)
    assert receiver.events() == ["DOCUMENT_CREATED", *EVERY_EVENT[:5]]
