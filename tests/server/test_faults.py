"""Fault injection, in-process: each kind, route filters, and reproducibility by seed."""

from __future__ import annotations

import anyio
import httpx
import pytest

from pacta_async.testing import SEND_ROUTES, FakeClock, Faults, ReferenceServer, Storm

from .conftest import BASE_URL, CreateDocument
from .test_documents import assert_error

pytestmark = pytest.mark.anyio


async def statuses(client: httpx.AsyncClient, count: int) -> list[int]:
    return [(await client.get("/documents")).status_code for _ in range(count)]


async def test_server_errors_json_and_html(
    server: ReferenceServer, client: httpx.AsyncClient
) -> None:
    server.set_faults(Faults(error_rate=1.0, error_statuses=(500,)))
    assert_error(await client.get("/documents"), 500, "INTERNAL_ERROR")

    server.set_faults(Faults(error_rate=1.0, error_statuses=(502, 503, 504)))
    for _ in range(5):
        response = await client.get("/documents")
        assert response.status_code in (502, 503, 504)
        assert response.headers["content-type"].startswith("text/html")
        assert response.text.startswith("<html>")


async def test_an_injected_error_changes_nothing(
    server: ReferenceServer, client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document(signature=True)
    server.set_faults(Faults(error_rate=1.0))
    assert (await client.post(f"/documents/{document['id']}/send")).status_code >= 500
    assert server.send_count(document["id"]) == 0
    server.clear_faults()
    assert (await client.post(f"/documents/{document['id']}/send")).status_code == 200


async def test_the_same_seed_gives_the_same_faults(
    server: ReferenceServer, client: httpx.AsyncClient
) -> None:
    rule = Faults(error_rate=0.5, seed=7)
    server.set_faults(rule)
    first = await statuses(client, 40)
    server.set_faults(rule)  # setting the rules again starts the sequence over
    assert await statuses(client, 40) == first
    assert {500, 502, 503, 200} == set(first)

    other = ReferenceServer(faults=[rule])
    token = other.create_token(other.create_team())
    async with httpx.AsyncClient(
        transport=other.transport(), base_url=BASE_URL, headers={"Authorization": token}
    ) as http:
        assert await statuses(http, 40) == first

    server.set_faults(Faults(error_rate=0.5, seed=8))
    assert await statuses(client, 40) != first


async def test_faults_can_target_routes(
    server: ReferenceServer, client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document(signature=True)
    server.set_faults(Faults(error_rate=1.0, error_statuses=(503,), routes=SEND_ROUTES))
    assert (await client.get("/documents")).status_code == 200
    assert (await client.post(f"/documents/{document['id']}/send")).status_code == 503

    with pytest.raises(ValueError, match="unknown routes"):
        server.set_faults(Faults(routes={"POST /documents/{id}/send"}))
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError, match="error_statuses"):
        Faults(error_statuses=(418,))


async def test_latency(
    server: ReferenceServer, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    server.set_faults(Faults(latency=2.5))
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.autojump)
        start = clock.monotonic()
        assert (await client.get("/documents")).status_code == 200
        assert clock.monotonic() - start == 2.5
        tg.cancel_scope.cancel()


async def test_latency_rate_is_seeded(
    server: ReferenceServer, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    async def delays() -> list[float]:
        found = []
        for _ in range(20):
            start = clock.monotonic()
            await client.get("/documents")
            found.append(clock.monotonic() - start)
        return found

    rule = Faults(latency=1.0, latency_rate=0.3, seed=1)
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.autojump)
        server.set_faults(rule)
        first = await delays()
        server.set_faults(rule)
        assert await delays() == first
        tg.cancel_scope.cancel()
    assert set(first) == {0.0, 1.0}


async def test_drop_before_processing(
    server: ReferenceServer, client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document(signature=True)
    server.set_faults(Faults(drop_before_rate=1.0))
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(f"/documents/{document['id']}/send")
    server.clear_faults()
    assert server.send_count(document["id"]) == 0
    assert server.document(document["id"])["status"] == "DRAFT"


async def test_drop_after_processing(
    server: ReferenceServer, client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document(signature=True)
    server.set_faults(Faults(drop_after_rate=1.0, routes=SEND_ROUTES))
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(f"/documents/{document['id']}/send")
    assert server.send_count(document["id"]) == 1
    assert (await client.get(f"/documents/{document['id']}")).json()["status"] == "PENDING"

    # A retry of the lost send meets the document already sent.
    server.clear_faults()
    retry = await client.post(f"/documents/{document['id']}/send")
    assert_error(retry, 400, "INVALID_DOCUMENT_STATUS", {"status": "PENDING"})


async def test_drop_after_a_204(server: ReferenceServer, client: httpx.AsyncClient) -> None:
    webhook = await client.post(
        "/webhooks", json={"webhookUrl": "https://e.com/h", "eventTriggers": ["DOCUMENT_SENT"]}
    )
    server.set_faults(Faults(drop_after_rate=1.0))
    with pytest.raises(httpx.RemoteProtocolError):
        await client.delete(f"/webhooks/{webhook.json()['id']}")
    server.clear_faults()
    assert (await client.get("/webhooks")).json() == {"webhooks": []}


async def test_storm_for_a_number_of_requests(
    server: ReferenceServer, client: httpx.AsyncClient
) -> None:
    server.set_faults(Faults(storm=Storm(requests=3, retry_after=7)))
    for _ in range(3):
        refused = await client.get("/documents")
        assert_error(
            refused, 429, "RATE_LIMITED", {"scope": "general", "limit": 100, "retryAfter": 7}
        )
        assert refused.headers["retry-after"] == "7"
        assert refused.headers["x-ratelimit-remaining"] == "0"
    assert (await client.get("/documents")).status_code == 200


async def test_storm_for_a_while(
    server: ReferenceServer, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    server.set_faults(Faults(storm=Storm(seconds=10), routes=SEND_ROUTES))
    assert (await client.get("/documents")).status_code == 200
    refused = await client.post("/documents/1/send")
    assert refused.headers["retry-after"] == "10"
    clock.advance(7.5)
    assert (await client.post("/documents/1/send")).headers["retry-after"] == "3"
    clock.advance(2.5)
    assert (await client.post("/documents/1/send")).status_code == 404
    with pytest.raises(ValueError, match="storm needs"):
        Storm()


async def test_faults_set_at_construction(clock: FakeClock) -> None:
    server = ReferenceServer(clock=clock, faults=[Faults(storm=Storm(requests=1))])
    token = server.create_token(server.create_team())
    async with httpx.AsyncClient(
        transport=server.transport(), base_url=BASE_URL, headers={"Authorization": token}
    ) as http:
        assert await statuses(http, 2) == [429, 200]


async def test_several_rules_combine(
    server: ReferenceServer, client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    document = await create_document(signature=True)
    server.set_faults(
        Faults(error_rate=1.0, error_statuses=(500,), routes={"GET /documents"}),
        Faults(drop_after_rate=1.0, routes=SEND_ROUTES),
    )
    assert (await client.get("/documents")).status_code == 500
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(f"/documents/{document['id']}/send")
    assert (await client.get(f"/documents/{document['id']}")).status_code == 200
