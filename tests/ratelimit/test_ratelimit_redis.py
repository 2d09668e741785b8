"""The Redis-shared limiter against a real redis-server (see conftest.py)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable

import anyio
import httpx
import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from pacta_async import RateLimiter, RateLimitError, RateLimiterUnavailableError, RedisRateLimiter
from pacta_async._errors import status_error_from_response
from pacta_async._ratelimit import _base
from pacta_async.testing import FakeClock

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


@pytest.fixture(autouse=True)
def exact_gcra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exact GCRA timings, as in the local limiter's tests; the jitter allowance is
    tested below."""
    monkeypatch.setattr(_base, "JITTER_ALLOWANCE", 0.0)  # the fallback's too


TOKEN = "api_9f3c2b7e4d1a_do_not_store_me"
PREFIX = "test:ratelimit:"


@pytest.fixture
def anyio_backend() -> str:
    """redis-py's async client runs on asyncio only."""
    return "asyncio"


def connect(port: int, *, socket_timeout: float | None = None) -> redis.asyncio.Redis:
    """A client that fails at once, as the limiter's docstring advises, so tests of an
    unreachable Redis take milliseconds."""
    return redis.asyncio.Redis(
        port=port,
        socket_connect_timeout=1,
        socket_timeout=socket_timeout,
        retry=Retry(NoBackoff(), 0),
    )


@pytest.fixture
async def clients(redis_port: int) -> AsyncIterator[Callable[[], redis.asyncio.Redis]]:
    """Separate connections, as separate worker processes would have; flushed first."""
    opened: list[redis.asyncio.Redis] = []

    def open_client() -> redis.asyncio.Redis:
        client = connect(redis_port)
        opened.append(client)
        return client

    await open_client().flushall()
    yield open_client
    for client in opened:
        await client.aclose()


async def requested_wait(limiter: RedisRateLimiter, clock: FakeClock, *, send: bool) -> float:
    """Call `acquire` and return how long it chose to sleep (0 if granted at once).

    That is Redis's answer plus up to 10% at random, which lets workers take turns.
    """
    granted = anyio.Event()
    waited = 0.0

    async def acquire() -> None:
        await limiter.acquire(send=send)
        granted.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(acquire)
        for _ in range(1000):  # up to a couple of seconds of round trips to Redis
            if granted.is_set() or clock.next_deadline is not None:
                break
            await anyio.sleep(0.002)
        if clock.next_deadline is not None:
            waited = clock.next_deadline - clock.monotonic()
        tg.cancel_scope.cancel()
    return waited


def test_is_a_rate_limiter() -> None:
    client = redis.asyncio.Redis()
    limiter: RateLimiter = RedisRateLimiter(client, TOKEN)
    assert limiter is not None


class StoppedClock(FakeClock):
    """A clock that never moves, so a worker Redis refuses sleeps for good; `settled`
    is set once it does."""

    def __init__(self) -> None:
        super().__init__()
        self.settled = anyio.Event()

    async def sleep(self, seconds: float) -> None:
        self.settled.set()
        await super().sleep(seconds)


@pytest.mark.parametrize("send", [False, True])
async def test_concurrent_workers_never_exceed_the_burst(
    clients: Callable[[], redis.asyncio.Redis], send: bool
) -> None:
    """Eight workers race for a burst of 50 (20 for sends): the atomic script grants
    exactly the burst, not one more.

    Nothing depends on how long it takes: the buckets refill once a day, and the count
    is read once every worker has either been refused (and sleeps on a clock that never
    moves, so it never asks again) or been granted more than the burst by itself.
    """
    burst = 20 if send else 50
    per_day = 1 / (24 * 60)  # per minute
    workers = []
    for _ in range(8):
        client = clients()
        await client.ping()  # connected before the race
        clock = StoppedClock()
        limiter = RedisRateLimiter(
            client,
            TOKEN,
            requests_per_minute=per_day,
            burst=50,
            sends_per_minute=per_day,
            send_burst=20,
            key_prefix=PREFIX,
            clock=clock,
        )
        workers.append((limiter, clock))
    granted = 0

    async def request(limiter: RedisRateLimiter) -> None:
        nonlocal granted
        await limiter.acquire(send=send)
        granted += 1

    async def worker(limiter: RedisRateLimiter, clock: StoppedClock) -> None:
        # One request more than the burst, so even a worker that won it all is refused.
        async with anyio.create_task_group() as tg:
            for _ in range(burst + 1):
                tg.start_soon(request, limiter)
        clock.settled.set()

    with anyio.fail_after(30):  # only if Redis stopped answering
        async with anyio.create_task_group() as tg:
            for limiter, clock in workers:
                tg.start_soon(worker, limiter, clock)
            for _, clock in workers:
                await clock.settled.wait()
            tg.cancel_scope.cancel()
    assert granted == burst


async def test_two_workers_together_stay_under_the_rate_and_use_it(
    clients: Callable[[], redis.asyncio.Redis],
) -> None:
    """Two workers hammering one token at 6000/min for a second share it fairly,
    never exceed it, and use nearly all of it."""
    rate, burst, duration = 100.0, 10, 1.0  # per second
    limiters = [
        RedisRateLimiter(
            clients(), TOKEN, requests_per_minute=rate * 60, burst=burst, key_prefix=PREFIX
        )
        for _ in range(2)
    ]
    granted: list[list[float]] = [[], []]

    async def worker(index: int) -> None:
        while True:
            await limiters[index].acquire(send=False)
            granted[index].append(time.monotonic())

    started = time.monotonic()
    with anyio.move_on_after(duration):
        async with anyio.create_task_group() as tg:
            for index in range(2):
                for _ in range(10):
                    tg.start_soon(worker, index)
    times = sorted(granted[0] + granted[1])
    # Redis granted them all between `started` and the last recorded grant.
    allowed = burst + (times[-1] - started) * rate
    assert len(times) <= allowed + 1
    assert len(times) >= 0.9 * allowed
    # No half-second window holds more than its share plus the burst (and timing slack).
    for first, moment in enumerate(times):
        in_window = sum(1 for t in times[first:] if t < moment + 0.5)
        assert in_window <= burst + 0.5 * rate + 3
    assert min(len(granted[0]), len(granted[1])) >= 0.3 * len(times)


async def test_a_429_seen_by_one_worker_pauses_the_others(
    clients: Callable[[], redis.asyncio.Redis],
) -> None:
    clock = FakeClock()
    seeing = RedisRateLimiter(clients(), TOKEN, key_prefix=PREFIX)
    other = RedisRateLimiter(clients(), TOKEN, key_prefix=PREFIX, clock=clock)
    await seeing.observe(429, httpx.Headers({"Retry-After": "2"}))
    assert 1.9 < await requested_wait(other, clock, send=False) <= 2.2
    assert 1.9 < await requested_wait(other, clock, send=True) <= 2.2


async def test_a_send_scoped_429_pauses_only_sends_everywhere(
    clients: Callable[[], redis.asyncio.Redis],
) -> None:
    clock = FakeClock()
    seeing = RedisRateLimiter(clients(), TOKEN, key_prefix=PREFIX)
    other = RedisRateLimiter(clients(), TOKEN, key_prefix=PREFIX, clock=clock)
    await seeing.observe(429, httpx.Headers({"Retry-After": "3"}), scope="send", limit=30)
    assert await requested_wait(other, clock, send=False) == 0
    assert 2.9 < await requested_wait(other, clock, send=True) <= 3.3


async def test_every_worker_resumes_one_interval_after_a_rounded_up_429(
    clients: Callable[[], redis.asyncio.Redis],
) -> None:
    """As in-process: at 300/min a token comes every 0.2 s, and Retry-After: 1 only
    rounds that up, so every worker's next send may go after 0.2 s, not 1 s."""
    clock = FakeClock()
    seeing = RedisRateLimiter(clients(), TOKEN, sends_per_minute=600, key_prefix=PREFIX)
    other = RedisRateLimiter(clients(), TOKEN, sends_per_minute=600, key_prefix=PREFIX, clock=clock)
    await seeing.observe(429, httpx.Headers({"Retry-After": "1"}), scope="send", limit=300)
    assert 0.15 < await requested_wait(other, clock, send=True) <= 0.23


async def test_the_servers_remaining_and_limit_are_shared(
    clients: Callable[[], redis.asyncio.Redis],
) -> None:
    clock = FakeClock()
    seeing = RedisRateLimiter(clients(), TOKEN, key_prefix=PREFIX)
    other = RedisRateLimiter(
        clients(), TOKEN, requests_per_minute=60, key_prefix=PREFIX, clock=clock
    )
    headers = httpx.Headers(
        {"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "0"}
    )
    await seeing.observe(200, headers)
    assert await requested_wait(other, clock, send=False) == 0
    assert await requested_wait(other, clock, send=False) == 0
    # Out of the two the server had left, and now paced at its 30/min, not our 60/min.
    assert 1.9 < await requested_wait(other, clock, send=False) <= 2.2


async def test_the_raw_token_is_stored_nowhere(
    clients: Callable[[], redis.asyncio.Redis],
) -> None:
    client = clients()
    limiter = RedisRateLimiter(client, TOKEN, key_prefix=PREFIX)
    await limiter.acquire(send=True)
    await limiter.observe(429, httpx.Headers({"Retry-After": "1"}), scope="send", limit=30)
    keys = [key async for key in client.scan_iter()]
    assert keys == [(PREFIX + hashlib.sha256(TOKEN.encode()).hexdigest()[:32]).encode()]
    for key in keys:
        assert TOKEN.encode() not in key
        for field, value in (await client.hgetall(key)).items():
            assert TOKEN.encode() not in field
            assert TOKEN.encode() not in value


async def test_keys_expire_a_minute_after_the_buckets_refill(
    clients: Callable[[], redis.asyncio.Redis],
) -> None:
    client = clients()
    limiter = RedisRateLimiter(client, TOKEN, requests_per_minute=6000, key_prefix=PREFIX)
    await limiter.acquire(send=False)
    key = PREFIX + hashlib.sha256(TOKEN.encode()).hexdigest()[:32]
    # Full again 10 ms after the grant (one 6000/min interval), plus a minute.
    assert 59_000 < await client.pttl(key) <= 60_010
    await limiter.observe(429, httpx.Headers({"Retry-After": "30"}))
    assert 89_000 < await client.pttl(key) <= 150_000


async def test_fails_closed_when_redis_is_unreachable(closed_port: int) -> None:
    client = connect(closed_port)
    limiter = RedisRateLimiter(client, TOKEN)
    with pytest.raises(RateLimiterUnavailableError):
        await limiter.acquire(send=False)
    # A response already received is not turned into an error.
    await limiter.observe(429, httpx.Headers({"Retry-After": "1"}))
    await client.aclose()


async def test_falls_back_to_a_fraction_of_the_limits_locally(closed_port: int) -> None:
    client = connect(closed_port)
    clock = FakeClock()
    limiter = RedisRateLimiter(
        client, TOKEN, requests_per_minute=60, burst=10, fallback_fraction=0.5, clock=clock
    )
    granted: list[float] = []

    async def main() -> None:
        for _ in range(7):
            await limiter.acquire(send=False)
            granted.append(clock.monotonic())

    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.autojump)
        await main()
        tg.cancel_scope.cancel()
    await client.aclose()
    # Half of 60/min with half of the burst: 5 at once, then one every 2 s.
    assert granted == pytest.approx([0, 0, 0, 0, 0, 2, 4])


async def test_returns_to_redis_when_it_is_back(redis_port: int) -> None:
    client = connect(redis_port, socket_timeout=0.1)
    admin = connect(redis_port)
    await admin.flushall()
    clock = FakeClock()
    limiter = RedisRateLimiter(client, TOKEN, fallback_fraction=0.5, key_prefix=PREFIX, clock=clock)
    key = PREFIX + hashlib.sha256(TOKEN.encode()).hexdigest()[:32]
    await admin.client_pause(300)
    await limiter.acquire(send=False)  # times out, so the fallback grants it
    await anyio.sleep(0.4)  # the pause is over; the timed-out script has run by now
    await admin.delete(key)
    await limiter.acquire(send=False)  # still within the fallback period
    assert not await admin.exists(key)
    clock.advance(10)
    await limiter.acquire(send=False)  # the period is over: Redis again
    assert await admin.exists(key)
    await client.aclose()
    await admin.aclose()


async def test_the_jitter_allowance_applies_in_the_script(
    clients: Callable[[], redis.asyncio.Redis], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_base, "JITTER_ALLOWANCE", 0.25)
    clock = FakeClock()
    limiter = RedisRateLimiter(
        clients(), TOKEN, requests_per_minute=600, burst=10, key_prefix=PREFIX, clock=clock
    )
    # T = 0.1 s: a tolerance of 0.9 s less 0.25 s lets 7 go at once, as in-process.
    for _ in range(7):
        assert await requested_wait(limiter, clock, send=False) == 0
    assert await requested_wait(limiter, clock, send=False) > 0


async def test_the_allowance_is_measured_as_in_process(
    clients: Callable[[], redis.asyncio.Redis], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twice the longest round trip, as in-process (the fake clock makes the calls to
    Redis take no time): at 60/min, burst 10, 2 x 0.75 s leaves 7.5 s of the 9 s
    tolerance, 1 + 7 at once; the unmeasured 0.25 s would let 1 + 8 go."""
    monkeypatch.setattr(_base, "JITTER_ALLOWANCE", 0.25)
    clock = FakeClock()
    limiter = RedisRateLimiter(
        clients(), TOKEN, requests_per_minute=60, burst=10, key_prefix=PREFIX, clock=clock
    )
    await limiter.observe(200, httpx.Headers(), round_trip=0.75)
    for _ in range(8):
        assert await requested_wait(limiter, clock, send=False) == 0
    assert await requested_wait(limiter, clock, send=False) > 0.4


async def test_every_worker_keeps_the_largest_allowance_any_measured(
    clients: Callable[[], redis.asyncio.Redis],
) -> None:
    """A request of the slow worker may still be on its way when the fast one's leaves,
    so the fast one trims the burst by the slow one's allowance too: at 60/min, burst
    10, 9 s - 2 x 1.75 s leaves room for 1 + 5 at once between them, not 1 + 8."""
    clock = FakeClock()
    slow, fast = (
        RedisRateLimiter(
            clients(), TOKEN, requests_per_minute=60, burst=10, key_prefix=PREFIX, clock=clock
        )
        for _ in range(2)
    )
    await slow.observe(200, httpx.Headers(), round_trip=1.75)
    await fast.observe(200, httpx.Headers(), round_trip=0.01)
    assert await requested_wait(slow, clock, send=False) == 0
    for _ in range(5):
        assert await requested_wait(fast, clock, send=False) == 0
    assert await requested_wait(fast, clock, send=False) > 0.4


async def test_a_slow_round_trip_that_set_the_servers_pace_is_not_forgotten(
    clients: Callable[[], redis.asyncio.Redis],
) -> None:
    """As in-process: the first request found the server's bucket full and took 2 s to
    come back, so the server may run 2 s behind the shared bucket until it is full
    again. Once 64 fast round trips have pushed the slow one out of the slow worker's
    recent ones and the shared allowance's memory is over, every worker must still keep
    those 2 s of the 9 s tolerance back (60/min, burst 10): 1 + 7 at once, not all 10.
    Once the bucket is full again, the whole burst is there again.
    """
    clock = FakeClock()
    slow, fast = (
        RedisRateLimiter(
            clients(), TOKEN, requests_per_minute=60, burst=10, key_prefix=PREFIX, clock=clock
        )
        for _ in range(2)
    )
    assert await requested_wait(slow, clock, send=False) == 0  # found the bucket full
    await slow.observe(200, httpx.Headers(), round_trip=2.0)
    assert await requested_wait(slow, clock, send=False) == 0
    for _ in range(64):
        await slow.observe(200, httpx.Headers(), round_trip=0.001)
    key = PREFIX + hashlib.sha256(TOKEN.encode()).hexdigest()[:32]
    await clients().hset(key, "allowance_at", 0)  # written long ago: forgotten
    for limiter in (slow, fast, slow, fast, slow, fast):
        assert await requested_wait(limiter, clock, send=False) == 0
    assert await requested_wait(slow, clock, send=False) > 0.9
    assert await requested_wait(fast, clock, send=False) > 0.9
    await clients().hset(key, "general", 0)  # full again, as after a quiet spell
    for _ in range(10):
        assert await requested_wait(fast, clock, send=False) == 0
    assert await requested_wait(fast, clock, send=False) > 0.9


async def test_a_worker_with_a_bigger_burst_cannot_push_the_others_out(
    clients: Callable[[], redis.asyncio.Redis], caplog: pytest.LogCaptureFixture
) -> None:
    """The limits live with the key: a worker told burst 60 where the key says 10
    gets 10, is told so, and leaves the correctly configured worker its share."""
    # Fake clocks throughout: a real one would measure the calls to Redis, and trim
    # every worker's burst by twice the slowest (tested apart).
    right = RedisRateLimiter(
        clients(), TOKEN, requests_per_minute=600, burst=10, key_prefix=PREFIX, clock=FakeClock()
    )
    await right.acquire(send=False)  # the key now holds 600/min, burst 10
    clock = FakeClock()
    wrong = RedisRateLimiter(
        clients(), TOKEN, requests_per_minute=600, burst=60, key_prefix=PREFIX, clock=clock
    )
    with caplog.at_level(logging.WARNING, logger="pacta_async._ratelimit._redis"):
        for _ in range(9):
            await wrong.acquire(send=False)
    assert "differ from those shared" in caplog.text
    assert len([r for r in caplog.records if "differ" in r.getMessage()]) == 1  # once
    assert 0 < await requested_wait(wrong, clock, send=False) <= 0.12  # the burst is spent
    # The right worker waits one interval, not the ~5 s that 50 extra grants would cost.
    right_clock = FakeClock()
    right = RedisRateLimiter(
        clients(), TOKEN, requests_per_minute=600, burst=10, key_prefix=PREFIX, clock=right_clock
    )
    assert await requested_wait(right, right_clock, send=False) <= 0.12


async def test_a_worker_configured_lower_lowers_the_limits_for_all(
    clients: Callable[[], redis.asyncio.Redis],
) -> None:
    client = clients()
    first = RedisRateLimiter(client, TOKEN, requests_per_minute=600, burst=10, key_prefix=PREFIX)
    await first.acquire(send=False)
    lower = RedisRateLimiter(clients(), TOKEN, requests_per_minute=6, burst=1, key_prefix=PREFIX)
    await lower.acquire(send=False)  # after first's 0.1 s interval
    key = PREFIX + hashlib.sha256(TOKEN.encode()).hexdigest()[:32]
    shared = await client.hmget(key, ["rpm", "burst"])
    assert [float(value) for value in shared] == [6, 1]
    clock = FakeClock()
    again = RedisRateLimiter(
        clients(), TOKEN, requests_per_minute=600, burst=10, key_prefix=PREFIX, clock=clock
    )
    # Metered at 6/min for everybody now: the next slot is about 10 s away, not 0.1 s.
    assert 8 < await requested_wait(again, clock, send=False) <= 11.1


async def test_a_huge_retry_after_refuses_every_worker_at_once(
    clients: Callable[[], redis.asyncio.Redis],
) -> None:
    seeing = RedisRateLimiter(clients(), TOKEN, key_prefix=PREFIX)
    other = RedisRateLimiter(clients(), TOKEN, key_prefix=PREFIX)
    headers = httpx.Headers({"Retry-After": "78824397"})
    refused = httpx.Response(
        429,
        headers=headers,
        json={"code": "RATE_LIMITED", "message": "x", "details": {"scope": "send"}},
        request=httpx.Request("POST", "https://sign.pacta.ink/api/v1/documents/1/send"),
    )
    error = status_error_from_response(refused)
    assert isinstance(error, RateLimitError)
    await seeing.observe(429, headers, scope="send", limit=30, error=error)
    await other.acquire(send=False)  # the general limit is untouched
    with anyio.fail_after(5), pytest.raises(RateLimitError) as caught:
        await other.acquire(send=True)
    assert caught.value.scope == "send"
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 78_000_000
    with pytest.raises(RateLimitError) as here:
        await seeing.acquire(send=True)
    assert here.value is error  # the worker that saw it raises the real 429
