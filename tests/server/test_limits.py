"""Per-token rate limits, on a fake clock."""

from __future__ import annotations

import math
import random

import httpx
import pytest

from pacta_async.testing import FakeClock, Limits, ReferenceServer

from .conftest import BASE_URL, CreateDocument
from .test_documents import assert_error
from .test_templates_and_webhooks import create_template

pytestmark = pytest.mark.anyio


def limits_headers(response: httpx.Response) -> tuple[int, int, int]:
    headers = response.headers
    return (
        int(headers["x-ratelimit-limit"]),
        int(headers["x-ratelimit-remaining"]),
        int(headers["x-ratelimit-reset"]),
    )


async def test_general_limit(client: httpx.AsyncClient, clock: FakeClock) -> None:
    for remaining in range(99, -1, -1):
        response = await client.get("/documents")
        assert response.status_code == 200
        limit, left, _ = limits_headers(response)
        assert (limit, left) == (100, remaining)

    refused = await client.get("/documents")
    assert_error(
        refused,
        429,
        "RATE_LIMITED",
        {"scope": "general", "limit": 100, "retryAfter": 1},
    )
    assert refused.headers["retry-after"] == "1"
    assert limits_headers(refused) == (100, 0, math.ceil(clock.wall() + 60))

    clock.advance(0.59)  # 0.98 of a request refilled: still refused
    assert (await client.get("/documents")).status_code == 429
    clock.advance(0.01)
    assert (await client.get("/documents")).status_code == 200
    assert (await client.get("/documents")).status_code == 429


async def test_retry_after_is_whole_seconds_rounded_up(
    server: ReferenceServer, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    server.set_limits(Limits(general=6))  # one request every 10 s
    for _ in range(6):
        await client.get("/documents")
    clock.advance(2.5)
    refused = await client.get("/documents")
    assert refused.headers["retry-after"] == "8"  # 7.5 s, rounded up
    assert refused.json()["details"]["retryAfter"] == 8


async def test_send_limit_and_sends_count_against_both(
    server: ReferenceServer,
    client: httpx.AsyncClient,
    create_document: CreateDocument,
    clock: FakeClock,
) -> None:
    server.set_limits(Limits(general=1000, send=3))
    documents = [await create_document(signature=True) for _ in range(4)]
    before = limits_headers(await client.get("/documents"))[1]
    for document in documents[:3]:
        response = await client.post(f"/documents/{document['id']}/send")
        assert response.status_code == 200
    assert limits_headers(response)[1] == before - 3

    refused = await client.post(f"/documents/{documents[3]['id']}/send")
    assert_error(refused, 429, "RATE_LIMITED", {"scope": "send", "limit": 3, "retryAfter": 20})
    # The refused send consumed neither limit and changed nothing.
    assert limits_headers(refused)[1] == before - 3
    assert server.send_count(documents[3]["id"]) == 0
    assert (await client.get("/documents")).status_code == 200  # general still open

    clock.advance(20)
    assert (await client.post(f"/documents/{documents[3]['id']}/send")).status_code == 200


async def test_generate_is_a_send(
    server: ReferenceServer, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    server.set_limits(Limits(send=1))
    template = await create_template(client)
    path = f"/templates/{template['id']}/generate"
    assert (await client.post(path, json={"recipients": []})).status_code == 201
    refused = await client.post(path, json={"recipients": []})
    assert refused.json()["details"]["scope"] == "send"


async def test_a_refused_general_request_consumes_no_send(
    server: ReferenceServer,
    client: httpx.AsyncClient,
    create_document: CreateDocument,
) -> None:
    document = await create_document(signature=True)
    server.set_limits(Limits(general=1, send=1))
    assert (await client.get("/documents")).status_code == 200
    refused = await client.post(f"/documents/{document['id']}/send")
    assert refused.json()["details"]["scope"] == "general"
    server.set_limits(Limits(general=100, send=1))  # fresh buckets
    assert (await client.post(f"/documents/{document['id']}/send")).status_code == 200


async def test_limits_are_per_token_and_burst_is_configurable(
    server: ReferenceServer, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    server.set_limits(Limits(general=60, general_burst=2))
    assert limits_headers(await client.get("/documents"))[1] == 1
    assert (await client.get("/documents")).status_code == 200
    assert (await client.get("/documents")).status_code == 429
    other = server.create_token(server.create_team())
    async with httpx.AsyncClient(
        transport=server.transport(), base_url=BASE_URL, headers={"Authorization": other}
    ) as http:
        assert (await http.get("/documents")).status_code == 200
    clock.advance(1)
    assert (await client.get("/documents")).status_code == 200


async def test_every_response_carries_the_headers(
    server: ReferenceServer, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    async with httpx.AsyncClient(transport=server.transport(), base_url=BASE_URL) as anonymous:
        for response in [
            await anonymous.get("/documents"),  # 401
            await anonymous.get("/openapi"),
            await client.get("/nowhere"),
            await client.get("/documents/1"),
            await client.put("/documents"),
        ]:
            limit, remaining, reset = limits_headers(response)
            assert limit == 100
            assert 0 <= remaining <= 100
            assert reset >= clock.wall()


async def test_a_client_with_an_identical_bucket_never_sees_429(
    server: ReferenceServer,
    client: httpx.AsyncClient,
    clock: FakeClock,
    create_document: CreateDocument,
) -> None:
    server.set_limits(Limits(general=10_000, send=10_000))
    documents = [await create_document(signature=True) for _ in range(60)]
    server.set_limits(Limits(general=100, send=30))
    rng = random.Random(3)
    # The client's own buckets, in the same units, starting full.
    general, sends, updated = 100.0, 30.0, clock.monotonic()
    sent = 0
    for _ in range(600):
        is_send = sent < len(documents) and rng.random() < 0.3
        now = clock.monotonic()
        general = min(100.0, general + (now - updated) * 100 / 60)
        sends = min(30.0, sends + (now - updated) * 30 / 60)
        updated = now
        if general >= 1 and (not is_send or sends >= 1):
            general -= 1
            if is_send:
                sends -= 1
                response = await client.post(f"/documents/{documents[sent]['id']}/send")
                sent += 1
            else:
                response = await client.get("/documents", params={"perPage": 1})
            assert response.status_code != 429, (now, general, sends)
        clock.advance(rng.choice([0.0, 0.01, 0.1, 0.3, 0.6, 1 / 3]))
    assert sent == len(documents)
