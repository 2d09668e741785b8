"""`TaskResult`: what a task beside watchers returned or raised, for after its group.

Work that runs in a task group beside a watcher (a deadline, a signal receiver) must
stop the watcher when it ends, and its error must reach the caller as itself, not
wrapped in the group's `ExceptionGroup`, so callers can catch the SDK's typed errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import anyio

__all__ = ["TaskResult"]

R = TypeVar("R")


class TaskResult(Generic[R]):
    def __init__(self) -> None:
        self._returned: list[R] = []
        self.error: Exception | None = None

    async def capture(self, work: Callable[[], Awaitable[R]], watchers: anyio.CancelScope) -> None:
        """Run `work` and keep what it returns or raises; then cancel `watchers`."""
        try:
            self._returned.append(await work())
        except Exception as exc:  # raised by `value()` as itself, not in a group
            self.error = exc
        finally:
            watchers.cancel()

    @property
    def returned(self) -> bool:
        return bool(self._returned)

    def value(self) -> R:
        """What the work returned, or its error raised; only once it has ended."""
        if self.error is not None:
            raise self.error
        return self._returned[0]
