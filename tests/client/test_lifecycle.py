"""The client in real services: entered, used and closed from any task, like httpx."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import warnings
from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import httpx
import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pacta_async import (
    AsyncPager,
    ClientClosedError,
    EventLoopMismatchError,
    PactaClient,
)
from pacta_async.testing import ReferenceServer

from .support import TOKEN, Script, document, make_client


def listing(ids: list[int], total_pages: int) -> httpx.Response:
    return httpx.Response(
        200, json={"documents": [document(i) for i in ids], "totalPages": total_pages}
    )


# -- pytest-asyncio: setup and teardown of an async fixture run in different tasks --------


@pytest_asyncio.fixture
async def pacta() -> AsyncIterator[PactaClient]:
    script = Script([httpx.Response(200, json=document(7))])
    async with make_client(script) as client:
        yield client


@pytest.mark.asyncio
async def test_a_pytest_asyncio_fixture_can_hold_a_client(pacta: PactaClient) -> None:
    assert (await pacta.documents.get(7)).id == 7


@pytest.mark.asyncio
async def test_a_pytest_asyncio_fixture_can_hold_a_client_again(pacta: PactaClient) -> None:
    # A second test: the first one's teardown (in another task) must have gone well.
    assert (await pacta.documents.get(7)).id == 7


@pytest_asyncio.fixture
async def reference() -> AsyncIterator[tuple[ReferenceServer, PactaClient]]:
    server = ReferenceServer()
    token = server.create_token(server.create_team())
    async with PactaClient(
        token, base_url="http://localhost", transport=server.transport(), rate_limiter=None
    ) as client:
        yield server, client


@pytest.mark.asyncio
async def test_a_pytest_asyncio_fixture_against_the_reference_server(
    reference: tuple[ReferenceServer, PactaClient],
) -> None:
    _, client = reference
    assert (await client.documents.list()).documents == []


# -- enter, use and exit in three different tasks ------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_enter_use_and_exit_in_different_tasks() -> None:
    script = Script([httpx.Response(200, json=document(1))])
    client = make_client(script)
    seen: list[int] = []

    async def enter() -> None:
        await client.__aenter__()

    async def use() -> None:
        seen.append((await client.documents.get(1)).id)

    async def leave() -> None:
        await client.__aexit__(None, None, None)

    for step in (enter, use, leave):
        async with anyio.create_task_group() as tg:
            tg.start_soon(step)
    assert seen == [1]
    assert client.is_closed


# -- a Starlette (FastAPI) lifespan: entered and exited in the lifespan task ---------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_client_held_by_an_asgi_lifespan() -> None:
    """uvicorn runs the lifespan in one task and each request in another, as for FastAPI
    (whose `lifespan=` is Starlette's)."""
    pacta = ReferenceServer()
    token = pacta.create_token(pacta.create_team())
    clients: list[PactaClient] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, PactaClient]]:
        async with PactaClient(
            token, base_url="http://localhost", transport=pacta.transport()
        ) as client:
            clients.append(client)
            yield {"pacta": client}

    async def count(request: Request) -> JSONResponse:
        client: PactaClient = request.state.pacta
        documents = [d async for d in client.documents.iter()]
        return JSONResponse({"documents": len(documents)})

    app = Starlette(routes=[Route("/count", count)], lifespan=lifespan)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
            await anyio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            answers = [(await http.get("/count")).json() for _ in range(3)]
        server.should_exit = True
    assert answers == [{"documents": 0}] * 3
    assert clients[0].is_closed


# -- after close, and from another event loop: typed errors, nothing sent ------------------


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_use_after_close_is_a_typed_error() -> None:
    script = Script([httpx.Response(200, json=document(1))])
    async with make_client(script) as client:
        await client.documents.get(1)
    with pytest.raises(ClientClosedError, match="closed"):
        await client.documents.get(1)
    with pytest.raises(ClientClosedError):
        await client.documents.create(b"%PDF-1.4 x", title="t")
    with pytest.raises(ClientClosedError):
        async with client:
            pass
    await client.aclose()  # twice is fine
    assert len(script.requests) == 1


def test_use_from_a_second_event_loop_is_a_typed_error() -> None:
    script = Script([httpx.Response(200, json=document(1))])
    client = make_client(script)

    async def get() -> int:
        return (await client.documents.get(1)).id

    assert asyncio.run(get()) == 1
    with pytest.raises(EventLoopMismatchError, match="one client per event loop"):
        asyncio.run(get())
    with pytest.raises(EventLoopMismatchError):
        anyio.run(get, backend="trio")
    assert len(script.requests) == 1


# -- early exit from iteration: clean on trio, nothing left behind -------------------------


async def _pages(page: int) -> tuple[list[object], int]:
    class Item:
        def __init__(self, id: int) -> None:
            self.id = id

    return [Item(1000 - page * 10 - i) for i in range(5)], 50


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_leaving_iteration_early_leaves_nothing_behind() -> None:
    script = Script([listing([6, 5, 4], 9)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with make_client(script) as client:
            async for _ in client.documents.iter(per_page=3):
                break
            with anyio.move_on_after(0) as scope:
                async for _ in client.documents.iter(per_page=3):
                    await anyio.sleep(1)
            assert scope.cancelled_caught
            async with client.documents.iter(per_page=3) as documents:
                async for _ in documents:
                    break
            gc.collect()
            await anyio.lowlevel.checkpoint()
    # trio warns of an async generator collected unfinished (from its GC hook, so the
    # warning cannot be raised here; it is recorded).
    assert [str(w.message) for w in caught] == []


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_a_prefetch_block_can_be_left_from_a_cancel_scope() -> None:
    pager = AsyncPager(_pages)  # type: ignore[arg-type]
    seen = 0
    with anyio.move_on_after(0.05):
        async with pager as items:
            async for _ in items:
                seen += 1
                await anyio.sleep(0.001)
    assert seen > 5  # past the first page, then cancelled with a prefetch in flight
    # The pager is usable again, page by page.
    async for _ in pager:
        break


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_iteration_continues_after_its_block_is_left() -> None:
    pager = AsyncPager(_pages)  # type: ignore[arg-type]
    async with pager:
        items = aiter(pager)
        first = await anext(items)
    second = await anext(items)  # the unfinished prefetch was cancelled: fetched again
    assert (first.id, second.id) == (990, 989)  # type: ignore[attr-defined]
    assert [await anext(items) for _ in range(4)][-1].id == 980  # type: ignore[attr-defined]


def test_the_client_cannot_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(PactaClient(TOKEN))
