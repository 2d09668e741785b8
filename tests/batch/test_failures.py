"""How a batch stops, or converges, when the trouble is not one item's: a full disk under
the journal, a fail-closed limiter whose Redis died, a template refused or gone, Pacta
answering half of everything with 5xx, Pacta unreachable past the deadline."""

from __future__ import annotations

import collections
import logging
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from pacta_async import (
    BatchSummary,
    ConfigurationError,
    GenerateItem,
    ItemResult,
    ItemStatus,
    JournalError,
    NotFoundError,
    PactaClient,
    PermissionDeniedError,
    RateLimiter,
    RateLimiterUnavailableError,
    RedisRateLimiter,
    ServerUnreachableError,
)
from pacta_async._batch import _journal
from pacta_async._batch._reachability import STOP_GRACE
from pacta_async._cli import main
from pacta_async.testing import FakeClock, Faults, ReferenceServer

from ..redis_server import running_redis
from .support import (
    BASE_URL,
    REQUESTS_PER_MINUTE,
    SENDS_PER_MINUTE,
    Interceptor,
    client_for,
    documents_by_external_id,
    fast_server,
    is_post,
    journal_states,
    make_template,
    people,
)

pytestmark = pytest.mark.anyio


def _exactly_once(held: collections.Counter[str | None], items: int) -> None:
    made = {key: count for key, count in held.items() if key is not None}
    assert len(made) == items
    assert set(made.values()) == {1}


# -- a full disk under the journal ------------------------------------------------------


class _DiskFills:
    """Every journal connection gets a real SQLITE_FULL once `fill()` is called: SQLite's
    page limit set to the pages the file has, as a full disk would leave it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._connections: list[sqlite3.Connection] = []
        self.failures = 0
        connect = sqlite3.connect

        def connecting(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            connection = connect(*args, **kwargs)
            self._connections.append(connection)
            return connection

        monkeypatch.setattr(_journal.sqlite3, "connect", connecting)
        run = _journal.SqliteJournal._run

        async def counting(journal: _journal.SqliteJournal, call: Callable[[], Any]) -> Any:
            try:
                return await run(journal, call)
            except JournalError:
                self.failures += 1
                raise

        monkeypatch.setattr(_journal.SqliteJournal, "_run", counting)

    def fill(self) -> None:
        for connection in self._connections:
            pages = connection.execute("PRAGMA page_count").fetchone()[0]
            connection.execute(f"PRAGMA max_page_count = {pages}")


async def test_a_full_disk_in_several_workers_is_one_journal_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    disk = _DiskFills(monkeypatch)
    server = fast_server()
    token = server.create_token(server.create_team())
    done = 0

    def fill_after_three(result: ItemResult[GenerateItem]) -> None:
        nonlocal done
        done += 1
        if done == 3:
            disk.fill()

    async with client_for(server, token) as client:
        template_id, placeholder = await make_template(client)
        with pytest.raises(JournalError, match="full") as raised:
            await client.batch.generate_many(
                template_id,
                people(placeholder, 400),
                journal=tmp_path / "j",
                concurrency=8,
                on_result=fill_after_three,
            )
    assert type(raised.value) is JournalError  # not an ExceptionGroup
    assert disk.failures >= 1


def test_the_cli_reports_a_full_disk_in_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = _DiskFills(monkeypatch)
    # The CLI's notice handler writes to this test's stderr, not an earlier test's.
    monkeypatch.setattr(logging.getLogger("pacta_async.batch"), "handlers", [])
    server = fast_server()
    token = server.create_token(server.create_team())
    rows = tmp_path / "people.csv"
    rows.write_text("name,email\n" + "".join(f"P{n},p{n}@x.io\n" for n in range(300)))
    with server.serve_in_thread() as base_url:

        async def template() -> int:
            async with PactaClient(token, base_url=base_url, rate_limiter=None) as client:
                return (await make_template(client))[0]

        template_id = anyio.run(template)
        # The disk fills once the journal holds its header and a few items.
        real_in_flight = _journal.SqliteJournal.in_flight
        calls = 0

        async def in_flight(journal: _journal.SqliteJournal, *args: Any) -> None:
            nonlocal calls
            calls += 1
            if calls == 5:
                disk.fill()
            await real_in_flight(journal, *args)

        monkeypatch.setattr(_journal.SqliteJournal, "in_flight", in_flight)
        status = main(
            [
                "batch",
                "generate",
                str(template_id),
                str(rows),
                "--journal",
                str(tmp_path / "j"),
                "--token",
                token,
                "--base-url",
                base_url,
                "--requests-per-minute=1000000",
                "--sends-per-minute=1000000",
                "--concurrency=8",
            ]
        )
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("pacta-async: error:")]
    assert status == 2
    assert len(errors) == 1
    assert "full" in errors[0]
    assert "Traceback" not in err
    assert "ExceptionGroup" not in err
    assert disk.failures >= 1


# -- a fail-closed limiter whose Redis died ------------------------------------------


def _redis_limiter(port: int, token: str, clock: FakeClock) -> RedisRateLimiter:
    # Fails at once when nothing listens, as the limiter's docstring advises.
    client = redis.asyncio.Redis(port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    return RedisRateLimiter(
        client,
        token,
        requests_per_minute=REQUESTS_PER_MINUTE,
        sends_per_minute=SENDS_PER_MINUTE,
        key_prefix=f"test:batch:{uuid.uuid4().hex}:",
        clock=clock,
    )


@pytest.mark.redis
async def test_a_fail_closed_limiter_whose_redis_died_sends_nothing_and_leaves_all_pending(
    clock: FakeClock, tmp_path: Path, anyio_backend: str
) -> None:
    server = fast_server(clock)
    token = server.create_token(server.create_team())
    reached: list[str] = []
    transport = Interceptor(server.transport(), before=lambda r: reached.append(r.url.path))
    journal = tmp_path / "j"
    results: list[ItemResult[GenerateItem]] = []
    with running_redis(tmp_path) as port:
        if anyio_backend == "asyncio":  # redis-py's async client runs on asyncio only
            limiter = _redis_limiter(port, token, clock)
            async with _with_limiter(server, token, clock, transport, limiter) as client:
                template_id, placeholder = await make_template(client)
                first = await client.batch.generate_many(
                    template_id, people(placeholder, 10), journal=journal
                )
            assert first.sent == 10
    # Redis is stopped now: its port refuses connections.
    if anyio_backend == "trio":
        limiter = _redis_limiter(port, token, clock)
        async with client_for(server, token, clock=clock) as setup:
            template_id, placeholder = await make_template(setup)
    before = len(reached)
    started = clock.monotonic()
    async with _with_limiter(server, token, clock, transport, limiter) as client:
        # asyncio: Redis unreachable, fail closed; trio: a limiter that cannot run there.
        expected = RateLimiterUnavailableError if anyio_backend == "asyncio" else ConfigurationError
        with pytest.raises(expected) as raised:
            await client.batch.generate_many(
                template_id,
                people(placeholder, 200),
                journal=journal,
                concurrency=8,
                on_result=results.append,
            )
    assert type(raised.value) is expected  # one typed error, no group
    assert clock.monotonic() - started < 1  # no check budget spent, no backoff waited out
    assert len(reached) == before  # nothing reached Pacta
    # Every item "not sent": none reported unknown (or at all), none left in flight.
    assert [r for r in results if r.status is not ItemStatus.SKIPPED] == []
    states = journal_states(journal)
    assert {state for state, _ in states.values()} <= {"sent"}
    assert len(states) == (10 if anyio_backend == "asyncio" else 0)
    # With a working limiter, the rerun sends the rest, each once.
    async with client_for(server, token, clock=clock) as client:
        rerun = await client.batch.generate_many(
            template_id, people(placeholder, 200), journal=journal
        )
        held = await documents_by_external_id(client)
    assert rerun.failed == rerun.unknown == 0
    assert rerun.sent + rerun.skipped == 200
    _exactly_once(held, 200)


def _with_limiter(
    server: ReferenceServer,
    token: str,
    clock: FakeClock,
    transport: httpx.AsyncBaseTransport,
    limiter: RateLimiter,
) -> PactaClient:
    return PactaClient(
        token,
        base_url=BASE_URL,
        allow_insecure_http=True,
        transport=transport,
        rate_limiter=limiter,
        clock=clock,
    )


# -- the batch's own template refused or missing -------------------------------------


async def test_a_missing_template_stops_the_batch_at_once() -> None:
    server = fast_server()
    token = server.create_token(server.create_team())
    generates = 0

    def count(request: httpx.Request) -> None:
        nonlocal generates
        generates += request.url.path.endswith("/generate")

    transport = Interceptor(server.transport(), before=count)
    async with client_for(server, token, transport=transport) as client:
        with pytest.raises(NotFoundError):
            await client.batch.generate_many(999, people(1, 500), concurrency=4)
    assert generates <= 4  # the first answer stops it, not 500 of them


async def test_a_forbidden_template_stops_the_batch_at_once(clock: FakeClock) -> None:
    server = fast_server(clock)
    token = server.create_token(server.create_team())
    generates = 0

    class Forbidden(httpx.AsyncBaseTransport):
        """Pacta's 403 on the template (a plan or a role that lost access to it)."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal generates
            if request.url.path.endswith("/generate"):
                generates += 1
                return httpx.Response(
                    403,
                    json={"code": "FORBIDDEN", "message": "No access to template", "details": None},
                )
            return await server.transport().handle_async_request(request)

    async with client_for(server, token, transport=Forbidden(), clock=clock) as client:
        template_id, placeholder = await make_template(client)
        with pytest.raises(PermissionDeniedError):
            await client.batch.generate_many(template_id, people(placeholder, 500), concurrency=4)
    assert generates <= 4


# -- heavy faults: 50% 5xx, then a rerun ------------------------------------------------


async def test_a_rerun_at_half_5xx_finishes_with_each_item_once(clock: FakeClock) -> None:
    server = fast_server(clock)
    token = server.create_token(server.create_team())
    items = 100
    # No transport retries: the finder's own page retries must carry every scan.
    async with server.running(), client_for(server, token, clock=clock, max_retries=0) as client:
        template_id, placeholder = await make_template(client)
        # 600 documents already in the team: a scan is 7 pages of 100.
        await client.batch.generate_many(
            template_id, people(placeholder, 600, start=10_000), batch_id="earlier"
        )
        server.set_faults(Faults(error_rate=0.5, seed=21))
        first = await client.batch.generate_many(template_id, people(placeholder, items))
        rerun = await client.batch.generate_many(template_id, people(placeholder, items))
        server.clear_faults()
        held = await documents_by_external_id(client)
    assert first.sent > 0
    assert rerun.failed == rerun.unknown == 0
    assert rerun.skipped >= first.sent
    assert rerun.sent + rerun.skipped == items
    assert held[None] == 0
    assert len(held) == 600 + items
    assert set(held.values()) == {1}


# -- Pacta unreachable past the deadline ---------------------------------------------

DEADLINE = 120.0
READ_TIMEOUT = 60.0  # the client's defaults
CONNECT_TIMEOUT = 10.0


class _Outage(httpx.AsyncBaseTransport):
    """The server, until `down`: then every connection is refused at once, or dropped
    without an answer, or cannot be made before the connect timeout, or every request
    goes unanswered until the client's read timeout (a black hole: a firewall dropping
    packets)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, clock: FakeClock, fault: str) -> None:
        self._inner = inner
        self._clock = clock
        self._fault = fault
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.down:
            return await self._inner.handle_async_request(request)
        if self._fault == "refused":
            raise httpx.ConnectError("connection refused", request=request)
        if self._fault == "drops":  # what is listening drops every connection
            raise httpx.RemoteProtocolError("Server disconnected", request=request)
        if self._fault == "connect times out":
            timeouts = request.extensions.get("timeout") or {}
            await self._clock.sleep(
                min(CONNECT_TIMEOUT, timeouts.get("connect") or CONNECT_TIMEOUT)
            )
            raise httpx.ConnectTimeout("no connection", request=request)
        await self._clock.sleep(READ_TIMEOUT)
        raise httpx.ReadTimeout("no answer", request=request)


@pytest.mark.parametrize("fault", ["refused", "drops", "times out"])
async def test_past_the_unreachable_deadline_the_batch_stops_at_once_and_a_rerun_finishes(
    clock: FakeClock, tmp_path: Path, fault: str
) -> None:
    server = fast_server(clock)
    token = server.create_token(server.create_team())
    results: list[ItemResult[GenerateItem]] = []
    waiting: list[float] = []  # the progress line's "unreachable since", as it ticks

    def goes_down_after_ten(result: ItemResult[GenerateItem]) -> None:
        results.append(result)
        outage.down = outage.down or len(results) == 10

    def on_progress(summary: BatchSummary) -> None:
        if summary.unreachable_since is not None:
            waiting.append(summary.unreachable_since)

    outage = _Outage(server.transport(), clock, fault)
    journal = tmp_path / "j"
    async with client_for(server, token, clock=clock, transport=outage) as client:
        template_id, placeholder = await make_template(client)
        with pytest.raises(ServerUnreachableError, match="unreachable since") as raised:
            await client.batch.generate_many(
                template_id,
                people(placeholder, 100),
                journal=journal,
                unreachable_timeout=DEADLINE,
                on_result=goes_down_after_ten,
                on_progress=on_progress,
            )
        stopped = clock.monotonic()
        outage.down = False
        held = await documents_by_external_id(client)
        states = journal_states(journal)
        rerun = await client.batch.generate_many(
            template_id, people(placeholder, 100), journal=journal
        )
        after = await documents_by_external_id(client)
    assert type(raised.value) is ServerUnreachableError  # one typed error, no group
    # The progress line said so while it waited, and the stop came at the deadline (and
    # a grace for requests on their way), not once every item had finished its backoff,
    # check or settle window (before the fix: up to 8x the deadline).
    assert waiting, "no progress line said the server was unreachable"
    since = waiting[0] - clock.wall() + clock.monotonic()
    assert set(waiting) == {waiting[0]}
    assert DEADLINE <= stopped - since <= DEADLINE + STOP_GRACE
    # Nothing reported sent that Pacta does not hold, nor recorded so.
    reported = {r.external_id for r in results if r.status is ItemStatus.SENT}
    recorded = {
        key.removeprefix("external:") for key, (state, _) in states.items() if state == "sent"
    }
    assert len(results) < 100
    assert reported <= recorded == {key for key in held if key is not None}
    in_flight = [key for key, (state, _) in states.items() if state != "sent"]
    if fault == "refused":
        # No request of the stopped items left: they are pending, with nothing to check.
        assert in_flight == []
    else:
        # Requests dropped, timed out or cut off may have arrived: the rerun checks them.
        # (Before: each ended "unknown" once its checks had failed for 300 s.)
        assert 0 < len(in_flight) <= 8
    assert rerun.failed == rerun.unknown == 0
    assert rerun.skipped == len(recorded)
    assert rerun.sent + rerun.skipped == 100
    _exactly_once(after, 100)


async def test_a_request_that_never_left_before_its_total_timeout_is_not_sent(
    clock: FakeClock, tmp_path: Path
) -> None:
    """Reported as "unknown" in an outage: with a total timeout (the CLI's --timeout),
    an item whose connections timed out, then had no time left for another attempt,
    was taken as maybe sent, waited out the settle window, and needed checks that an
    outage makes fail."""
    server = fast_server(clock)
    token = server.create_token(server.create_team())
    outage = _Outage(server.transport(), clock, "connect times out")
    scans = 0

    def count_scans(request: httpx.Request) -> None:
        nonlocal scans
        if request.url.path.endswith("/documents") and request.method == "GET":
            scans += 1

    transport = Interceptor(outage, before=count_scans)
    fifth = anyio.Event()

    def on_result(result: ItemResult[GenerateItem]) -> None:
        nonlocal done
        done += 1
        if done == 5:
            fifth.set()

    done = 0
    async with client_for(
        # Two connect timeouts and the first backoff leave less than the second backoff.
        server,
        token,
        clock=clock,
        transport=transport,
        total_timeout=2 * CONNECT_TIMEOUT + 0.6,
    ) as client:
        template_id, placeholder = await make_template(client)

        async def down_for_a_minute() -> None:
            await fifth.wait()
            outage.down = True
            await clock.sleep(60)
            outage.down = False

        async with anyio.create_task_group() as tg:
            tg.start_soon(down_for_a_minute)
            scans = 0
            summary = await client.batch.generate_many(
                template_id, people(placeholder, 20), journal=tmp_path / "j", on_result=on_result
            )
            elapsed, checked = clock.monotonic(), scans
        held = await documents_by_external_id(client)
    assert summary.sent == 20
    assert summary.unknown == summary.failed == 0
    # Never in doubt: no check for any item (only the scan before the batch and the
    # newest document), no settle window waited out.
    assert checked == 2
    assert elapsed < 60 + 3 * CONNECT_TIMEOUT
    _exactly_once(held, 20)


async def test_a_429_longer_than_the_total_timeout_is_not_sent(clock: FakeClock) -> None:
    """The total timeout's error after a 429 (a wait that would end after it) is about a
    request Pacta refused, not one in doubt: the item is tried again, never checked."""
    server = fast_server(clock)
    token = server.create_token(server.create_team())
    limited = 3
    scans = 0

    class RateLimited(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal limited, scans
            if is_post(request, "/generate") and limited:
                limited -= 1
                return httpx.Response(
                    429,
                    headers={"Retry-After": "30"},
                    json={"code": "RATE_LIMITED", "message": "Slow down", "details": None},
                )
            scans += request.method == "GET" and request.url.path.endswith("/documents")
            return await server.transport().handle_async_request(request)

    async with client_for(
        server, token, clock=clock, transport=RateLimited(), total_timeout=10
    ) as client:
        template_id, placeholder = await make_template(client)
        summary = await client.batch.generate_many(template_id, people(placeholder, 3))
        checked = scans
        held = await documents_by_external_id(client)
    assert summary.sent == 3
    assert limited == 0
    assert checked == 2  # the scan before the batch and the newest document: no check
    _exactly_once(held, 3)
