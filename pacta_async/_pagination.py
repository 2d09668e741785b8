"""`async for` over Pacta's page-numbered lists.

Pacta lists documents newest first with `page`/`perPage`, so a document created
during a listing pushes older ones onto the next page, where they would be seen
twice. The pager skips anything at or above the lowest id it already yielded.
While one page is being consumed the next is fetched in the client's task group,
so at most two pages are held in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, Protocol, TypeVar

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup

__all__ = ["AsyncPager", "Page"]

T = TypeVar("T", bound="_HasId")
R = TypeVar("R")


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


Page = tuple[list[T], int]  # (items, totalPages)


class _Prefetch(Generic[R]):
    """A result being computed in another task; errors are handed to the reader."""

    def __init__(self) -> None:
        self._done = anyio.Event()
        self._result: R | None = None
        self._error: Exception | None = None

    async def run(self, fetch: Callable[[], Awaitable[R]]) -> None:
        try:
            self._result = await fetch()
        except Exception as exc:  # re-raised in the consumer's task by get()
            self._error = exc
        finally:
            self._done.set()

    async def get(self) -> R:
        await self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


class AsyncPager(Generic[T]):
    """Iterate every item of a paginated list: `async for doc in client.documents.iter()`.

    Prefetching needs the client's task group, which exists while the client is
    used as `async with PactaClient() as client`; otherwise pages are fetched one
    at a time when needed.
    """

    def __init__(
        self,
        fetch_page: Callable[[int], Awaitable[Page[T]]],
        *,
        task_group: TaskGroup | None,
    ) -> None:
        self._fetch_page = fetch_page
        self._task_group = task_group

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    def _start(self, page: int) -> Callable[[], Awaitable[Page[T]]]:
        if self._task_group is None:
            return lambda: self._fetch_page(page)
        prefetch: _Prefetch[Page[T]] = _Prefetch()
        self._task_group.start_soon(prefetch.run, lambda: self._fetch_page(page))
        return prefetch.get

    async def _iterate(self) -> AsyncIterator[T]:
        page = 1
        items, total_pages = await self._fetch_page(page)
        lowest_seen: int | None = None
        while True:
            more = bool(items) and page < total_pages
            next_page = self._start(page + 1) if more else None
            for item in items:
                if lowest_seen is not None and item.id >= lowest_seen:
                    continue  # shifted here from an earlier page by a newer document
                lowest_seen = item.id
                if next_page is not None:
                    # Give the prefetch a turn even if the consumer never awaits.
                    await anyio.lowlevel.checkpoint()
                yield item
            if next_page is None:
                return
            page += 1
            items, total_pages = await next_page()
