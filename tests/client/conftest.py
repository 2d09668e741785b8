from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from pacta_async.testing import FakeClock


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def clock() -> AsyncIterator[FakeClock]:
    fake = FakeClock()
    async with anyio.create_task_group() as tg:
        tg.start_soon(fake.autojump)
        yield fake
        tg.cancel_scope.cancel()
