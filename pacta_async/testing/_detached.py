"""A task of its own for the reference server's background work, so `running()` can be
entered in one task and left in another.

A task group belongs to the task that opened it. An async fixture's setup and teardown
run in different tasks under pytest-asyncio, and a service may start and stop in
different tasks too, so the server's work (webhook deliveries, late requests) runs in a
task started here, beside the caller's: an asyncio task, or a trio system task. anyio
has no such task, hence the one place the backends are named.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = ["spawn"]

_RUNNING: set[asyncio.Task[None]] = set()  # asyncio keeps only weak references to tasks


def spawn(work: Callable[[], Awaitable[None]]) -> None:
    """Start `work` in a task of its own, on the running event loop. `work` must not
    raise: nobody waits for it but through what it sets."""

    async def run() -> None:
        await work()

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not asyncio: trio, the other backend anyio runs on
        import trio

        trio.lowlevel.spawn_system_task(run)
        return
    task = loop.create_task(run())
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
