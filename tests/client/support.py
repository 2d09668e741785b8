"""Helpers for the client tests: a scripted mock Pacta and a client wired to it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx

from pacta_async import PactaClient
from pacta_async.testing import FakeClock

TOKEN = "api_test_0123456789abcdef"
BASE = "https://sign.pacta.ink/api/v1"

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def document(id: int = 1, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": id,
        "title": f"Document {id}",
        "status": "DRAFT",
        "externalId": None,
        "teamId": 7,
        "createdAt": "2026-05-12T09:30:00.000Z",
        "updatedAt": "2026-05-12T09:30:00.000Z",
        "completedAt": None,
        "recipients": [],
    }
    data.update(changes)
    return data


class Script:
    """A mock Pacta that answers requests from a list of replies, and records them."""

    def __init__(self, replies: Iterable[Reply] = ()) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(await request.aread())
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def make_client(script: Script, clock: FakeClock | None = None, **options: Any) -> PactaClient:
    options.setdefault("rate_limiter", None)
    return PactaClient(TOKEN, base_url=BASE, transport=script.transport(), clock=clock, **options)
