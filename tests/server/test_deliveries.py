"""Webhook deliveries over real HTTP to a loopback receiver, with retries."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pacta_async.testing import ApiError, Backoff, ReferenceServer, WebhookFaults, make_pdf

from .conftest import BASE_URL, Receiver, serve_app_in_thread, wait_until

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


# -- as Pacta delivers: per-attempt createdAt, bursts, the timeout, duplicates ------


def raw_bodies(receiver: Receiver) -> list[dict[str, Any]]:
    return [body for _, body in receiver.received]


async def test_every_retry_carries_its_own_created_at_and_the_same_payload(
    server: ReferenceServer, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.statuses = [500, 500]
    async with server.running():
        await subscribe(client, receiver.url, ["DOCUMENT_CREATED"])
        await sent_document(client)
        await wait_until(lambda: server.deliveries()[0].status == "delivered")
    bodies = raw_bodies(receiver)
    assert len(bodies) == 3
    assert len({body["createdAt"] for body in bodies}) == 3
    assert all(body["payload"] == bodies[0]["payload"] for body in bodies)
    (delivery,) = server.deliveries()
    assert list(delivery.attempt_created_at) == [body["createdAt"] for body in bodies]
    assert delivery.attempt_created_at[0] == delivery.body["createdAt"]  # the event's time
    # Retries come back re-serialised, keys in jsonb order (shorter first).
    jsonb_order = sorted(bodies[0]["payload"], key=lambda key: (len(key), key))
    assert list(bodies[1]["payload"]) == jsonb_order != list(bodies[0]["payload"])


async def test_one_action_publishes_a_burst_in_one_millisecond(
    server: ReferenceServer, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    response = await client.post(
        "/documents",
        data={
            **{f"recipients[{i}][name]": f"S{i}" for i in range(3)},
            **{f"recipients[{i}][email]": f"s{i}@example.com" for i in range(3)},
            **{f"recipients[{i}][role]": "SIGNER" for i in range(3)},
            "title": "T",
        },
        files={"file": ("a.pdf", make_pdf(), "application/pdf")},
    )
    document = response.json()
    for recipient in document["recipients"]:
        field = {"type": "SIGNATURE", "page": 1, "x": 1, "y": 1, "width": 1, "height": 1}
        await client.post(
            f"/documents/{document['id']}/fields", json={**field, "recipientId": recipient["id"]}
        )
    await client.post(f"/documents/{document['id']}/send")
    async with server.running():
        await subscribe(client, receiver.url, ["DOCUMENT_SIGNED", "DOCUMENT_COMPLETED"])
        server.complete(document["id"])
        await wait_until(lambda: len(receiver.received) == 4)
    bodies = raw_bodies(receiver)
    assert [b["event"] for b in bodies] == ["DOCUMENT_SIGNED"] * 3 + ["DOCUMENT_COMPLETED"]
    assert len({b["createdAt"] for b in bodies}) == 1
    signed = [b["payload"] for b in bodies[:3]]
    assert len({json.dumps(p, sort_keys=True) for p in signed}) == 3  # distinct events
    with pytest.raises(ApiError, match="INVALID_DOCUMENT_STATUS"):
        server.complete(document["id"])


async def test_an_attempt_unanswered_within_the_timeout_fails_and_is_retried() -> None:
    arrivals: list[float] = []

    async def slow_then_fast(request: Request) -> Response:
        arrivals.append(time.monotonic())
        if len(arrivals) == 1:
            await anyio.sleep(2)  # still "handling" when Pacta gives up
        return Response(status_code=200)

    app = Starlette(routes=[Route("/hook", slow_then_fast, methods=["POST"])])
    server = ReferenceServer(webhook_backoff=FAST, webhook_timeout=0.2)
    token = server.create_token(server.create_team())
    with serve_app_in_thread(app) as origin:
        async with (
            httpx.AsyncClient(
                transport=server.transport(), base_url=BASE_URL, headers={"Authorization": token}
            ) as http,
            server.running(),
        ):
            await subscribe(http, f"{origin}/hook", ["DOCUMENT_CREATED"])
            await sent_document(http)
            await wait_until(lambda: server.deliveries()[0].status == "delivered")
    (delivery,) = server.deliveries()
    assert delivery.attempts == 2
    assert 0.2 <= arrivals[1] - arrivals[0] < 1.5  # retried while the first was running


async def test_lost_2xx_answers_deliver_an_event_again(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    server = ReferenceServer(
        webhook_backoff=FAST, webhook_faults=WebhookFaults(duplicate_rate=0.5, seed=1)
    )
    token = server.create_token(server.create_team())
    async with (
        httpx.AsyncClient(
            transport=server.transport(), base_url=BASE_URL, headers={"Authorization": token}
        ) as http,
        server.running(),
    ):
        await subscribe(http, receiver.url)
        document_id, recipient = await sent_document(http)
        server.sign(document_id, recipient)
        await wait_until(
            lambda: (
                len(server.deliveries()) == 5
                and all(d.status == "delivered" for d in server.deliveries())
            )
        )
    assert len(receiver.received) == sum(d.attempts for d in server.deliveries()) > 5
    assert all(d.last_status_code == 200 for d in server.deliveries())
    with pytest.raises(ValueError, match="duplicate_rate"):
        WebhookFaults(duplicate_rate=1.5)


# -- the control API over HTTP --------------------------------------------------------


async def test_the_http_control_api_signs_rejects_completes_and_lists() -> None:
    server = ReferenceServer(webhook_backoff=FAST, control_api=True)
    token = server.create_token(server.create_team())
    other = server.create_token(server.create_team("Other"))
    async with httpx.AsyncClient(
        transport=server.transport(), base_url="http://pacta.test", headers={"Authorization": token}
    ) as http:
        api = httpx.AsyncClient(
            transport=server.transport(), base_url=BASE_URL, headers={"Authorization": token}
        )
        async with api:
            await subscribe(api, "http://127.0.0.1:9/hook", ["DOCUMENT_SIGNED"])
            first, recipient = await sent_document(api)
            second, second_recipient = await sent_document(api)
        sign = await http.post(f"/_control/documents/{first}/sign", json={"recipientId": recipient})
        assert sign.status_code == 200, sign.text
        assert sign.json()["status"] == "COMPLETED"
        reject = await http.post(
            f"/_control/documents/{second}/reject", json={"recipientId": second_recipient}
        )
        assert reject.json()["status"] == "REJECTED"
        again = await http.post(f"/_control/documents/{second}/complete")
        assert (again.status_code, again.json()["code"]) == (400, "INVALID_DOCUMENT_STATUS")
        bad = await http.post(f"/_control/documents/{first}/sign", json={"recipientId": "x"})
        assert (bad.status_code, bad.json()["code"]) == (400, "VALIDATION_ERROR")
        foreign = await http.post(
            f"/_control/documents/{first}/complete", headers={"Authorization": other}
        )
        assert foreign.status_code == 403
        assert (
            await http.get("/_control/deliveries", headers={"Authorization": ""})
        ).status_code == 401
        listed = (await http.get("/_control/deliveries")).json()["deliveries"]
        assert [(d["event"], d["status"]) for d in listed] == [("DOCUMENT_SIGNED", "pending")]
        assert (
            await http.get("/_control/deliveries", headers={"Authorization": other})
        ).json() == {"deliveries": []}
    plain = ReferenceServer()
    async with httpx.AsyncClient(transport=plain.transport(), base_url="http://pacta.test") as http:
        assert (await http.get("/_control/deliveries")).status_code == 404  # off by default
