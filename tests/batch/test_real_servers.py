"""Exactly once against servers that behave as real ones do: requests processed after
their client gave up, reruns with a lost journal or none, inputs edited between runs,
a journal reused against another account, a token revoked mid-batch."""

from __future__ import annotations

import collections
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pacta_async import AuthenticationError, GenerateItem, ItemResult, JournalError
from pacta_async.testing import SEND_ROUTES, FakeClock, Faults

from .support import (
    Interceptor,
    client_for,
    documents_by_external_id,
    fast_server,
    is_post,
    make_template,
    people,
)

pytestmark = pytest.mark.anyio


async def test_a_generate_processed_after_the_client_gave_up_is_not_repeated(
    clock: FakeClock,
) -> None:
    server = fast_server(clock)
    token = server.create_token(server.create_team())
    async with server.running(), client_for(server, token, clock=clock) as client:
        template_id, placeholder = await make_template(client)
        # Half the generates are answered by a dropped connection and made 30 s later.
        server.set_faults(Faults(late_rate=0.5, late_delay=30.0, routes=SEND_ROUTES, seed=5))
        summary = await client.batch.generate_many(
            template_id, people(placeholder, 40), concurrency=8
        )
        server.clear_faults()
        await clock.sleep(60)  # anything still pending lands
        by_external_id = await documents_by_external_id(client)
    assert summary.sent == 40
    assert summary.duplicates == ()
    assert len(by_external_id) == 40
    assert set(by_external_id.values()) == {1}


# 0.1 s: the window has passed before the first check even starts; it still counts.
@pytest.mark.parametrize("settle_window", [5.0, 0.1])
async def test_a_duplicate_that_gets_through_is_reported_with_both_documents(
    clock: FakeClock, settle_window: float
) -> None:
    server = fast_server(clock)
    token = server.create_token(server.create_team())
    generates = 0

    def only_the_first_is_late(request: httpx.Request) -> None:
        nonlocal generates
        generates += is_post(request, "/generate")
        if generates == 2:
            server.clear_faults()

    transport = Interceptor(server.transport(), before=only_the_first_is_late)
    async with server.running(), client_for(server, token, clock=clock, transport=transport) as c:
        template_id, placeholder = await make_template(c)
        first, second = people(placeholder, 2)

        async def rows() -> AsyncIterator[GenerateItem]:
            yield first
            await clock.sleep(40)  # the batch still runs when the late one lands
            yield second

        # Processed later than the (too short) settle window: item 0 is made twice.
        server.set_faults(Faults(late_rate=1.0, late_delay=30.0, routes=SEND_ROUTES))
        summary = await c.batch.generate_many(
            template_id, rows(), settle_window=settle_window, concurrency=1
        )
    assert not summary.ok
    [duplicate] = summary.duplicates
    assert duplicate.index == 0
    assert len(duplicate.document_ids) == 2


class SlowFirstCheck(httpx.AsyncBaseTransport):
    """The first list page asked after a generate is read at once, but its answer
    arrives `delay` seconds later, as from a server under load."""

    def __init__(self, inner: httpx.AsyncBaseTransport, clock: FakeClock, delay: float) -> None:
        self._inner = inner
        self._clock = clock
        self._delay = delay
        self.generated = False
        self.slowed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        listing = request.method == "GET" and request.url.path.endswith("/documents")
        slow = self.generated and listing and not self.slowed
        self.generated = self.generated or is_post(request, "/generate")
        response = await self._inner.handle_async_request(request)
        if slow:
            self.slowed = True
            await response.aread()
            await self._clock.sleep(self._delay)
        return response


async def test_a_check_that_ends_after_the_settle_window_but_began_before_it_is_not_final(
    clock: FakeClock,
) -> None:
    """The late document is made after the check read its page and before the window
    ends; the check's answer arrives after the window. Only a check that began after
    the window may clear the item for another generate."""
    server = fast_server(clock)
    token = server.create_token(server.create_team())
    transport = SlowFirstCheck(server.transport(), clock, delay=45.0)
    async with server.running(), client_for(server, token, clock=clock, transport=transport) as c:
        template_id, placeholder = await make_template(c)
        server.set_faults(Faults(late_rate=1.0, late_delay=30.0, routes=SEND_ROUTES))
        summary = await c.batch.generate_many(
            template_id, people(placeholder, 1), settle_window=40.0, concurrency=1
        )
        server.clear_faults()
        await clock.sleep(60)
        counts = await documents_by_external_id(c)
    assert transport.slowed
    assert summary.duplicates == ()
    assert (summary.sent, summary.skipped) == (1, 0)
    assert list(counts.values()) == [1]


async def test_inserting_a_row_resends_nothing(client_and_journal: tuple) -> None:  # type: ignore[type-arg]
    client, journal = client_and_journal
    template_id, placeholder = await make_template(client)
    rows = people(placeholder, 5)
    await client.batch.generate_many(template_id, rows, journal=journal)
    edited = [*people(placeholder, 1, start=100), *reversed(rows[1:])]  # insert, drop, reorder
    results: list[ItemResult[GenerateItem]] = []
    summary = await client.batch.generate_many(
        template_id, edited, journal=journal, on_result=results.append
    )
    assert (summary.sent, summary.skipped) == (1, 4)
    counts = await documents_by_external_id(client)
    assert len(counts) == 6
    assert set(counts.values()) == {1}


@pytest.mark.parametrize("damage", ["none", "copied alone", "empty", "deleted", "no_journal"])
async def test_a_rerun_with_a_lost_journal_or_none_finds_what_was_sent(
    client_and_journal: tuple,  # type: ignore[type-arg]
    damage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, journal = client_and_journal
    template_id, placeholder = await make_template(client)
    rows = people(placeholder, 30)
    await client.batch.generate_many(template_id, rows[:20], journal=journal)
    if damage == "copied alone":  # no -wal or -journal file beside it holds anything
        assert all(p.stat().st_size == 0 for p in journal.parent.iterdir() if p != journal)
        copy = journal.with_name("copy.journal")
        shutil.copyfile(journal, copy)
        journal = copy
    elif damage == "empty":
        journal.write_bytes(b"")
    elif damage == "deleted":
        journal.unlink()
    caplog.clear()
    summary = await client.batch.generate_many(
        template_id, rows, journal=None if damage == "no_journal" else journal
    )
    assert (summary.sent, summary.skipped) == (10, 20)
    # Without a journal that vouches for the batch, it says it checks Pacta, and the cost.
    notices = [r.getMessage() for r in caplog.records if r.name == "pacta_async.batch"]
    vouched = damage in {"none", "copied alone"}
    assert any("one request per 100 documents" in notice for notice in notices) != vouched
    counts = await documents_by_external_id(client)
    assert len(counts) == 30
    assert set(counts.values()) == {1}


async def test_a_journal_refuses_another_account(tmp_path: Path) -> None:
    server = fast_server()
    staging = server.create_token(server.create_team("Staging"))
    production = server.create_token(server.create_team("Production"))
    journal = tmp_path / "batch.journal"
    async with client_for(server, staging) as client:
        template_id, placeholder = await make_template(client)
        await client.batch.generate_many(template_id, people(placeholder, 3), journal=journal)
    async with client_for(server, production) as client:
        await make_template(client)  # the same template id, in the other team
        with pytest.raises(JournalError, match=r"was written for .*, not for .* another account"):
            await client.batch.generate_many(template_id, people(placeholder, 3), journal=journal)


async def test_a_revoked_token_stops_the_batch_at_once(tmp_path: Path) -> None:
    server = fast_server()
    token = server.create_token(server.create_team())
    requests: collections.Counter[str] = collections.Counter()

    def revoke_after_five(request: httpx.Request) -> None:
        requests[request.method] += 1
        if request.method == "POST" and requests["POST"] > 6:
            raise_401 = httpx.Response(
                401, json={"code": "UNAUTHORIZED", "message": "Invalid token", "details": None}
            )
            raise _Answer(raise_401)

    transport = _Answering(Interceptor(server.transport(), before=revoke_after_five))
    async with client_for(server, token, transport=transport) as client:
        template_id, placeholder = await make_template(client)
        with pytest.raises(AuthenticationError):
            await client.batch.generate_many(
                template_id, people(placeholder, 1000), journal=tmp_path / "j", concurrency=4
            )
    assert requests["POST"] < 20  # not 1000 items paced into a 401 each


async def test_a_journal_deleted_during_the_run_stops_it_with_one_error(
    client_and_journal: tuple,  # type: ignore[type-arg]
) -> None:
    client, journal = client_and_journal
    template_id, placeholder = await make_template(client)
    done = 0

    def delete_after_ten(result: ItemResult[GenerateItem]) -> None:
        nonlocal done
        done += 1
        if done == 10:
            journal.unlink()

    with pytest.raises(JournalError, match="deleted"):
        await client.batch.generate_many(
            template_id, people(placeholder, 50), journal=journal, on_result=delete_after_ten
        )


class _Answer(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response


class _Answering(httpx.AsyncBaseTransport):
    """Lets a test answer a request itself by raising `_Answer`."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except _Answer as answer:
            return answer.response


@pytest.fixture
async def client_and_journal(client, tmp_path: Path):  # type: ignore[no-untyped-def]
    return client, tmp_path / "batch.journal"
