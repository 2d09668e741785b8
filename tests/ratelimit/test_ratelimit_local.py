"""The in-process limiter, timed exactly with a fake clock on asyncio and trio."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel
import httpx
import pytest

from pacta_async import ConfigurationError, RateLimiter, RateLimitError, TokenBucketLimiter
from pacta_async._ratelimit import PacingTimeout, _base
from pacta_async.testing import FakeClock

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def exact_gcra(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests pin FIFO order, cancellation and pauses to exact GCRA timings; the
    jitter allowance, which trims every burst a little, has tests of its own below."""
    monkeypatch.setattr(_base, "JITTER_ALLOWANCE", 0.0)


async def in_fake_time(clock: FakeClock, main: Callable[[], Awaitable[None]]) -> None:
    """Run `main` while the fake clock jumps whenever every task is waiting."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.autojump)
        await main()
        tg.cancel_scope.cancel()


def rate_headers(limit: int, remaining: int) -> httpx.Headers:
    return httpx.Headers(
        {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": "1800000060",
        }
    )


def test_is_a_rate_limiter() -> None:
    limiter: RateLimiter = TokenBucketLimiter()
    assert limiter is not None


async def test_defaults_are_pactas_limits() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(clock=clock)
    granted: list[float] = []

    async def main() -> None:
        for _ in range(102):
            await limiter.acquire(send=False)
            granted.append(clock.monotonic())

    await in_fake_time(clock, main)
    # A minute's worth at once, then one every 60/100 s.
    assert granted[:100] == [0.0] * 100
    assert granted[100:] == pytest.approx([0.6, 1.2])


async def test_sends_obey_both_limits_by_default() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(clock=clock)
    granted: list[float] = []

    async def main() -> None:
        for _ in range(32):
            await limiter.acquire(send=True)
            granted.append(clock.monotonic())

    await in_fake_time(clock, main)
    assert granted[:30] == [0.0] * 30
    assert granted[30:] == pytest.approx([2.0, 4.0])


@pytest.mark.parametrize("burst", [1, 10, 50])
async def test_a_long_run_takes_exactly_the_theoretical_time(burst: int) -> None:
    """300 concurrent sends at 600/min with burst b: b at once, then one every 0.1 s."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(
        requests_per_minute=1200, sends_per_minute=600, send_burst=burst, clock=clock
    )
    granted: list[float] = []

    async def send() -> None:
        await limiter.acquire(send=True)
        granted.append(clock.monotonic())

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(300):
                tg.start_soon(send)

    await in_fake_time(clock, main)
    assert clock.monotonic() == pytest.approx((300 - burst) / 10, abs=1e-9)
    expected = [max(0, k - burst + 1) / 10 for k in range(300)]
    assert granted == pytest.approx(expected, abs=1e-9)


async def test_waiters_are_served_first_in_first_out_within_each_limit() -> None:
    """A general request never overtakes an earlier one, nor a send an earlier send;
    a general request does not wait for a send's send token."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(
        requests_per_minute=60, sends_per_minute=20, burst=1, send_burst=1, clock=clock
    )
    kinds = [True, False, False, True, False, True, True, False, False, False, True, False]
    served: list[int] = []

    async def request(index: int) -> None:
        await limiter.acquire(send=kinds[index])
        served.append(index)

    async with anyio.create_task_group() as tg:
        for index in range(len(kinds)):
            tg.start_soon(request, index)
            await anyio.wait_all_tasks_blocked()  # it is in the line before the next comes
        tg.start_soon(clock.autojump)
        while len(served) < len(kinds):
            await clock.sleep(1)
        tg.cancel_scope.cancel()
    sends = [index for index in served if kinds[index]]
    general = [index for index in served if not kinds[index]]
    assert sends == sorted(sends)
    assert general == sorted(general)
    assert served != list(range(len(kinds)))  # general requests went ahead of held sends


async def test_a_queued_send_holds_no_general_token() -> None:
    """Both tokens are taken at once, so a send waiting for its send token leaves the
    general token to the others, and cancelling it frees nothing because it took nothing.
    """
    clock = FakeClock()
    limiter = TokenBucketLimiter(
        requests_per_minute=60, sends_per_minute=30, burst=1, send_burst=1, clock=clock
    )
    granted: dict[str, float] = {}
    second_send = anyio.CancelScope()

    async def request(name: str, send: bool, scope: anyio.CancelScope) -> None:
        with scope:
            await limiter.acquire(send=send)
            granted[name] = clock.monotonic()

    async with anyio.create_task_group() as tg:
        await request("first send", True, anyio.CancelScope())  # next general at 1, send at 2
        tg.start_soon(request, "second send", True, second_send)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(request, "general", False, anyio.CancelScope())
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(clock.autojump)
        await clock.sleep(1.5)
        # The general token due at t=1 went to the general request, not the waiting send.
        assert granted == {"first send": 0.0, "general": 1.0}
        second_send.cancel()
        await clock.sleep(10)
        tg.cancel_scope.cancel()
    assert granted == {"first send": 0.0, "general": 1.0}


async def test_without_cancellation_the_send_takes_both_tokens_at_once() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(
        requests_per_minute=60, sends_per_minute=30, burst=1, send_burst=1, clock=clock
    )
    granted: dict[str, float] = {}

    async def request(name: str, send: bool) -> None:
        await limiter.acquire(send=send)
        granted[name] = clock.monotonic()

    async with anyio.create_task_group() as tg:
        await request("first send", True)
        for name, send in (("second send", True), ("general", False)):
            tg.start_soon(request, name, send)
            await anyio.wait_all_tasks_blocked()
        tg.start_soon(clock.autojump)
        await clock.sleep(10)
        tg.cancel_scope.cancel()
    # The general request takes the general token due at t=1; the second send takes
    # the next one at t=2, together with its send token.
    assert granted == pytest.approx({"first send": 0.0, "second send": 2.0, "general": 1.0})


async def test_a_newcomer_takes_a_general_token_a_held_send_cannot_use() -> None:
    """No head-of-line blocking: a send held back by the send limit leaves the general
    token to a later general request."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(
        requests_per_minute=60, sends_per_minute=30, burst=1, send_burst=1, clock=clock
    )
    granted: dict[str, float] = {}

    async def request(name: str, send: bool) -> None:
        await limiter.acquire(send=send)
        granted[name] = clock.monotonic()

    async with anyio.create_task_group() as tg:
        await request("first send", True)  # next general token at 1, send token at 2
        tg.start_soon(request, "second send", True)
        tg.start_soon(clock.autojump)
        await clock.sleep(1.5)
        await request("general", False)  # a general token has been there since t=1
        await clock.sleep(2)
        tg.cancel_scope.cancel()
    # The send then waits for the next general token, due one interval after 1.5.
    assert granted == pytest.approx({"first send": 0.0, "general": 1.5, "second send": 2.5})


@pytest.mark.parametrize("send", [False, True])
async def test_cancelled_waiters_neither_leak_nor_over_grant(send: bool) -> None:
    """Whatever waiters are cancelled and when, the ones served get exactly the
    schedule of an uninterrupted line: no slot is lost and none is added."""
    clock = FakeClock()
    burst = 3
    limiter = TokenBucketLimiter(
        requests_per_minute=60, sends_per_minute=60, burst=burst, send_burst=burst, clock=clock
    )
    rng = random.Random(5)
    granted: list[float] = []
    cancelled: list[int] = []

    async def request(index: int, cancel_at: float | None) -> None:
        async with anyio.create_task_group() as tg:
            if cancel_at is not None:

                async def cancel_later() -> None:
                    await clock.sleep(cancel_at)
                    tg.cancel_scope.cancel()

                tg.start_soon(cancel_later)
            try:
                await limiter.acquire(send=send)
            except anyio.get_cancelled_exc_class():
                cancelled.append(index)
                raise
            granted.append(clock.monotonic())
            tg.cancel_scope.cancel()

    doomed = set(rng.sample(range(60), 25))

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for index in range(60):
                cancel_at = rng.randrange(0, 40) + 0.5 if index in doomed else None
                tg.start_soon(request, index, cancel_at)

    await in_fake_time(clock, main)
    assert 0 < len(cancelled) < len(doomed)  # some were served before their cancellation
    assert len(granted) == 60 - len(cancelled)
    expected = [float(max(0, k - burst + 1)) for k in range(len(granted))]
    assert granted == pytest.approx(expected, abs=1e-9)


async def test_a_cancelled_front_hands_over_to_the_next_waiter() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=60, burst=1, clock=clock)
    served: list[str] = []
    front = anyio.CancelScope()

    async def request(name: str, scope: anyio.CancelScope) -> None:
        with scope:
            await limiter.acquire(send=False)
            served.append(name)

    async with anyio.create_task_group() as tg:
        await limiter.acquire(send=False)
        tg.start_soon(request, "front", front)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(request, "next", anyio.CancelScope())
        await anyio.wait_all_tasks_blocked()
        front.cancel()
        await anyio.wait_all_tasks_blocked()
        clock.advance(1)
    assert served == ["next"]


async def test_a_429_pauses_every_task_until_retry_after() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=600, burst=5, clock=clock)
    granted: list[float] = []

    async def request() -> None:
        await limiter.acquire(send=False)
        granted.append(clock.monotonic())

    async with anyio.create_task_group() as time_keeper:
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                await request()
            for _ in range(4):
                tg.start_soon(request)  # queued behind the empty bucket: first slot at 0.1
            await anyio.wait_all_tasks_blocked()
            await limiter.observe(429, httpx.Headers({"Retry-After": "3"}))
            time_keeper.start_soon(clock.autojump)
        time_keeper.cancel_scope.cancel()
    assert granted[:5] == [0.0] * 5
    # Nobody goes before Retry-After, then one token and one interval apart, no burst.
    assert granted[5:] == pytest.approx([3.0, 3.1, 3.2, 3.3])


async def test_a_429_pauses_tasks_arriving_later_too() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(clock=clock)
    await limiter.observe(429, httpx.Headers({"Retry-After": "2"}))
    clock.advance(1)

    async def main() -> None:
        await limiter.acquire(send=True)

    await in_fake_time(clock, main)
    assert clock.monotonic() == pytest.approx(2.0)


async def test_a_429_without_retry_after_empties_the_buckets() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(clock=clock)
    await limiter.observe(429, httpx.Headers())

    async def main() -> None:
        await limiter.acquire(send=True)

    await in_fake_time(clock, main)
    assert clock.monotonic() == pytest.approx(2.0)  # one send interval at 30/min


async def test_a_429_dated_retry_after_uses_the_wall_clock() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(clock=clock)
    resume = clock.wall() + 4
    date = httpx.Headers({"Retry-After": _http_date(resume)})
    await limiter.observe(429, date)

    async def main() -> None:
        await limiter.acquire(send=False)

    await in_fake_time(clock, main)
    assert clock.monotonic() == pytest.approx(4.0)


def _http_date(epoch: float) -> str:
    import email.utils

    return email.utils.formatdate(epoch, usegmt=True)


async def test_a_send_scoped_429_pauses_sends_only_and_adopts_the_send_limit() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=600, sends_per_minute=60, clock=clock)
    granted: dict[str, list[float]] = {"send": [], "general": []}

    await limiter.observe(429, httpx.Headers({"Retry-After": "5"}), scope="send", limit=30)

    async def main() -> None:
        await limiter.acquire(send=False)
        granted["general"].append(clock.monotonic())
        for _ in range(3):
            await limiter.acquire(send=True)
            granted["send"].append(clock.monotonic())

    await in_fake_time(clock, main)
    assert granted["general"] == [0.0]
    # Resumes at Retry-After with one token, then at the reported 30/min, not 60/min.
    assert granted["send"] == pytest.approx([5.0, 7.0, 9.0])


async def test_a_general_scoped_429_still_holds_sends_back() -> None:
    """A send needs a general token too, so pausing the general bucket pauses sends."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(clock=clock)
    await limiter.observe(429, httpx.Headers({"Retry-After": "3"}), scope="general")

    async def main() -> None:
        await limiter.acquire(send=True)

    await in_fake_time(clock, main)
    assert clock.monotonic() == pytest.approx(3.0)


async def test_remaining_lower_than_ours_resynchronises() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(clock=clock)  # 100 available at t=0
    await limiter.observe(200, rate_headers(limit=100, remaining=3))
    granted: list[float] = []

    async def main() -> None:
        for _ in range(5):
            await limiter.acquire(send=False)
            granted.append(clock.monotonic())

    await in_fake_time(clock, main)
    assert granted == pytest.approx([0.0, 0.0, 0.0, 0.6, 1.2])


async def test_remaining_counts_from_when_the_request_left() -> None:
    """Pacta counted what is left when the request arrived: what refilled during the
    round trip is still ours, so a steady stream at the limit keeps its pace."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=600, burst=1, clock=clock)  # 0.1 s apart
    await limiter.acquire(send=False)  # leaves at t=0; the server answers "0 left"
    clock.advance(0.08)
    await limiter.observe(200, rate_headers(limit=600, remaining=0), round_trip=0.08)
    granted: list[float] = []

    async def main() -> None:
        await limiter.acquire(send=False)
        granted.append(clock.monotonic())

    await in_fake_time(clock, main)
    # Due at t=0.1 as if no answer had come, not one interval after the answer (0.18).
    assert granted == pytest.approx([0.1])


async def test_remaining_higher_than_ours_changes_nothing() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=60, burst=2, clock=clock)
    granted: list[float] = []

    async def main() -> None:
        for _ in range(2):
            await limiter.acquire(send=False)
        await limiter.observe(200, rate_headers(limit=60, remaining=50))
        await limiter.acquire(send=False)
        granted.append(clock.monotonic())

    await in_fake_time(clock, main)
    assert granted == pytest.approx([1.0])


async def test_a_lower_reported_limit_becomes_the_rate() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(clock=clock)  # configured 100/min
    await limiter.observe(200, rate_headers(limit=50, remaining=0))
    granted: list[float] = []

    async def main() -> None:
        for _ in range(3):
            await limiter.acquire(send=False)
            granted.append(clock.monotonic())

    await in_fake_time(clock, main)
    assert granted == pytest.approx([1.2, 2.4, 3.6])  # 60/50 s apart


async def test_a_higher_reported_limit_is_not_adopted() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=60, burst=1, clock=clock)
    await limiter.observe(200, rate_headers(limit=1000, remaining=1000))
    granted: list[float] = []

    async def main() -> None:
        for _ in range(3):
            await limiter.acquire(send=False)
            granted.append(clock.monotonic())

    await in_fake_time(clock, main)
    assert granted == pytest.approx([0.0, 1.0, 2.0])


async def test_a_server_limit_half_ours_is_survived_at_its_rate() -> None:
    """Configured 600/min against a server allowing 300/min: after the first 429 and
    the headers, the limiter settles at the server's rate, from one interval on (the
    429 found the bucket empty, and it gains a token every 0.2 s), not from the
    whole-second Retry-After."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=600, burst=10, clock=clock)
    granted: list[float] = []

    async def main() -> None:
        for _ in range(10):
            await limiter.acquire(send=False)
        headers = rate_headers(limit=300, remaining=0)
        headers["Retry-After"] = "1"
        await limiter.observe(429, headers, scope="general", limit=300)
        for _ in range(4):
            await limiter.acquire(send=False)
            granted.append(clock.monotonic())

    await in_fake_time(clock, main)
    assert granted == pytest.approx([0.2, 0.4, 0.6, 0.8])


@pytest.mark.parametrize(
    ("retry_after", "per_minute", "resumes_at"),
    [
        ("1", 300, 0.2),  # a token every 0.2 s: the whole second only rounds that up
        ("0.5", 100, 0.5),  # sooner than one interval (0.6 s): Retry-After holds
        ("1", 30, 1.0),  # a token every 2 s, but Retry-After says one comes in 1 s
        ("2", 300, 2.0),  # more than rounding explains (a window?): waited out
    ],
)
async def test_a_send_429_resumes_once_a_token_is_due_at_the_reported_limit(
    retry_after: str, per_minute: int, resumes_at: float
) -> None:
    """The bucket was empty when the refused send arrived, no later than its answer; a
    token comes one interval of the reported limit later, whatever Retry-After rounds
    that up to. Then the sends go at that limit, one interval apart."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(sends_per_minute=600, send_burst=10, clock=clock)
    headers = httpx.Headers({"Retry-After": retry_after})
    await limiter.observe(429, headers, scope="send", limit=per_minute, round_trip=0.0)
    granted: list[float] = []

    async def main() -> None:
        for _ in range(3):
            await limiter.acquire(send=True)
            granted.append(clock.monotonic())

    await in_fake_time(clock, main)
    interval = 60 / per_minute
    assert granted == pytest.approx([resumes_at + k * interval for k in range(3)])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"requests_per_minute": 0},
        {"sends_per_minute": -1},
        {"requests_per_minute": float("inf")},
        {"burst": 0},
        {"send_burst": -3},
    ],
)
def test_rejects_impossible_limits(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        TokenBucketLimiter(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("per_minute", "burst", "immediate"),
    [
        (600, 10, 7),  # T = 0.1 s: tolerance 0.9 s - 0.25 s = 0.65 s: 1 + 6 at once
        (100, 100, 99),  # T = 0.6 s: the 0.25 s costs one token
        (600, 1, 1),  # no tolerance to give up
    ],
)
async def test_the_jitter_allowance_trims_the_burst_not_the_rate(
    monkeypatch: pytest.MonkeyPatch, per_minute: int, burst: int, immediate: int
) -> None:
    monkeypatch.setattr(_base, "JITTER_ALLOWANCE", 0.25)
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=per_minute, burst=burst, clock=clock)
    granted: list[float] = []

    async def main() -> None:
        for _ in range(immediate + 50):
            await limiter.acquire(send=False)
            granted.append(clock.monotonic())

    await in_fake_time(clock, main)
    interval = 60 / per_minute
    assert granted[:immediate] == [0.0] * immediate
    assert granted[immediate] > 0
    gaps = [b - a for a, b in zip(granted[immediate:], granted[immediate + 1 :], strict=False)]
    assert gaps == pytest.approx([interval] * len(gaps))  # the long-run rate is unchanged


async def test_a_retry_keeps_its_place_and_takes_the_front_from_a_later_waiter() -> None:
    """A place handed back on retry is served before every later arrival, even one
    already at the front and sleeping for the slot."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=60, burst=1, clock=clock)
    served: list[str] = []
    times: list[float] = []
    early = await limiter.acquire(send=False)  # the bucket is empty until t=1

    async def request(name: str, place: int | None) -> None:
        await limiter.acquire(send=False, place=place)
        served.append(name)
        times.append(clock.monotonic())

    async with anyio.create_task_group() as tg:
        for name in ("second", "third"):
            tg.start_soon(request, name, None)
            await anyio.wait_all_tasks_blocked()
        tg.start_soon(request, "retry of the first", early)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(clock.autojump)
        while len(served) < 3:
            await clock.sleep(0.5)
        tg.cancel_scope.cancel()
    assert served == ["retry of the first", "second", "third"]
    assert times == pytest.approx([1.0, 2.0, 3.0])


async def test_a_slot_beyond_the_timeout_raises_at_once() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=6, burst=1, clock=clock)
    await limiter.acquire(send=False)
    with pytest.raises(PacingTimeout, match=r"10\.00 s away"):
        await limiter.acquire(send=False, timeout=5)
    assert clock.monotonic() == 0
    # Nothing was taken: the next caller still gets the slot at t=10.
    await in_fake_time(clock, lambda: limiter.acquire(send=False, timeout=11))
    assert clock.monotonic() == pytest.approx(10.0)


async def test_waiters_already_queued_are_refused_by_a_429_past_max_pause() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=60, burst=1, max_pause=120, clock=clock)
    await limiter.acquire(send=False)
    error = RateLimitError(
        "slow down",
        response=httpx.Response(
            429,
            headers={"Retry-After": "78824397"},
            request=httpx.Request("GET", "https://sign.pacta.ink/api/v1/documents"),
        ),
        code="RATE_LIMITED",
        details=None,
    )
    outcomes: list[object] = []
    refused_at: list[float] = []

    async def request() -> None:
        try:
            await limiter.acquire(send=False)
            outcomes.append(clock.monotonic())
        except RateLimitError as exc:
            outcomes.append(exc)
            refused_at.append(clock.monotonic())

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(request)
        await anyio.wait_all_tasks_blocked()
        await limiter.observe(429, error.response.headers, error=error)
        tg.start_soon(clock.autojump)
        while len(outcomes) < 3:
            await clock.sleep(0.5)
        tg.cancel_scope.cancel()
    assert outcomes == [error, error, error]
    assert refused_at == [0.0, 0.0, 0.0]  # at once: nobody waits out even its slot


async def test_the_allowance_is_twice_the_longest_measured_round_trip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Until a round trip is measured the limiter gives up 0.25 s of the burst; once
    answers come back it gives up twice the longest recent round trip, and a waiter held
    back by the larger allowance goes at once."""
    monkeypatch.setattr(_base, "JITTER_ALLOWANCE", 0.25)
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=600, burst=10, clock=clock)
    for _ in range(7):  # tolerance 0.9 s - 0.25 s: 1 + 6 at once
        await limiter.acquire(send=False)
    granted: list[float] = []

    async def request() -> None:
        await limiter.acquire(send=False)
        granted.append(clock.monotonic())

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(request)
        await anyio.wait_all_tasks_blocked()
        assert granted == []  # the 8th is due at 0.05 s
        await limiter.observe(200, httpx.Headers(), round_trip=0.02)
        await limiter.observe(200, httpx.Headers(), round_trip=0.015)
        await anyio.wait_all_tasks_blocked()
        # Tolerance 0.9 s - 2 x 0.02 s: 1 + 8 at once, the 10th at 0.04 s.
        assert granted == [0.0, 0.0]
        tg.start_soon(clock.autojump)
        while len(granted) < 3:
            await clock.sleep(0.001)
        tg.cancel_scope.cancel()
    assert granted == pytest.approx([0.0, 0.0, 0.04])


async def test_an_unusable_round_trip_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_base, "JITTER_ALLOWANCE", 0.25)
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=600, burst=10, clock=clock)
    for bad in (float("nan"), float("inf"), -1.0):
        await limiter.observe(200, httpx.Headers(), round_trip=bad)
    immediate = 0
    while limiter._delay(send=False) <= 0:
        await limiter.acquire(send=False)
        immediate += 1
    assert immediate == 7  # still the unmeasured 0.25 s


async def test_a_slow_round_trip_that_set_the_servers_pace_is_not_forgotten() -> None:
    """The first send found the server's bucket full and arrived 50 ms late, so the
    server runs 50 ms behind us for as long as its bucket is not full again. Once 64
    fast round trips have pushed that one out of the recent ones, the allowance must
    still cover it, or the sends run ahead of the server's bucket and one is refused."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=600, burst=10, clock=clock)
    arrivals: list[float] = []

    async def main() -> None:
        for number in range(150):
            await limiter.acquire(send=False)
            delay = 0.05 if number == 0 else 0.001
            arrivals.append(clock.monotonic() + delay)
            await limiter.observe(200, httpx.Headers(), round_trip=delay)

    await in_fake_time(clock, main)
    interval, tolerance = 0.1, 9 * 0.1  # the server's bucket: 600/min, burst 10
    server_tat, refused = arrivals[0], 0
    for arrival in sorted(arrivals):
        if arrival < server_tat - tolerance - 1e-9:
            refused += 1
            continue
        server_tat = max(server_tat, arrival) + interval
    assert refused == 0
    assert arrivals[-1] < 140 * interval + 0.1  # and the rate is not given up for it
