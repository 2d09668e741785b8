"""`async for` over Pacta's page-numbered lists.

Pacta lists documents newest first with `page`/`perPage`, so a document created
during a listing pushes older ones onto the next page, where they would be seen
twice. The pager skips anything at or above the lowest id it already yielded.

Prefetching the next page needs a task running beside the consumer, and under
structured concurrency a task needs a block that outlives it. A plain `async for`
offers none that is safe (a task group held across the yields of an async generator
breaks when the loop is left early, or the generator is closed from another task), so
it fetches each page when needed, holds nothing between items, and can be abandoned at
any point. `async with pager as items:` is the block: the next page is fetched in its
own task group while the current one is consumed, and leaving the block ends it.

A page's items may be any iterable: the resources hand over iterators that build each
model only when it is reached, so with a block the next page is requested as soon as
this one's body is in, and the models are built in the consumer's turn, while the
next page is on its way, rather than in front of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup

__all__ = ["AsyncPager", "Page"]

T = TypeVar("T", bound="_HasId")
R = TypeVar("R")


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


Page = tuple[Iterable[T], int]  # (items, totalPages)
# A consumer that never awaits still gives the prefetch turns: at each of a page's first
# items (the next request needs a few to go out), then at every tenth. A turn is a pass
# of the event loop: one per item would cost more than many consumers' own work.
_TURN_EVERY = 10


class _Prefetch(Generic[R]):
    """A result being computed in another task; errors are handed to the reader.

    If the task is cancelled first (its block was left), the reader fetches it itself.
    """

    def __init__(self, fetch: Callable[[], Awaitable[R]]) -> None:
        self._fetch = fetch
        self._done = anyio.Event()
        self._result: R | None = None
        self._error: Exception | None = None
        self._finished = False

    @property
    def pending(self) -> bool:
        return not self._done.is_set()

    async def run(self) -> None:
        try:
            self._result = await self._fetch()
            self._finished = True
        except Exception as exc:  # re-raised in the consumer's task by get()
            self._error = exc
            self._finished = True
        finally:
            self._done.set()

    async def get(self) -> R:
        await self._done.wait()
        if self._error is not None:
            raise self._error
        if not self._finished:
            return await self._fetch()
        assert self._result is not None
        return self._result


class _Items(AsyncIterator[T]):
    """One walk over the list. A plain object, not an async generator: leaving it early
    leaves nothing to finalise, on asyncio or trio."""

    def __init__(
        self,
        fetch_page: Callable[[int], Awaitable[Page[T]]],
        task_group: Callable[[], TaskGroup | None],
    ) -> None:
        self._fetch_page = fetch_page
        self._task_group = task_group
        self._page = 0
        self._items: Iterator[T] = iter(())
        self._next: Callable[[], Awaitable[Page[T]]] | None = lambda: fetch_page(1)
        self._lowest_seen: int | None = None
        self._prefetch: _Prefetch[Page[T]] | None = None  # the next page's, while it runs
        self._handed = 0  # items handed out from this page

    def _start(self, page: int) -> Callable[[], Awaitable[Page[T]]]:
        group = self._task_group()
        if group is None:
            self._prefetch = None
            return lambda: self._fetch_page(page)
        prefetch: _Prefetch[Page[T]] = _Prefetch(lambda: self._fetch_page(page))
        group.start_soon(prefetch.run)
        self._prefetch = prefetch
        return prefetch.get

    async def __anext__(self) -> T:
        while True:
            for item in self._items:
                if self._lowest_seen is not None and item.id >= self._lowest_seen:
                    continue  # shifted here from an earlier page by a newer document
                self._lowest_seen = item.id
                turn = self._handed < _TURN_EVERY or self._handed % _TURN_EVERY == 0
                self._handed += 1
                if turn and self._prefetch is not None and self._prefetch.pending:
                    await anyio.lowlevel.checkpoint()
                return item
            if self._next is None:
                raise StopAsyncIteration
            # State changes only after the fetch: a cancelled __anext__ can be retried.
            items, total_pages = await self._next()
            self._page += 1
            self._items = iter(items)
            self._handed = 0
            more = bool(items) and self._page < total_pages
            self._next = self._start(self._page + 1) if more else None


class AsyncPager(Generic[T]):
    """Every item of a paginated list, each once: `async for doc in client.documents.iter()`.

    Pages are fetched when needed. To fetch the next page while the current one is
    consumed (faster when the loop body awaits), use the pager as a block; the
    prefetch task lives exactly as long as the block::

        async with client.documents.iter() as documents:
            async for document in documents:
                ...
    """

    def __init__(self, fetch_page: Callable[[int], Awaitable[Page[T]]]) -> None:
        self._fetch_page = fetch_page
        self._group: TaskGroup | None = None

    def __aiter__(self) -> AsyncIterator[T]:
        return _Items(self._fetch_page, lambda: self._group)

    async def __aenter__(self) -> Self:
        if self._group is not None:
            raise RuntimeError("this pager's block is already open")
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        group, self._group = self._group, None
        assert group is not None
        group.cancel_scope.cancel()  # an unfinished prefetch is not needed any more
        # The body's own exception propagates unchanged, not in an ExceptionGroup:
        # prefetch tasks never raise, so the group has nothing to add.
        await group.__aexit__(None, None, None)
