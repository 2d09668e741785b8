"""Fixtures every test folder shares: the async backends and a fake clock.

A folder or module that must differ overrides a fixture locally, saying why.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from pacta_async.testing import FakeClock


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The library is anyio throughout and promises both backends: every async test runs
    on each."""
    return str(request.param)


@pytest.fixture
async def clock() -> AsyncIterator[FakeClock]:
    """A fake clock that jumps to the next sleeper's deadline whenever every task waits,
    so retries, backoff and pacing take no real time and have exact timings."""
    fake = FakeClock()
    async with anyio.create_task_group() as tg:
        tg.start_soon(fake.autojump)
        yield fake
        tg.cancel_scope.cancel()
