"""Pacing and retries against what real servers and proxies do (issue #15), each case on
the reference server with the fault that shows it, on a fake clock."""

from __future__ import annotations

import email.utils
import logging
import warnings
from typing import Any

import anyio
import httpx
import pytest

from pacta_async import (
    APITimeoutError,
    PactaClient,
    RateLimitError,
    RetryEvent,
    RetryPolicy,
    ServerError,
    TokenBucketLimiter,
)
from pacta_async.testing import (
    SEND_ROUTES,
    FakeClock,
    Faults,
    Limits,
    ReferenceServer,
    Storm,
    make_pdf,
)

from .support import Script, document, make_client

pytestmark = pytest.mark.anyio

UNLIMITED = Limits(general=100_000, send=100_000)


def connect(server: ReferenceServer, clock: FakeClock, **options: Any) -> PactaClient:
    token = server.create_token(server.create_team())
    options.setdefault("rate_limiter", TokenBucketLimiter(clock=clock))
    return PactaClient(
        token, base_url="http://localhost", transport=server.transport(), clock=clock, **options
    )


async def ready_draft(client: PactaClient) -> int:
    """A draft that can be sent: one signer with a signature field."""
    draft = await client.documents.create(
        make_pdf(), title="t", recipients=[{"name": "A", "email": "a@b.co"}]
    )
    await client.documents.fields.create(
        draft.id,
        recipient_id=draft.recipients[0].id,
        type="SIGNATURE",
        page=1,
        x=1,
        y=1,
        width=10,
        height=10,
    )
    return draft.id


# 1. Retry-After as an HTTP date


@pytest.mark.parametrize("skew", [0.0, 45.0, -45.0])
async def test_an_http_date_that_ends_with_the_window_is_waited_out(
    clock: FakeClock, skew: float
) -> None:
    """A CDN's date for a 60 s wait reads as up to 61 s (one-second resolution): under
    the 120 s cap it is waited out. A proxy whose clock is off by 45 s gets the same
    wait, measured from its own `Date`, not 105 s or none."""
    clock.advance(0.3)  # a fraction of a second into the wall clock's second
    server = ReferenceServer(
        limits=UNLIMITED,
        clock=clock,
        faults=[Faults(storm=Storm(seconds=60), retry_after_as_date=True, proxy_clock_skew=skew)],
    )
    events: list[RetryEvent] = []
    async with connect(server, clock, on_retry=events.append, max_retries=100) as client:
        started = clock.monotonic()
        await client.documents.list()
    waited = clock.monotonic() - started
    assert events[0].status_code == 429
    assert events[0].retry_after == pytest.approx(60.7, abs=1.0)
    assert 60.0 <= waited <= 62.0  # the storm's end, not its end plus 45 s


async def test_a_date_is_read_against_our_clock_while_date_agrees(clock: FakeClock) -> None:
    resume = clock.wall() + 61
    script = Script(
        [
            httpx.Response(
                429,
                headers={
                    "Retry-After": email.utils.formatdate(resume, usegmt=True),
                    "Date": email.utils.formatdate(clock.wall() - 0.9, usegmt=True),
                },
                json={"code": "RATE_LIMITED", "message": "slow down", "details": None},
            ),
            httpx.Response(200, json=document()),
        ]
    )
    events: list[RetryEvent] = []
    async with make_client(script, clock, on_retry=events.append) as client:
        await client.documents.get(1)
    assert events[0].retry_after == pytest.approx(61, abs=1e-6)


# 2. A huge Retry-After


async def test_a_huge_retry_after_fails_fast_and_never_stalls_the_limiter(
    clock: FakeClock,
) -> None:
    """A schema-valid Retry-After of 78,824,397 s: the call raises RateLimitError at
    once, and so does every later call of that limit instead of hanging."""
    server = ReferenceServer(
        limits=UNLIMITED,
        clock=clock,
        faults=[Faults(storm=Storm(requests=1, retry_after=78_824_397))],
    )
    async with connect(server, clock) as client:
        with pytest.raises(RateLimitError) as first:
            await client.documents.list()
        assert first.value.retry_after == 78_824_397
        with anyio.fail_after(5):  # real seconds: only if it hangs
            with pytest.raises(RateLimitError):
                await client.documents.list()
        assert clock.monotonic() == 0  # nobody waited


async def test_the_limiters_pause_is_capped_like_the_call(clock: FakeClock) -> None:
    """Past `max_pause`, waiters of that limit are refused; when the refusal is over,
    requests go again."""
    server = ReferenceServer(
        limits=UNLIMITED, clock=clock, faults=[Faults(storm=Storm(requests=1, retry_after=300))]
    )
    limiter = TokenBucketLimiter(max_pause=120, clock=clock)
    async with connect(server, clock, rate_limiter=limiter) as client:
        with pytest.raises(RateLimitError):
            await client.documents.list()
        with pytest.raises(RateLimitError):
            await client.documents.list()
        clock.advance(300)
        await client.documents.list()


# 3. The retry budget


async def test_a_steady_20_percent_of_proxy_502s_never_fails_a_read_with_retries_left(
    clock: FakeClock,
) -> None:
    server = ReferenceServer(limits=UNLIMITED, clock=clock)
    policy = RetryPolicy(max_retries=10)
    events: list[RetryEvent] = []
    async with connect(
        server, clock, rate_limiter=None, retry_policy=policy, on_retry=events.append
    ) as client:
        draft = await ready_draft(client)
        server.set_faults(Faults(error_rate=0.2, error_statuses=(502,), seed=15))
        failed = 0
        for _ in range(1000):
            try:
                await client.documents.get(draft)
            except ServerError:
                failed += 1
    # The proxy failed about a fifth of the attempts: a quarter of a retry per read,
    # more than the 0.2 the ratio earns. The old budget (10 retries, then the ratio
    # alone) failed reads with 10 retries left on nearly every seed.
    assert len(events) > 200
    assert failed == 0


# 4. Head-of-line blocking


async def test_reads_do_not_wait_behind_sends_paused_by_a_send_limit_429(
    clock: FakeClock,
) -> None:
    """The server's send limit is lower than the client's: the third send gets a
    send-scoped 429 of about a minute. Reads issued behind the paused sends go at once."""
    server = ReferenceServer(limits=Limits(general=1000, send=2, send_burst=2), clock=clock)
    async with connect(server, clock, max_retries=10) as client:
        drafts = [await ready_draft(client) for _ in range(6)]
        started = clock.monotonic()
        read_times: list[float] = []
        send_times: list[float] = []

        async def send(document_id: int) -> None:
            await client.documents.send(document_id)
            send_times.append(clock.monotonic() - started)

        async def read() -> None:
            await client.documents.get(drafts[0])
            read_times.append(clock.monotonic() - started)

        async with anyio.create_task_group() as tg:
            for document_id in drafts:
                tg.start_soon(send, document_id)
            await clock.sleep(0.5)  # the sends are out, one was refused, the rest wait
            for _ in range(20):
                tg.start_soon(read)
    assert len(read_times) == 20
    assert max(read_times) <= 0.5 + 1e-6  # not a minute later
    assert max(send_times) > 25  # the sends did wait for the send limit


# 5. A retry after a 429 keeps its place


async def test_a_request_retried_after_a_429_goes_first_when_the_pause_ends() -> None:
    clock = FakeClock()
    server = ReferenceServer(limits=UNLIMITED, clock=clock)
    done: dict[str, float] = {}
    async with connect(server, clock) as client:
        draft = await ready_draft(client)
        server.set_faults(Faults(storm=Storm(requests=1, retry_after=5)))

        async def get(name: str) -> None:
            await client.documents.get(draft)
            done[name] = clock.monotonic()

        async with anyio.create_task_group() as tg:
            tg.start_soon(get, "refused")  # meets the storm: everyone paused until t=5
            await anyio.wait_all_tasks_blocked()
            for index in range(8):
                tg.start_soon(get, f"later {index}")
                await anyio.wait_all_tasks_blocked()
            tg.start_soon(clock.autojump)
            while len(done) < 9:
                await clock.sleep(1)
            tg.cancel_scope.cancel()
    # First when the pause ends (plus the jitter allowance the limiter keeps: the longest
    # measured round trip, none on a fake clock), not at the back of the line; the
    # others one interval apart after it.
    resumed = 5.0
    assert done["refused"] == pytest.approx(resumed)
    assert [done[f"later {index}"] for index in range(8)] == pytest.approx(
        [resumed + 0.6 * (index + 1) for index in range(8)]
    )


# 7. A total deadline


async def test_a_calls_timeout_covers_pacing(clock: FakeClock) -> None:
    """With timeout=2 and the next slot 5 s away, the call fails at once, saying why."""
    server = ReferenceServer(limits=UNLIMITED, clock=clock)
    limiter = TokenBucketLimiter(requests_per_minute=12, burst=1, clock=clock)
    async with connect(server, clock, rate_limiter=limiter) as client:
        await client.documents.list()
        with pytest.raises(APITimeoutError, match="rate limiter") as caught:
            await client.documents.list(timeout=2)
    assert "total timeout of 2 s" in str(caught.value)
    assert clock.monotonic() == 0  # failed at once: waiting could not have helped


async def test_the_clients_total_timeout_covers_retries_and_waits(clock: FakeClock) -> None:
    script = Script([httpx.Response(503, text="busy")])
    async with make_client(script, clock, total_timeout=3, max_retries=50) as client:
        with pytest.raises(APITimeoutError, match="waiting to retry"):
            await client.documents.get(1)
    assert clock.monotonic() <= 3
    assert len(script.requests) >= 3


async def test_a_waiter_queued_past_its_deadline_leaves_the_line() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=60, burst=1, clock=clock)
    server = ReferenceServer(limits=UNLIMITED, clock=clock)
    outcomes: dict[str, str] = {}
    async with connect(server, clock, rate_limiter=limiter) as client:

        async def get(name: str, timeout: float | None) -> None:
            try:
                await client.documents.list(timeout=timeout)
                outcomes[name] = f"ok at {clock.monotonic():g}"
            except APITimeoutError:
                outcomes[name] = f"timed out at {clock.monotonic():g}"

        async with anyio.create_task_group() as tg:
            for name, timeout in (("a", None), ("b", None), ("c", 1.5), ("d", None)):
                tg.start_soon(get, name, timeout)
                await anyio.wait_all_tasks_blocked()
            tg.start_soon(clock.autojump)
            while len(outcomes) < 4:
                await clock.sleep(1)
            tg.cancel_scope.cancel()
    # c queues behind b (slot at 1); its own slot would be at 2, after its deadline:
    # it leaves the line at 1.5 at the latest, and d gets the slot at 2.
    assert outcomes["a"] == "ok at 0"
    assert outcomes["b"] == "ok at 1"
    assert outcomes["c"] in ("timed out at 1", "timed out at 1.5")
    assert outcomes["d"] == "ok at 2"


# 9. Observability and policy


async def test_retry_events_carry_retry_after_scope_status_and_headers(
    clock: FakeClock,
) -> None:
    server = ReferenceServer(limits=Limits(general=1000, send=1, send_burst=1), clock=clock)
    events: list[RetryEvent] = []
    async with connect(server, clock, on_retry=events.append) as client:
        first, second = await ready_draft(client), await ready_draft(client)
        await client.documents.send(first)
        await client.documents.send(second)  # the server's send bucket is empty: a 429
    event = events[0]
    assert (event.status_code, event.scope) == (429, "send")
    assert event.retry_after == pytest.approx(60)
    assert event.headers is not None
    assert event.headers["x-ratelimit-limit"] == "1000"


async def test_429_waits_and_5xx_retries_are_counted_apart(clock: FakeClock) -> None:
    limited = httpx.Response(
        429, headers={"Retry-After": "1"}, json={"code": "RATE_LIMITED", "message": "x"}
    )
    ok = httpx.Response(200, json=document())
    policy = RetryPolicy(max_retries=0, max_rate_limit_retries=3)
    script = Script([limited, limited, limited, ok])
    async with make_client(script, clock, retry_policy=policy) as client:
        await client.documents.get(1)  # three 429s waited out
        script.replies = [httpx.Response(503, text="busy"), ok]
        with pytest.raises(ServerError):
            await client.documents.get(1)  # no 5xx retry allowed


async def test_a_429_pause_is_logged_once_not_per_waiter(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    server = ReferenceServer(
        limits=UNLIMITED, clock=clock, faults=[Faults(storm=Storm(seconds=3), routes=SEND_ROUTES)]
    )
    server.set_faults()
    async with connect(server, clock) as client:
        draft = await ready_draft(client)
        server.set_faults(Faults(storm=Storm(requests=1, retry_after=3)))
        caplog.set_level(logging.INFO, logger="pacta_async")
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(client.documents.get, draft)
    pauses = [r for r in caplog.records if "pausing" in r.getMessage()]
    assert len(pauses) == 1


def test_the_policy_is_validated() -> None:
    from pacta_async import ConfigurationError

    with pytest.raises(ConfigurationError, match="max_retry_after"):
        RetryPolicy(max_retry_after=0)
    with pytest.raises(ConfigurationError, match="max_rate_limit_retries"):
        RetryPolicy(max_rate_limit_retries=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert RetryPolicy().max_retry_after == 120
