"""The client's limiter against the server's limits, on one fake clock."""

from __future__ import annotations

import anyio
import pytest

from pacta_async import PactaClient, RetryEvent, TokenBucketLimiter
from pacta_async.testing import FakeClock, Limits, ReferenceServer, make_pdf

pytestmark = pytest.mark.anyio

SENDS = 30


async def send_batch(
    server: ReferenceServer, clock: FakeClock, limiter: TokenBucketLimiter
) -> tuple[float, list[RetryEvent]]:
    """Create SENDS drafts, then send them 10 at a time; returns (fake seconds, retries)."""
    token = server.create_token(server.create_team())
    retries: list[RetryEvent] = []
    async with (
        anyio.create_task_group() as time_keeper,
        PactaClient(
            token,
            base_url="http://localhost",
            transport=server.transport(),
            rate_limiter=limiter,
            clock=clock,
            max_retries=20,
            on_retry=retries.append,
        ) as client,
    ):
        time_keeper.start_soon(clock.autojump)
        drafts = []
        for _ in range(SENDS):
            document = await client.documents.create(
                make_pdf(), title="t", recipients=[{"name": "A", "email": "a@b.co"}]
            )
            await client.documents.fields.create(
                document.id,
                recipient_id=document.recipients[0].id,
                type="SIGNATURE",
                page=1,
                x=1,
                y=1,
                width=10,
                height=10,
            )
            drafts.append(document.id)
        started = clock.monotonic()
        limit = anyio.CapacityLimiter(10)

        async def send(document_id: int) -> None:
            async with limit:
                await client.documents.send(document_id)

        async with anyio.create_task_group() as senders:
            for document_id in drafts:
                senders.start_soon(send, document_id)
        elapsed = clock.monotonic() - started
        time_keeper.cancel_scope.cancel()
    assert all(server.send_count(d) == 1 for d in drafts)
    return elapsed, retries


async def test_matching_limits_give_no_429_and_the_theoretical_time() -> None:
    clock = FakeClock()
    server = ReferenceServer(limits=Limits(general=100_000, send=60, send_burst=1), clock=clock)
    limiter = TokenBucketLimiter(
        requests_per_minute=100_000, sends_per_minute=60, send_burst=1, clock=clock
    )
    elapsed, retries = await send_batch(server, clock, limiter)
    assert retries == []
    assert elapsed == pytest.approx(SENDS - 1, abs=0.01)  # one send a second after the first


async def test_a_server_limit_at_half_the_clients_is_survived() -> None:
    clock = FakeClock()
    server = ReferenceServer(limits=Limits(general=100_000, send=30, send_burst=1), clock=clock)
    limiter = TokenBucketLimiter(
        requests_per_minute=100_000, sends_per_minute=60, send_burst=1, clock=clock
    )
    elapsed, retries = await send_batch(server, clock, limiter)
    assert {r.status_code for r in retries} == {429}
    assert len(retries) <= 3  # the limiter learns the server's limit from the first 429
    assert elapsed == pytest.approx(2 * (SENDS - 1), abs=2.5)
