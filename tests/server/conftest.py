"""Fixtures for the reference server's tests: a server, tokens, clients, a webhook receiver."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pacta_async.testing import FakeClock, ReferenceServer, make_pdf, serve_app_in_thread

BASE_URL = "http://pacta.test/api/v1"


@pytest.fixture
def clock() -> FakeClock:
    """Overrides the jumping root clock: these tests step the server's time by hand."""
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> ReferenceServer:
    return ReferenceServer(clock=clock)


@pytest.fixture
def token(server: ReferenceServer) -> str:
    return server.create_token(server.create_team("Acme"))


@pytest.fixture
async def client(server: ReferenceServer, token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=server.transport(), base_url=BASE_URL, headers={"Authorization": token}
    ) as client:
        yield client


CreateDocument = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def create_document(client: httpx.AsyncClient) -> CreateDocument:
    """Upload a PDF with one signer; `signature=True` also places the signer's field."""

    async def create(
        *,
        pages: int = 1,
        signature: bool = False,
        external_id: str | None = None,
        http: httpx.AsyncClient = client,
    ) -> dict[str, Any]:
        data = {
            "title": "Contract",
            "recipients[0][name]": "Ann Signer",
            "recipients[0][email]": "ann@example.com",
            "recipients[0][role]": "SIGNER",
        }
        if external_id is not None:
            data["externalId"] = external_id
        files = {"file": ("contract.pdf", make_pdf(pages), "application/pdf")}
        response = await http.post("/documents", data=data, files=files)
        assert response.status_code == 201, response.text
        document: dict[str, Any] = response.json()
        if signature:
            field = {
                "type": "SIGNATURE",
                "page": 1,
                "x": 10,
                "y": 10,
                "width": 100,
                "height": 30,
                "recipientId": document["recipients"][0]["id"],
            }
            response = await http.post(f"/documents/{document['id']}/fields", json=field)
            assert response.status_code == 201, response.text
        return document

    return create


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll a condition that real I/O (a loopback delivery) will make true."""
    with anyio.fail_after(timeout):
        while not condition():  # noqa: ASYNC110 - the change comes from other threads
            await anyio.sleep(0.005)


class Receiver:
    """A loopback webhook endpoint that records deliveries and answers from a script."""

    def __init__(self) -> None:
        self.url = ""
        self.statuses: list[int] = []  # answers to the next deliveries, then 200
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])

    async def _hook(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self.received.append((dict(request.headers), body))
            status = self.statuses.pop(0) if self.statuses else 200
        return Response(status_code=status)

    def events(self) -> list[str]:
        with self._lock:
            return [body["event"] for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve_app_in_thread(receiver.app) as origin:
        receiver.url = f"{origin}/hook"
        yield receiver
