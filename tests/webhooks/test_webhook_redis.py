"""RedisDedupStore against a real redis-server: atomic states, expiry, and two receiver processes.

The two-process test is case 3: two receivers behind Pacta (two subscriptions, one
per process, get every event), with retries and lost 2xx answers switched on; the
handler's effect (a log line) must happen once per event across both processes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import anyio.lowlevel
import httpx
import pytest
import redis.asyncio
from redis.backoff import NoBackoff
from redis.retry import Retry

from pacta_async import (
    DedupStoreUnavailableError,
    HandlingState,
    RedisDedupStore,
    WebhookDeduplicator,
    parse_webhook,
)
from pacta_async.testing import (
    Backoff,
    ReferenceServer,
    WebhookDelivery,
    WebhookFaults,
    build_webhook_delivery,
    sample_document,
)
from tests.redis_server import free_port, running_redis

from .support import SECRET
from .test_webhook_e2e import EVENT_NAMES, create_document, send, settled, subscribe

pytestmark = pytest.mark.anyio

NEW, IN_PROGRESS, DONE = HandlingState.NEW, HandlingState.IN_PROGRESS, HandlingState.DONE
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # redis-py's asyncio client


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with running_redis(tmp_path_factory.mktemp("redis")) as port:
        yield port


@pytest.fixture
async def client(redis_port: int) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis(port=redis_port)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


async def test_states_and_owners(client: redis.asyncio.Redis) -> None:
    store = RedisDedupStore(client)
    assert await store.claim("k", "a", 30) is NEW
    assert await store.claim("k", "b", 30) is IN_PROGRESS
    assert await client.get("pacta:webhook:k") == b"p:a"
    assert not await store.renew("k", "b", 30)
    await store.release("k", "b")  # not b's claim: nothing changes
    assert await store.claim("k", "b", 30) is IN_PROGRESS
    assert await store.renew("k", "a", 60)
    assert 59_000 < await client.pttl("pacta:webhook:k") <= 60_000
    await store.release("k", "a")
    assert await store.claim("k", "b", 30) is NEW
    await store.complete("k", "b", 3600)
    assert await store.claim("k", "c", 30) is DONE
    assert 3_599_000 < await client.pttl("pacta:webhook:k") <= 3_600_000
    await store.release("k", "b")  # done stays done
    assert await store.claim("k", "c", 30) is DONE


async def test_a_crashed_runs_claim_expires_in_redis(client: redis.asyncio.Redis) -> None:
    store = RedisDedupStore(client, key_prefix="test:")
    assert await store.claim("k", "crashed", 0.05) is NEW
    assert await store.claim("k", "retry", 0.05) is IN_PROGRESS
    await anyio.sleep(0.1)
    assert await store.claim("k", "retry", 0.05) is NEW


async def test_concurrent_claims_give_one_new(redis_port: int) -> None:
    clients = [redis.asyncio.Redis(port=redis_port) for _ in range(8)]
    states: list[HandlingState] = []

    async def claim(client: redis.asyncio.Redis, n: int) -> None:
        states.append(await RedisDedupStore(client).claim("race", f"owner{n}", 30))

    try:
        await clients[0].delete("pacta:webhook:race")
        async with anyio.create_task_group() as tg:
            for n, c in enumerate(clients):
                tg.start_soon(claim, c, n)
    finally:
        for c in clients:
            await c.aclose()
    assert sorted(s.value for s in states) == ["in_progress"] * 7 + ["new"]


async def test_the_deduplicator_over_redis(client: redis.asyncio.Redis) -> None:
    dedup = WebhookDeduplicator(RedisDedupStore(client))
    delivery = build_webhook_delivery(secret=SECRET)
    effects = 0
    for n in range(3):
        retry = delivery.retried(f"2026-05-12T10:0{n}:00.000Z")
        async with dedup.once(parse_webhook(retry.body, retry.headers, secret=SECRET)) as state:
            if state is NEW:
                effects += 1
    assert effects == 1


async def test_an_unreachable_redis_is_a_typed_error() -> None:
    client = redis.asyncio.Redis(
        port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    try:
        with pytest.raises(DedupStoreUnavailableError, match="unreachable"):
            await RedisDedupStore(client).claim("k", "a", 30)
    finally:
        await client.aclose()


@pytest.fixture(params=["redis", "memory"])
def two_receivers(
    request: pytest.FixtureRequest, redis_port: int, tmp_path: Path
) -> Iterator[tuple[list[str], list[Path]]]:
    """Two processes running examples/webhook_receiver.py's `app_from_env`, sharing one
    Redis, or (the control) each with its own in-memory store."""
    env = {**os.environ, "PACTA_WEBHOOK_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    if request.param == "redis":
        env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    logs: list[Path] = []
    try:
        for n in range(2):
            port = free_port()
            log = tmp_path / f"receiver{n}.log"
            logs.append(log)
            with log.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        [
                            *(sys.executable, "-m", "uvicorn", "--factory"),
                            "examples.webhook_receiver:app_from_env",
                            *("--host", "127.0.0.1", "--port", str(port)),
                        ],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            urls.append(f"http://127.0.0.1:{port}/webhooks/pacta")
        deadline = time.monotonic() + 20
        for url, log in zip(urls, logs, strict=True):
            while True:
                try:
                    httpx.post(url, content=b"{}", timeout=1)  # 401: up and answering
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"receiver did not start: {log.read_text()}") from None
                    time.sleep(0.05)
        yield urls, logs
    finally:
        for process in processes:
            process.terminate()  # by its own handle
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.slow
async def test_two_receiver_processes_sharing_redis_handle_each_event_once(
    two_receivers: tuple[list[str], list[Path]], redis_port: int, request: pytest.FixtureRequest
) -> None:
    """Case 3: every event reaches both processes, several times; one effect per event.

    The control run, with in-memory stores, shows the case: one effect per process.
    """
    shared = request.node.callspec.params["two_receivers"] == "redis"
    client = redis.asyncio.Redis(port=redis_port)
    await client.flushdb()
    await client.aclose()
    urls, logs = two_receivers
    server = ReferenceServer(
        webhook_backoff=Backoff(base=0.01, cap=0.05, give_up_after=60),
        webhook_faults=WebhookFaults(duplicate_rate=0.5, seed=3),
    )
    with server.serve_in_thread() as base_url:
        token = server.create_token(server.create_team())
        async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": token}) as api:
            for url in urls:
                await subscribe(api, url, SECRET)
            document_id, recipients = await create_document(api)
            await send(api, document_id)
        server.open_document(document_id, recipients[0])
        server.complete(document_id)
        deliveries = await settled(server, 2 * len(EVENT_NAMES))
    assert {d.status for d in deliveries} == {"delivered"}
    assert sum(d.attempts for d in deliveries) > len(deliveries)  # duplicates happened
    for process_log in logs:
        await anyio.lowlevel.checkpoint()  # the handler logs before the 200 goes out
        assert "Traceback" not in process_log.read_text()
    handled = [
        (match[1], int(match[2]))
        for log in logs
        for match in re.finditer(r"handled (\w+) for document (\d+)", log.read_text())
    ]
    copies = 1 if shared else 2
    assert sorted(handled) == sorted((name, document_id) for name in EVENT_NAMES * copies)


@pytest.mark.slow
async def test_simultaneous_deliveries_to_two_processes_have_one_effect(
    two_receivers: tuple[list[str], list[Path]], redis_port: int, request: pytest.FixtureRequest
) -> None:
    """The same event posted to both processes at the same moment, as Pacta might after a
    timeout: one runs it, the other answers 409 (or 200 once done); 409s are retried."""
    shared = request.node.callspec.params["two_receivers"] == "redis"
    client = redis.asyncio.Redis(port=redis_port)
    await client.flushdb()
    await client.aclose()
    urls, logs = two_receivers
    deliveries = [
        build_webhook_delivery(secret=SECRET, document=sample_document(id=1000 + n))
        for n in range(20)
    ]
    answers: list[int] = []

    async def deliver(http: httpx.AsyncClient, url: str, delivery: WebhookDelivery) -> None:
        for attempt in range(100):  # as Pacta: retry until a 2xx
            retry = delivery.retried() if attempt else delivery
            response = await http.post(url, content=retry.body, headers=retry.headers)
            answers.append(response.status_code)
            if response.status_code == 200:
                return
            await anyio.sleep(0.01)
        raise AssertionError("never answered 200")

    async with httpx.AsyncClient(timeout=10) as http, anyio.create_task_group() as tg:
        for delivery in deliveries:
            for url in urls:
                tg.start_soon(deliver, http, url, delivery)
    assert set(answers) <= {200, 409}
    handled = [
        int(match[1])
        for log in logs
        for match in re.finditer(r"handled DOCUMENT_SIGNED for document (\d+)", log.read_text())
    ]
    copies = 1 if shared else 2
    assert sorted(handled) == sorted(list(range(1000, 1020)) * copies)
