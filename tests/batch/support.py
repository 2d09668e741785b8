"""Helpers for the batch tests: a fast reference server, clients wired to it, and fixtures
of the kind a batch needs (drafts ready to send, a template)."""

from __future__ import annotations

import collections
import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from pacta_async import Clock, GenerateItem, PactaClient, TokenBucketLimiter
from pacta_async.testing import Limits, ReferenceServer, make_pdf

BASE_URL = "http://pacta.test/api/v1"
# Far above what a test sends, on both sides, so pacing never slows a test down.
REQUESTS_PER_MINUTE = 1_000_000
SENDS_PER_MINUTE = 1_000_000
PDF = make_pdf()


def fast_server(clock: Clock | None = None) -> ReferenceServer:
    return ReferenceServer(
        limits=Limits(general=REQUESTS_PER_MINUTE, send=SENDS_PER_MINUTE), clock=clock
    )


def client_for(
    server: ReferenceServer,
    token: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
    **options: Any,
) -> PactaClient:
    limiter = TokenBucketLimiter(
        requests_per_minute=REQUESTS_PER_MINUTE, sends_per_minute=SENDS_PER_MINUTE, clock=clock
    )
    return PactaClient(
        token,
        base_url=BASE_URL,
        allow_insecure_http=True,
        transport=transport or server.transport(),
        rate_limiter=limiter,
        clock=clock,
        **options,
    )


async def make_drafts(client: PactaClient, count: int, *, signature: bool = True) -> list[int]:
    """Drafts with one signer each; without `signature` Pacta refuses to send them."""
    ids = []
    for n in range(count):
        document = await client.documents.create(
            PDF, title=f"Contract {n}", recipients=[{"name": f"Signer {n}", "email": f"s{n}@x.io"}]
        )
        if signature:
            await add_signature(client, document.id)
        ids.append(document.id)
    return ids


async def add_signature(client: PactaClient, document_id: int) -> None:
    document = await client.documents.get(document_id)
    await client.documents.fields.create(
        document_id,
        recipient_id=document.recipients[0].id,
        type="SIGNATURE",
        page=1,
        x=10,
        y=10,
        width=100,
        height=30,
    )


async def make_template(client: PactaClient) -> tuple[int, int]:
    """A one-recipient template: (template id, its placeholder's id)."""
    template = await client.templates.create(
        PDF, title="NDA", recipients=[{"name": "Placeholder", "email": "p@x.io"}]
    )
    return template.id, template.recipients[0].id


def people(placeholder: int, count: int, start: int = 0) -> list[GenerateItem]:
    """One person each."""
    return [
        {"recipients": [{"id": placeholder, "name": f"Person {n}", "email": f"p{n}@x.io"}]}
        for n in range(start, start + count)
    ]


async def documents_by_external_id(client: PactaClient) -> collections.Counter[str | None]:
    # Not the batch's page size, so a test can fail the batch's scans but not this.
    documents = client.documents.iter(per_page=50)
    return collections.Counter([d.external_id async for d in documents])


class Interceptor(httpx.AsyncBaseTransport):
    """Passes requests to the server, letting a test act before or after each one.

    `before(request)` may raise (the request never reaches the server); `after(request)`
    runs once the server has answered and may raise too (the answer is lost).
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        before: Callable[[httpx.Request], None] | None = None,
        after: Callable[[httpx.Request], None] | None = None,
    ) -> None:
        self._inner = inner
        self._before = before
        self._after = after

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._before is not None:
            self._before(request)
        response = await self._inner.handle_async_request(request)
        if self._after is not None:
            await response.aread()
            self._after(request)
        return response


def is_post(request: httpx.Request, suffix: str) -> bool:
    return request.method == "POST" and request.url.path.endswith(suffix)


def journal_states(path: Path) -> dict[str, tuple[str, int | None]]:
    """key -> (state, document id), read straight from the journal file."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT key, state, document_id FROM items").fetchall()
    return {key: (state, document_id) for key, state, document_id in rows}
