"""`async for` over pages: filters kept, no duplicates, the next page prefetched."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import httpx
import pytest

from pacta_async import AsyncPager, InvalidInputError, ResponseValidationError

from .support import Script, document, make_client

pytestmark = pytest.mark.anyio


class Item:
    def __init__(self, id: int) -> None:
        self.id = id


def listing(ids: list[int], total_pages: int) -> httpx.Response:
    return httpx.Response(
        200, json={"documents": [document(i) for i in ids], "totalPages": total_pages}
    )


async def test_iter_walks_every_page_and_keeps_the_filter() -> None:
    script = Script([listing([6, 5], 3), listing([4, 3], 3), listing([2, 1], 3)])
    async with make_client(script) as client:
        ids = [d.id async for d in client.documents.iter(status="PENDING", per_page=2)]
    assert ids == [6, 5, 4, 3, 2, 1]
    params = [dict(r.url.params) for r in script.requests]
    assert params == [{"page": str(n), "perPage": "2", "status": "PENDING"} for n in (1, 2, 3)]


async def test_documents_shifted_by_new_ones_are_not_yielded_twice() -> None:
    # Two documents (8, 7) are created after page 1 was read: 5 and 4 move to page 2.
    script = Script([listing([6, 5, 4], 2), listing([5, 4, 3, 2, 1], 3), listing([], 3)])
    async with make_client(script) as client:
        ids = [d.id async for d in client.documents.iter(per_page=3)]
    assert ids == [6, 5, 4, 3, 2, 1]


async def test_documents_are_built_as_they_are_reached_and_a_bad_one_stops_the_walk() -> None:
    bad = document(2)
    del bad["title"]
    page = {"documents": [document(3), bad, document(1)], "totalPages": 1}
    script = Script([httpx.Response(200, json=page)])
    async with make_client(script) as client:
        documents = aiter(client.documents.iter())
        assert (await anext(documents)).id == 3  # yielded before the bad one is read
        for _ in range(2):  # asked again, the walk does not skip past the bad document
            with pytest.raises(ResponseValidationError, match="not a valid DocumentList") as e:
                await anext(documents)
            assert e.value.field == "title"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"documents": 3, "totalPages": 1}, "documents"),
        ({"documents": [], "totalPages": "1"}, "totalPages"),
        ({"documents": []}, "totalPages"),
        ([], None),
    ],
)
async def test_a_page_of_the_wrong_shape_is_a_validation_error(
    body: object, field: str | None
) -> None:
    script = Script([httpx.Response(200, json=body)])
    async with make_client(script) as client:
        with pytest.raises(ResponseValidationError) as raised:
            [d async for d in client.documents.iter()]
    assert raised.value.field == field


async def test_the_next_page_is_fetched_while_this_one_is_consumed() -> None:
    started: list[int] = []
    release = anyio.Event()

    async def fetch(page: int) -> tuple[list[Item], int]:
        started.append(page)
        if page == 2:
            await release.wait()
        return [Item(100 - page * 10 - i) for i in range(3)], 2

    seen = []
    async with AsyncPager(fetch) as pager:
        async for item in pager:
            seen.append(item.id)
            if len(seen) == 1:
                await anyio.wait_all_tasks_blocked()
                assert started == [1, 2]  # page 2 requested before page 1 is done
                release.set()
    assert seen == [90, 89, 88, 80, 79, 78]


async def test_the_prefetch_gets_its_turns_when_the_consumer_never_awaits() -> None:
    turns: list[int] = []  # how many items of page 1 were out at each turn of page 2's fetch
    seen: list[int] = []

    async def fetch(page: int) -> tuple[list[Item], int]:
        if page == 2:
            for _ in range(12):  # a fetch takes several turns
                turns.append(len(seen))
                await anyio.lowlevel.checkpoint()
            turns.append(len(seen))
        return [Item(1000 - page * 100 - i) for i in range(25)], 2

    async with AsyncPager(fetch) as pager:
        async for item in pager:  # the body never awaits
            seen.append(item.id)
    # A turn at each of the first 10 items, then every 10 (trio may run the waiting task
    # only at the consumer's next turn), not at every item, nor only at the page's end.
    assert turns[0] in (0, 1)
    assert set(turns) <= {*range(11), 20, 25}
    assert any(10 <= n <= 20 for n in turns)
    assert seen == [*range(900, 875, -1), *range(800, 775, -1)]


async def test_without_a_block_pages_are_fetched_on_demand() -> None:
    started: list[int] = []

    async def fetch(page: int) -> tuple[list[Item], int]:
        started.append(page)
        return [Item(10 - page)], 3

    seen = []
    async for item in AsyncPager(fetch):
        seen.append(item.id)
        assert started[-1] == len(seen)
    assert seen == [9, 8, 7]


async def test_a_failed_prefetch_is_raised_to_the_consumer() -> None:
    async def fetch(page: int) -> tuple[list[Item], int]:
        if page == 2:
            raise RuntimeError("page 2 failed")
        return [Item(5)], 2

    async def walk() -> None:
        async with AsyncPager(fetch) as pager:
            async for _ in pager:
                pass

    with pytest.raises(RuntimeError, match="page 2 failed"):  # not in an ExceptionGroup
        await walk()


async def test_templates_iterate_too() -> None:
    def page(ids: list[int], total: int) -> httpx.Response:
        templates = [
            {
                "id": i,
                "title": "t",
                "externalId": None,
                "teamId": 1,
                "createdAt": "2026-05-12T09:30:00.000Z",
                "updatedAt": "2026-05-12T09:30:00.000Z",
                "recipients": [],
                "fields": [],
            }
            for i in ids
        ]
        return httpx.Response(200, json={"templates": templates, "totalPages": total})

    script = Script([page([3, 2], 2), page([1], 2)])
    async with make_client(script) as client:
        assert [t.id async for t in client.templates.iter(per_page=2)] == [3, 2, 1]


@pytest.mark.parametrize("per_page", [0, 101, -1])
async def test_bad_page_sizes_are_refused(per_page: int) -> None:
    async with make_client(Script([listing([], 1)])) as client:
        with pytest.raises(InvalidInputError, match="per_page"):
            client.documents.iter(per_page=per_page)
        with pytest.raises(InvalidInputError, match="per_page"):
            await client.documents.list(per_page=per_page)
