"""The server over real loopback HTTP (`serve_in_thread`), and concurrent sends."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import IO

import anyio
import httpx
import pytest

from pacta_async.testing import SEND_ROUTES, Faults, Limits, ReferenceServer, Storm, make_pdf

from .conftest import CreateDocument
from .test_documents import assert_error

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def loopback() -> Iterator[tuple[ReferenceServer, str]]:
    server = ReferenceServer()
    with server.serve_in_thread() as base_url:
        yield server, base_url


@pytest.fixture
async def http(loopback: tuple[ReferenceServer, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a fresh team's token; faults are cleared afterwards."""
    server, base_url = loopback
    token = server.create_token(server.create_team())
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": token}) as client:
        yield client
    server.clear_faults()
    server.set_limits(Limits())


async def test_it_listens_on_loopback_only(loopback: tuple[ReferenceServer, str]) -> None:
    assert loopback[1].startswith("http://127.0.0.1:")
    assert loopback[1].endswith("/api/v1")


async def test_status_codes_over_the_network(
    http: httpx.AsyncClient,
    loopback: tuple[ReferenceServer, str],
    create_document: CreateDocument,
) -> None:
    server, _ = loopback
    document = await create_document(http=http, signature=True)
    assert (await http.post(f"/documents/{document['id']}/send")).status_code == 200
    again = await http.post(f"/documents/{document['id']}/send")
    assert_error(again, 400, "INVALID_DOCUMENT_STATUS", {"status": "PENDING"})
    bad_file = await http.post(
        "/documents", data={"title": "T"}, files={"file": ("a.pdf", b"nope", "application/pdf")}
    )
    assert_error(bad_file, 400, "INVALID_FILE")
    assert_error(await http.get("/documents/99999"), 404, "NOT_FOUND")
    assert (await http.delete(f"/documents/{document['id']}")).status_code == 204
    assert_error(await http.get(f"/documents/{document['id']}"), 403, "FORBIDDEN")
    anonymous = await http.get("/documents", headers={"Authorization": ""})
    assert_error(anonymous, 401, "UNAUTHORIZED")
    spec = await http.get("/openapi", headers={"Authorization": ""})
    assert spec.json()["openapi"].startswith("3.")

    server.set_limits(Limits(general=1))
    await http.get("/documents")
    limited = await http.get("/documents")
    assert_error(limited, 429, "RATE_LIMITED")
    assert int(limited.headers["retry-after"]) >= 1


async def test_faults_over_the_network(
    http: httpx.AsyncClient,
    loopback: tuple[ReferenceServer, str],
    create_document: CreateDocument,
) -> None:
    server, _ = loopback
    server.set_faults(Faults(error_rate=1.0, error_statuses=(500,)))
    assert_error(await http.get("/documents"), 500, "INTERNAL_ERROR")
    server.set_faults(Faults(error_rate=1.0, error_statuses=(502,)))
    proxy = await http.get("/documents")
    assert proxy.status_code == 502
    assert proxy.headers["content-type"].startswith("text/html")
    server.set_faults(Faults(storm=Storm(requests=1, retry_after=3)))
    assert (await http.get("/documents")).headers["retry-after"] == "3"

    server.clear_faults()
    document = await create_document(http=http, signature=True)
    server.set_faults(Faults(drop_before_rate=1.0, routes=SEND_ROUTES))
    with pytest.raises(httpx.TransportError) as before:
        await http.post(f"/documents/{document['id']}/send")
    assert isinstance(before.value, httpx.RemoteProtocolError)
    assert server.send_count(document["id"]) == 0

    server.set_faults(Faults(drop_after_rate=1.0, routes=SEND_ROUTES))
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(f"/documents/{document['id']}/send")
    assert server.send_count(document["id"]) == 1
    server.clear_faults()
    assert (await http.get(f"/documents/{document['id']}")).json()["status"] == "PENDING"


async def concurrent_sends(
    http: httpx.AsyncClient, create_document: CreateDocument
) -> tuple[list[int], Counter[tuple[int, str | None]]]:
    """500 sends at once across 50 documents: 10 racing sends per document."""
    ids = [(await create_document(http=http, signature=True))["id"] for _ in range(50)]
    outcomes: Counter[tuple[int, str | None]] = Counter()

    async def send(document_id: int) -> None:
        response = await http.post(f"/documents/{document_id}/send")
        code = None if response.is_success else response.json()["code"]
        outcomes[(response.status_code, code)] += 1

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            for document_id in ids:
                tg.start_soon(send, document_id)
    return ids, outcomes


async def test_500_concurrent_sends_over_loopback(
    http: httpx.AsyncClient,
    loopback: tuple[ReferenceServer, str],
    create_document: CreateDocument,
) -> None:
    server, _ = loopback
    server.set_limits(Limits(general=100_000, send=100_000))
    ids, outcomes = await concurrent_sends(http, create_document)
    assert outcomes == {(200, None): 50, (400, "INVALID_DOCUMENT_STATUS"): 450}
    assert [server.send_count(i) for i in ids] == [1] * 50


async def test_500_concurrent_sends_in_process(
    server: ReferenceServer, client: httpx.AsyncClient, create_document: CreateDocument
) -> None:
    server.set_limits(Limits(general=100_000, send=100_000))
    ids, outcomes = await concurrent_sends(client, create_document)
    assert outcomes == {(200, None): 50, (400, "INVALID_DOCUMENT_STATUS"): 450}
    assert [server.send_count(i) for i in ids] == [1] * 50


def next_line(stream: IO[str], timeout: float = 20.0) -> str:
    """The next line a child prints; a bare readline() would wait forever on a hung child.

    On a timeout the reader thread ends when the caller stops the child (EOF)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"the server printed nothing within {timeout:.0f} s") from None
    assert line, "the server exited before printing its address and token"
    return line


def test_the_command_line_server_prints_a_working_token() -> None:
    command = [sys.executable, "-m", "pacta_async.testing", "--port", "0", "--send-limit", "5"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            base_url = next_line(process.stdout).split()[-1]
            token = next_line(process.stdout).split()[-1]
            assert base_url.startswith("http://127.0.0.1:")
            assert token.startswith("api_")
            response = httpx.post(
                f"{base_url}/documents",
                headers={"Authorization": token},
                data={"title": "Demo"},
                files={"file": ("a.pdf", make_pdf(), "application/pdf")},
            )
            assert response.status_code == 201
        finally:
            process.terminate()  # by handle: SIGTERM shuts uvicorn down cleanly
            process.wait(timeout=10)
