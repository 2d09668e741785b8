"""`ReferenceServer.running()` entered in one task and left in another: an async
fixture's setup and teardown under pytest-asyncio, or a service started and stopped by
different tasks. Its background work (here: a request processed late) must run."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
import pytest_asyncio

from pacta_async.testing import FakeClock, Faults, ReferenceServer

BASE_URL = "http://pacta.test/api/v1"
LATE = Faults(late_rate=1.0, late_delay=5.0, routes={"POST /webhooks"})


async def _late_webhook(server: ReferenceServer, clock: FakeClock) -> None:
    """A create whose connection drops, processed 5 s later by the server's own work."""
    token = server.create_token(server.create_team())
    server.set_faults(LATE)
    async with httpx.AsyncClient(
        transport=server.transport(), base_url=BASE_URL, headers={"Authorization": token}
    ) as http:
        body = {"webhookUrl": "https://example.com/hook", "eventTriggers": ["DOCUMENT_SENT"]}
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/webhooks", json=body)
        server.clear_faults()
        listed = await http.get("/webhooks")
        assert listed.json() == {"webhooks": []}, listed.text
        await anyio.wait_all_tasks_blocked()  # the late one waits for its 5 s
        assert clock.next_deadline is not None
        clock.advance(5.0)
        await anyio.wait_all_tasks_blocked()
        assert len((await http.get("/webhooks")).json()["webhooks"]) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_running_entered_used_and_left_in_different_tasks() -> None:
    clock = FakeClock()
    server = ReferenceServer(clock=clock)
    block = server.running()

    async def enter() -> None:
        await block.__aenter__()

    async def use() -> None:
        await _late_webhook(server, clock)

    async def leave() -> None:
        await block.__aexit__(None, None, None)

    for step in (enter, use, leave):
        async with anyio.create_task_group() as tg:
            tg.start_soon(step)


@pytest_asyncio.fixture
async def running() -> AsyncIterator[tuple[ReferenceServer, FakeClock]]:
    clock = FakeClock()
    server = ReferenceServer(clock=clock)
    async with server.running():
        yield server, clock


@pytest.mark.asyncio
async def test_a_pytest_asyncio_fixture_can_hold_a_running_server(
    running: tuple[ReferenceServer, FakeClock],
) -> None:
    await _late_webhook(*running)


@pytest.mark.asyncio
async def test_a_pytest_asyncio_fixture_can_hold_a_running_server_again(
    running: tuple[ReferenceServer, FakeClock],
) -> None:
    # A second test: the first one's teardown (in another task) must have gone well.
    await _late_webhook(*running)
