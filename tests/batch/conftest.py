"""Fixtures for the batch tests: an in-process reference server with raised limits, and a
fake clock that waits for the journal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import pytest

from pacta_async import PactaClient
from pacta_async.testing import FakeClock, ReferenceServer

from .support import client_for, fast_server


@pytest.fixture
def server() -> ReferenceServer:
    return fast_server()


@pytest.fixture
def token(server: ReferenceServer) -> str:
    return server.create_token(server.create_team("Acme"))


@pytest.fixture
async def client(server: ReferenceServer, token: str) -> AsyncIterator[PactaClient]:
    async with client_for(server, token) as client:
        yield client


@pytest.fixture
async def clock(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeClock]:
    """The shared fake clock (tests/conftest.py), standing still while a worker thread
    runs: the journal's SQLite calls. The plain autojump sees every task blocked then
    and jumps to the next sleeper however far away, such as the batch's unreachable
    deadline or the grace of its stop, which would make timings depend on fsyncs."""
    fake = FakeClock()
    busy = 0
    run_sync = anyio.to_thread.run_sync

    async def counted(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        nonlocal busy
        busy += 1
        try:
            return await run_sync(function, *args, **kwargs)
        finally:
            busy -= 1

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)

    async def autojump() -> None:
        while True:
            for _ in range(20):  # as FakeClock.autojump: let woken tasks run first
                await anyio.lowlevel.checkpoint()
            await anyio.wait_all_tasks_blocked()
            deadline = fake.next_deadline
            if busy or deadline is None:
                await anyio.sleep(0.001)
            else:
                fake.advance(max(0.0, deadline - fake.monotonic()))

    async with anyio.create_task_group() as tg:
        tg.start_soon(autojump)
        yield fake
        tg.cancel_scope.cancel()
