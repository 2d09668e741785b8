"""The aiohttp transport's error types, which decide what the retry layer may repeat.

A bare socket server stands in for the network failures the reference server cannot
produce through ASGI: a connection closed with no answer at all, after the request
arrived, and a port nobody listens on. The rest of the client suite runs over this
transport too (tests/client/test_against_server.py, mode "aiohttp").
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pacta_async import AioHttpTransport, APIConnectionError, APITimeoutError, PactaClient
from pacta_async.testing import FakeClock, Limits, ReferenceServer, make_pdf

from .support import TOKEN

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # aiohttp runs on asyncio only


class HangUp:
    """Reads each request in full, counts it, and closes the connection unanswered."""

    def __init__(self) -> None:
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        self.requests += 1
        writer.close()


@pytest.fixture
async def hang_up() -> AsyncIterator[tuple[HangUp, str]]:
    server = HangUp()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield server, f"http://127.0.0.1:{port}/api/v1"


def client(url: str, clock: FakeClock, **options: object) -> PactaClient:
    return PactaClient(
        TOKEN,
        base_url=url,
        transport=AioHttpTransport(),
        rate_limiter=None,
        clock=clock,
        **options,  # type: ignore[arg-type]
    )


async def test_a_post_whose_connection_closes_unanswered_is_not_repeated(
    hang_up: tuple[HangUp, str], clock: FakeClock
) -> None:
    server, url = hang_up
    async with client(url, clock, max_retries=3) as pacta:
        with pytest.raises(APIConnectionError) as caught:
            await pacta.documents.send(42)
    assert not isinstance(caught.value, APITimeoutError)
    assert server.requests == 1  # it may have arrived: never sent twice


async def test_a_get_whose_connection_closes_unanswered_is_retried(
    hang_up: tuple[HangUp, str], clock: FakeClock
) -> None:
    server, url = hang_up
    async with client(url, clock, max_retries=2) as pacta:
        with pytest.raises(APIConnectionError):
            await pacta.documents.get(42)
    # Three attempts of ours; aiohttp repeats an idempotent request once more itself.
    assert server.requests in (3, 6)


async def test_a_refused_connection_never_sent_anything_so_a_post_is_retried(
    clock: FakeClock,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        retries: list[str | None] = []
        async with client(
            f"http://127.0.0.1:{port}/api/v1",
            clock,
            max_retries=2,
            on_retry=lambda event: retries.append(event.error),
        ) as pacta:
            with pytest.raises(APIConnectionError):
                await pacta.documents.send(42)
    assert retries == ["ConnectError", "ConnectError"]


async def test_trio_gets_a_clear_error() -> None:
    import trio

    from pacta_async import ConfigurationError

    async def main() -> None:
        async with PactaClient(
            TOKEN, base_url="http://127.0.0.1:9/api/v1", transport=AioHttpTransport(),
            rate_limiter=None, allow_insecure_http=True,
        ) as pacta:  # fmt: skip
            with pytest.raises(ConfigurationError, match="asyncio"):
                await pacta.documents.get(1)

    await asyncio.to_thread(trio.run, main)


@pytest.fixture(scope="module")
def reference() -> Iterator[tuple[ReferenceServer, str]]:
    server = ReferenceServer(limits=Limits(general=1_000_000, send=1_000_000))
    with server.serve_in_thread() as url:
        yield server, url


async def test_bodies_asked_for_as_a_stream_or_too_large_to_read_at_once_are_streamed(
    reference: tuple[ReferenceServer, str], tmp_path: Path
) -> None:
    """Small answers are read in one call; these two take the transport's stream path."""
    server, url = reference
    pdf = make_pdf(11_000)
    assert len(pdf) > 1 << 20  # above what the transport reads at once
    async with PactaClient(
        server.create_token(server.create_team()), base_url=url, transport=AioHttpTransport(),
        rate_limiter=None,
    ) as pacta:  # fmt: skip
        document = await pacta.documents.create(
            pdf, title="Large", recipients=[{"name": "Ann", "email": "ann@example.com"}]
        )
        async with pacta.with_streaming_response.get(f"/documents/{document.id}") as response:
            chunks = [chunk async for chunk in response.iter_bytes()]
        downloaded = await pacta.documents.download(
            document.id, tmp_path / "original.pdf", original=True
        )
    assert json.loads(b"".join(chunks))["id"] == document.id
    assert downloaded.size == len(pdf)
    assert (tmp_path / "original.pdf").read_bytes() == pdf
