"""1,000 sends through a hostile network: 10% 5xx answers, 5% of sends processed but
their connection dropped, and a 429 storm half-way. Pacta's own counts must show every
item sent exactly once, and the results must report every item as sent."""

from __future__ import annotations

import collections
import time
from typing import Any

import httpx
import pytest

from pacta_async import BatchSummary, ItemResult, ItemStatus, PactaClient, RetryEvent
from pacta_async.testing import SEND_ROUTES, Faults, ReferenceServer, Storm

from .support import Interceptor, client_for, fast_server, make_drafts, make_template, people

pytestmark = [pytest.mark.anyio, pytest.mark.slow]  # 2,000 items through faults


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here: the other tests run the same code on both."""
    return "asyncio"


ITEMS = 1000
FAULTS = (
    Faults(error_rate=0.10, seed=11),
    Faults(drop_after_rate=0.05, routes=SEND_ROUTES, seed=12),
)
STORM = Faults(storm=Storm(seconds=1.5, retry_after=1))


class Chaos:
    """Counts what the network did, and starts the storm once a third of the items are done."""

    def __init__(self, server: ReferenceServer) -> None:
        self.server = server
        self.requests: collections.Counter[str] = collections.Counter()
        self.retries: collections.Counter[int | str | None] = collections.Counter()
        self.results: list[ItemResult[Any]] = []
        self._stormed = False

    def count(self, request: httpx.Request) -> None:
        path = "/".join("{id}" if part.isdigit() else part for part in request.url.path.split("/"))
        self.requests[f"{request.method} {path}"] += 1

    def on_retry(self, event: RetryEvent) -> None:
        self.retries[event.status_code or event.error] += 1

    def on_progress(self, summary: BatchSummary) -> None:
        if summary.done >= ITEMS // 3 and not self._stormed:
            self._stormed = True
            self.server.set_faults(*FAULTS, STORM)

    def client(self, token: str) -> PactaClient:
        transport = Interceptor(self.server.transport(), before=self.count)
        return client_for(self.server, token, transport=transport, on_retry=self.on_retry)


async def test_sending_1000_drafts_through_chaos_sends_each_once() -> None:
    server = fast_server()
    chaos = Chaos(server)
    async with chaos.client(server.create_token(server.create_team())) as client:
        ids = await make_drafts(client, ITEMS)
        server.set_faults(*FAULTS)
        started = time.monotonic()
        summary = await client.batch.send_many(
            ids, concurrency=16, on_result=chaos.results.append, on_progress=chaos.on_progress
        )
        print(f"\n1000 sends through chaos in {time.monotonic() - started:.1f}s: {summary}")
    server.clear_faults()

    assert summary.sent == ITEMS, [str(r.error) for r in chaos.results if r.error]
    assert sorted(r.item for r in chaos.results if r.status is ItemStatus.SENT) == ids
    assert all(r.document_id == r.item for r in chaos.results)
    assert collections.Counter(server.send_count(i) for i in ids) == {1: ITEMS}
    # The chaos really happened: 429s waited out, answers lost and checked.
    assert chaos.retries[429] > 0
    assert chaos.requests["GET /api/v1/documents/{id}"] > ITEMS * 0.05


async def test_generating_1000_documents_through_chaos_sends_each_once() -> None:
    server = fast_server()
    chaos = Chaos(server)
    async with chaos.client(server.create_token(server.create_team())) as client:
        template_id, placeholder = await make_template(client)
        server.set_faults(*FAULTS)
        started = time.monotonic()
        summary = await client.batch.generate_many(
            template_id,
            iter(people(placeholder, ITEMS)),
            concurrency=16,
            settle_window=0.5,  # the in-process server processes nothing late
            on_result=chaos.results.append,
            on_progress=chaos.on_progress,
        )
        print(f"\n1000 generates through chaos in {time.monotonic() - started:.1f}s: {summary}")
        server.clear_faults()
        documents = [d async for d in client.documents.iter()]

    assert summary.sent == ITEMS, [str(r.error) for r in chaos.results if r.error]
    assert len(documents) == ITEMS
    assert len({d.external_id for d in documents}) == ITEMS
    assert collections.Counter(server.send_count(d.id) for d in documents) == {1: ITEMS}
    reported = {r.document_id: r.external_id for r in chaos.results}
    assert reported == {d.id: d.external_id for d in documents}
    assert chaos.retries[429] > 0
    assert chaos.requests["GET /api/v1/documents"] > 1  # lost answers were looked up
