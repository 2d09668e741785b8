"""Stopping a batch on SIGINT or SIGTERM without losing what is in flight.

Docker, Kubernetes, systemd and `timeout` send SIGTERM and wait a while before
SIGKILL; Ctrl-C sends SIGINT. Either way the items already on their way to Pacta are
worth finishing and recording, so the first signal only stops new items from
starting and gives those in flight a grace period; then they are cancelled (the
journal still has them in flight, so a rerun checks them first). A second signal
cancels at once.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import TypeVar

import anyio
from anyio.abc import TaskGroup

from .._task_result import TaskResult
from ._output import PROG

__all__ = ["DEFAULT_GRACE", "Stopper"]

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_GRACE = 5.0  # seconds: well inside Docker's 10 s between SIGTERM and SIGKILL
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopper:
    """Hands items to a batch one free worker at a time, and stops it on a signal."""

    def __init__(self, concurrency: int, grace: float) -> None:
        self.signal: signal.Signals | None = None  # the first one received
        self.cancelled = False  # in-flight items were cancelled, not finished
        self._concurrency = concurrency
        self._grace = grace
        self._started = 0
        self._finished = 0
        self._changed = anyio.Event()

    @property
    def in_flight(self) -> int:
        return self._started - self._finished

    async def gate(self, items: Iterable[T]) -> AsyncIterator[T]:
        """`items`, each only once a worker is free for it, and none after a signal.

        The batch buffers what it is given; held back here, every item handed over is
        one a worker starts at once, so nothing new starts after a signal.
        """
        for item in items:
            while self.signal is None and self.in_flight >= self._concurrency:
                await self._changed.wait()
            if self.signal is not None:
                return
            self._started += 1
            yield item

    def finished(self) -> None:
        """One item's result has arrived."""
        self._finished += 1
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def run(self, job: Callable[[], Awaitable[R]]) -> R | None:
        """`job`'s result, or None when a signal made it stop before it returned."""
        if threading.current_thread() is not threading.main_thread():
            return await job()  # signals reach only the main thread (tests call main())
        result = TaskResult[R]()
        with _handlers_restored(), anyio.open_signal_receiver(*_SIGNALS) as signals:
            async with anyio.create_task_group() as tg:
                tg.start_soon(result.capture, job, tg.cancel_scope)  # then stops the watcher
                async for signum in signals:
                    self._on_signal(signum, tg)
        if result.error is None and not result.returned:
            self.cancelled = True
            return None
        return result.value()

    def _on_signal(self, signum: signal.Signals, tg: TaskGroup) -> None:
        if self.signal is not None or not self.in_flight:
            tg.cancel_scope.cancel()
            if self.signal is None:
                self.signal = signum
            return
        self.signal = signum
        self._notify()
        print(
            f"{PROG}: {signum.name}: stopping; no new item starts, and the {self.in_flight} "
            f"in flight get {self._grace:g}s to finish ({signum.name} again: stop now)",
            file=sys.stderr,
            flush=True,
        )

        async def expire() -> None:
            await anyio.sleep(self._grace)
            tg.cancel_scope.cancel()

        tg.start_soon(expire)


@contextlib.contextmanager
def _handlers_restored() -> Iterator[None]:
    # asyncio resets a signal it handled to the default on exit, not to what was there
    # before (the command line's own SIGTERM handler), which would leave SIGTERM fatal.
    previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(signum, handler)
