"""Bad input: each case gets its typed error, and nothing is created on the server."""

# The case table is one row per line, which is easier to scan than wrapped rows.
# ruff: noqa: E501

from __future__ import annotations

import gc
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio
import attrs
import httpx
import pytest
import sniffio

from pacta_async import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    Document,
    InvalidDocumentStatusError,
    InvalidInputError,
    NotFoundError,
    PactaClient,
    PactaError,
    PermissionDeniedError,
    UnknownValueWarning,
    parse_webhook,
)
from pacta_async.testing import Limits, ReferenceServer, make_pdf

pytestmark = pytest.mark.anyio

PDF = make_pdf(1)
SIGNER = {"name": "John Doe", "email": "john@acme.com", "role": "SIGNER"}


@attrs.frozen
class World:
    server: ReferenceServer
    client: PactaClient
    draft: Document  # a DRAFT with one signer and no fields
    pending: Document  # already sent
    foreign: Document  # another team's document
    tmp_path: Path


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    server = ReferenceServer(limits=Limits(general=100_000, send=100_000))
    token = server.create_token(server.create_team())
    other = server.create_token(server.create_team())
    transport = server.transport()
    async with (
        PactaClient(
            token, base_url="http://localhost", transport=transport, rate_limiter=None
        ) as client,
        PactaClient(other, base_url="http://localhost", transport=server.transport()) as stranger,
    ):
        draft = await client.documents.create(PDF, title="draft", recipients=[SIGNER])
        pending = await client.documents.create(PDF, title="pending", recipients=[SIGNER])
        await client.documents.fields.create(
            pending.id,
            recipient_id=pending.recipients[0].id,
            type="SIGNATURE",
            page=1,
            x=1,
            y=1,
            width=10,
            height=10,
        )
        await client.documents.send(pending.id)
        foreign = await stranger.documents.create(PDF, title="theirs")
        yield World(server, client, draft, pending, foreign, tmp_path)


Case = Callable[[World], Awaitable[object]]


def create(file: object = PDF, **options: object) -> Case:
    options.setdefault("title", "t")
    return lambda w: w.client.documents.create(file, **options)  # type: ignore[arg-type]


def field(**changes: object) -> Case:
    def call(w: World) -> Awaitable[object]:
        options: dict[str, object] = {
            "recipient_id": w.draft.recipients[0].id,
            "type": "SIGNATURE",
            "page": 1,
            "x": 10,
            "y": 10,
            "width": 100,
            "height": 20,
        }
        options.update(changes)
        return w.client.documents.fields.create(w.draft.id, **options)  # type: ignore[arg-type]

    return call


async def with_token(w: World, token: str) -> object:
    async with PactaClient(
        token, base_url="http://localhost", transport=w.server.transport(), rate_limiter=None
    ) as client:
        return await client.documents.create(PDF, title="t")


async def client_with(w: World, token: object = None, **options: object) -> object:
    options.setdefault("base_url", "http://localhost")
    async with PactaClient(
        token or w.server.create_token(w.server.create_team()),  # type: ignore[arg-type]
        transport=w.server.transport(),
        **options,  # type: ignore[arg-type]
    ) as client:
        return await client.documents.get(w.draft.id)


async def text_mode_pdf(w: World) -> object:
    path = w.tmp_path / "contract.pdf"
    path.write_bytes(PDF)
    with path.open() as text:  # a PDF opened without "rb"
        return await w.client.documents.create(text, title="t")  # type: ignore[arg-type]


async def async_text_mode_pdf(w: World) -> object:
    path = w.tmp_path / "contract.pdf"
    path.write_bytes(PDF)
    async with await anyio.open_file(path) as text:
        return await w.client.documents.create(text, title="t")  # type: ignore[arg-type]


async def webhook(secret: object) -> object:
    body = b'{"event": "DOCUMENT_SENT"}'
    return parse_webhook(body, {"X-Pacta-Secret": "s"}, secret=secret)  # type: ignore[arg-type]


CASES: list[tuple[str, Case, type[PactaError], str | None]] = [
    ("not a PDF", create(b"GIF89a..."), InvalidInputError, "not a PDF"),
    ("empty file", create(b""), InvalidInputError, "empty"),
    ("missing file", lambda w: create(w.tmp_path / "nope.pdf")(w), InvalidInputError, "cannot read"),
    ("empty title", create(title="  "), InvalidInputError, "title"),
    ("missing email", create(recipients=[{"name": "J"}]), InvalidInputError, r"recipients\[0\]\.email"),
    ("bad email", create(recipients=[{"name": "J", "email": "john@"}]), InvalidInputError, "email"),
    ("missing name", create(recipients=[{"email": "j@x.com"}]), InvalidInputError, "name"),
    ("unknown role (sent: Pacta may have added it)", create(recipients=[{**SIGNER, "role": "SIGNR"}]), BadRequestError, "role"),
    ("signing order 0", create(recipients=[{**SIGNER, "signing_order": 0}]), InvalidInputError, "signing_order"),
    ("unknown recipient key", create(recipients=[{**SIGNER, "phone": "1"}]), InvalidInputError, "unknown keys"),
    ("page 0", field(page=0), InvalidInputError, "page"),
    ("negative size", field(width=-5), InvalidInputError, "width"),
    ("zero height", field(height=0), InvalidInputError, "height"),
    ("NaN position", field(x=float("nan")), InvalidInputError, "x"),
    ("unknown field type (sent)", field(type="SIGNATUR"), BadRequestError, "type"),
    ("page beyond the PDF", field(page=3), BadRequestError, "page"),
    ("recipient of another document", field(recipient_id=987654), BadRequestError, "recipient"),
    ("document id 0", lambda w: w.client.documents.get(0), InvalidInputError, "document_id"),
    ("document id as text", lambda w: w.client.documents.send("12"), InvalidInputError, "document_id"),  # type: ignore[arg-type]
    ("unknown document id", lambda w: w.client.documents.get(987654), NotFoundError, None),
    ("another team's document", lambda w: w.client.documents.duplicate(w.foreign.id), PermissionDeniedError, None),
    ("send twice", lambda w: w.client.documents.send(w.pending.id), InvalidDocumentStatusError, None),
    ("send without a signature field", lambda w: w.client.documents.send(w.draft.id), BadRequestError, "SIGNATURE"),
    ("recipient on a sent document", lambda w: w.client.documents.recipients.create(w.pending.id, name="A", email="a@b.co"), InvalidDocumentStatusError, None),
    ("wrong token", lambda w: with_token(w, "api_wrong_000000000"), AuthenticationError, None),
    ("expired token", lambda w: with_token(w, w.server.create_token(w.server.create_team(), expires_in=-1)), AuthenticationError, None),
    ("bearer token", lambda w: with_token(w, "Bearer api_abc"), ConfigurationError, "Bearer"),
    ("per_page 101", lambda w: w.client.documents.list(per_page=101), InvalidInputError, "per_page"),
    ("unknown status filter (sent)", lambda w: w.client.documents.list(status="SENT"), BadRequestError, "status"),
    ("status filter not a string", lambda w: w.client.documents.list(status=3), InvalidInputError, "status"),  # type: ignore[arg-type]
    ("http webhook", lambda w: w.client.webhooks.create(url="http://example.com/h", events=["DOCUMENT_SIGNED"]), InvalidInputError, "https"),
    ("unknown webhook event (sent)", lambda w: w.client.webhooks.create(url="https://example.com/h", events=["DOCUMENT_SIGN"]), BadRequestError, None),
    ("no webhook events", lambda w: w.client.webhooks.create(url="https://example.com/h", events=[]), InvalidInputError, "non-empty"),
    ("empty webhook update", lambda w: w.client.webhooks.update("wh_1"), InvalidInputError, "at least one"),
    ("generate with no recipients", lambda w: w.client.templates.generate(1, recipients=[]), InvalidInputError, "recipients"),
    ("PDF opened in text mode", text_mode_pdf, InvalidInputError, "binary mode"),
    ("async PDF opened in text mode", async_text_mode_pdf, InvalidInputError, "binary mode"),
    ("recipients=None", create(recipients=None), InvalidInputError, "recipients must be a list"),
    ("recipients as one dict", create(recipients=SIGNER), InvalidInputError, "recipients must be a list"),
    ("generate with recipients=None", lambda w: w.client.templates.generate(1, recipients=None), InvalidInputError, "recipients must be a list"),  # type: ignore[arg-type]
    ("per-call max_retries=-1", lambda w: w.client.documents.get(w.draft.id, max_retries=-1), InvalidInputError, "max_retries"),
    ("per-call max_retries=-1 on upload", create(max_retries=-1), InvalidInputError, "max_retries"),
    ("per-call max_retries=True", lambda w: w.client.documents.send(w.draft.id, max_retries=True), InvalidInputError, "max_retries"),
    ("timeout as text", lambda w: w.client.documents.get(w.draft.id, timeout="5"), InvalidInputError, "timeout"),  # type: ignore[arg-type]
    ("timeout NaN", lambda w: w.client.documents.list(timeout=float("nan")), InvalidInputError, "timeout"),
    ("timeout 0", lambda w: w.client.documents.get(w.draft.id, timeout=0), InvalidInputError, "timeout"),
    ("timeout -1 on upload", create(timeout=-1), InvalidInputError, "timeout"),
    ("httpx.Timeout with NaN", lambda w: w.client.webhooks.list(timeout=httpx.Timeout(5, read=float("nan"))), InvalidInputError, r"timeout\.read"),
    ("client timeout as text", lambda w: client_with(w, timeout="5"), ConfigurationError, "timeout"),
    ("client timeout 0", lambda w: client_with(w, timeout=0), ConfigurationError, "timeout"),
    ("client max_retries=-1", lambda w: client_with(w, max_retries=-1), ConfigurationError, "max_retries"),
    ("token as int", lambda w: client_with(w, token=12345678), ConfigurationError, "must be a str"),
    ("token as bytes", lambda w: client_with(w, token=b"api_abcdefgh123"), ConfigurationError, "must be a str"),
    ("base URL with a query", lambda w: client_with(w, base_url="https://pacta.example.com?x=1"), ConfigurationError, "query"),
    ("webhook secret=None", lambda w: webhook(None), ConfigurationError, "must be a string"),
]  # fmt: skip


async def counts(w: World) -> tuple[int, int, int, int, int]:
    documents = [d async for d in w.client.documents.iter()]
    recipients = sum(len(d.recipients) for d in documents)
    fields = sum([len(await w.client.documents.fields.list(d.id)) for d in documents])
    templates = (await w.client.templates.list()).templates
    webhooks = await w.client.webhooks.list()
    return len(documents), recipients, fields, len(templates), len(webhooks)


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize(("case", "call", "error", "match"), CASES, ids=[c[0] for c in CASES])
async def test_bad_input(
    world: World, case: str, call: Case, error: type[PactaError], match: str | None
) -> None:
    before = await counts(world)
    sends_before = world.server.send_count(world.draft.id)
    with warnings.catch_warnings():
        # Unknown enum values are sent with a warning (tests/client/test_enum_inputs.py).
        warnings.simplefilter("ignore", UnknownValueWarning)
        with pytest.raises(error, match=match) as caught:
            await call(world)
    assert type(caught.value) is error, case
    assert await counts(world) == before
    assert world.server.send_count(world.draft.id) == sends_before


async def test_a_refused_call_leaves_no_coroutine_unawaited(world: World) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(InvalidInputError):
            await world.client.documents.get(world.draft.id, max_retries=-1)
        with pytest.raises(InvalidInputError):
            await world.client.documents.send(world.draft.id, timeout="5")  # type: ignore[arg-type]
        gc.collect()
    assert [str(w.message) for w in caught] == []  # no "coroutine ... was never awaited"


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_an_async_file_in_binary_mode_is_uploaded(tmp_path: Path, anyio_backend: str) -> None:
    server = ReferenceServer()
    token = server.create_token(server.create_team())
    path = tmp_path / "contract.pdf"
    path.write_bytes(PDF)
    async with PactaClient(token, base_url="http://localhost", transport=server.transport()) as c:
        async with await anyio.open_file(path, "rb") as file:
            document = await c.documents.create(file, title="async")
        titles = ["async"]
        if sniffio.current_async_library() == "trio":
            import trio

            async with await trio.open_file(path, "rb") as trio_file:
                titles.append((await c.documents.create(trio_file, title="trio")).title)
    assert server.document(document.id)["title"] == "async"
    assert len(titles) == (2 if anyio_backend == "trio" else 1)
