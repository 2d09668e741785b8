"""Sending a batch of drafts, and judging the pace against a token bucket.

Shared by the rate-limit benchmarks (in-process limiter and Redis limiter); the
drafts also seed the benchmarks' reference server and the per-item runs.

With rate r (sends per second) and burst b, a server that enforces a token bucket
accepts the first b sends at once and then one every 1/r seconds, so N sends
cannot all be accepted sooner than

    theoretical minimum = (N - b) / r

after the first one. A client that takes longer wastes capacity; one that is
faster must have been refused (429) along the way.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import anyio

from pacta_async import PactaClient, PactaError, RetryEvent
from pacta_async.testing import ReferenceServer, make_pdf

CONCURRENCY = 32  # a "high-concurrency sender": many more tasks than the pace needs


async def prepare_drafts(
    client: PactaClient, server: ReferenceServer, count: int, *, pdf: Path | None = None
) -> range:
    """`count` drafts ready to send: one made through the API (of `pdf`, or a small
    one) with a signer and a signature field, the rest the server's duplicates of it
    (`ReferenceServer.duplicate`: setup, not what is measured)."""
    draft = await client.documents.create(
        make_pdf() if pdf is None else pdf,
        title="Contract",
        recipients=[{"name": "Ann", "email": "ann@example.com"}],
    )
    await client.documents.fields.create(
        draft.id,
        recipient_id=draft.recipients[0].id,
        type="SIGNATURE",
        page=1,
        x=100,
        y=600,
        width=200,
        height=50,
    )
    copies = server.duplicate(draft.id, count - 1) if count > 1 else []
    ids = [draft.id, *copies]
    assert ids == list(range(draft.id, draft.id + count)), "document ids are not consecutive"
    return range(draft.id, draft.id + count)


class RetryCounter:
    """An `on_retry` hook counting the client's retries by status."""

    def __init__(self) -> None:
        self.by_status: Counter[int | str | None] = Counter()

    def __call__(self, event: RetryEvent) -> None:
        self.by_status[event.status_code or event.error] += 1

    @property
    def rate_limited(self) -> int:
        return self.by_status[429]


async def send_all(
    client: PactaClient, ids: list[int], concurrency: int = CONCURRENCY
) -> tuple[float, list[str]]:
    """Send every draft with `concurrency` tasks; returns (seconds, failures)."""
    failures: list[str] = []
    limit = anyio.CapacityLimiter(concurrency)

    async def send(document_id: int) -> None:
        async with limit:
            try:
                await client.documents.send(document_id, send_email=False)
            except PactaError as exc:
                failures.append(f"{document_id}: {exc}")

    started = time.monotonic()
    async with anyio.create_task_group() as group:
        for document_id in ids:
            group.start_soon(send, document_id)
    return time.monotonic() - started, failures


def theoretical_minimum(count: int, burst: int, per_minute: float) -> float:
    return max(0, count - burst) / (per_minute / 60.0)


def server_pace(arrivals: list[float], burst: int, per_minute: float) -> tuple[float, float]:
    """(seconds from first to last accepted send, use = theoretical minimum / that span).

    Use is 1.0 when the sends came exactly as fast as the bucket allows.
    """
    arrivals = sorted(arrivals)
    span = arrivals[-1] - arrivals[0]
    minimum = theoretical_minimum(len(arrivals), burst, per_minute)
    return span, (minimum / span if span > 0 else float("inf"))


def worst_excess(arrivals: list[float], burst: int, per_minute: float) -> float:
    """How far the sends went over the bucket: the largest ``k - b - r * (t_j - t_i)``
    over every run of k consecutive arrivals from t_i to t_j. At most 0 means the
    arrivals fit a bucket of rate r and burst b, whatever the server decided.
    """
    arrivals = sorted(arrivals)
    rate = per_minute / 60.0
    worst = float("-inf")
    for i, first in enumerate(arrivals):
        for j in range(i, len(arrivals)):
            worst = max(worst, (j - i + 1) - burst - rate * (arrivals[j] - first))
    return worst
