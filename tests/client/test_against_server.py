"""Every endpoint and every error class, against the reference server.

Each test runs five ways: in-process and over loopback HTTP, on asyncio and trio, and
over loopback through the aiohttp transport (asyncio only: aiohttp does not run on trio).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from pacta_async import (
    AioHttpTransport,
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    Document,
    DocumentStatus,
    InvalidDocumentStatusError,
    InvalidFileError,
    NotFoundError,
    PactaClient,
    PermissionDeniedError,
    PlanRequiredError,
    RateLimitError,
    RetryBudget,
    ServerError,
)
from pacta_async.testing import (
    SEND_ROUTES,
    FakeClock,
    Faults,
    Limits,
    ReferenceServer,
    make_pdf,
)

pytestmark = pytest.mark.anyio

UNLIMITED = Limits(general=1_000_000, send=1_000_000)
SIGNER = {"name": "John Doe", "email": "john@acme.com", "role": "SIGNER"}


@pytest.fixture(scope="module")
def server() -> ReferenceServer:
    return ReferenceServer(limits=UNLIMITED)


@pytest.fixture(scope="module")
def loopback_url(server: ReferenceServer) -> Iterator[str]:
    with server.serve_in_thread() as url:
        yield url


@pytest.fixture
def token(server: ReferenceServer) -> str:
    return server.create_token(server.create_team())


def connect(
    server: ReferenceServer, mode: str, loopback_url: str, token: str, **options: object
) -> PactaClient:
    options.setdefault("rate_limiter", None)
    if mode == "in-process":
        return PactaClient(
            token, base_url="http://localhost/api/v1", transport=server.transport(), **options
        )  # type: ignore[arg-type]
    if mode == "aiohttp":
        options["transport"] = AioHttpTransport()
    return PactaClient(token, base_url=loopback_url, **options)  # type: ignore[arg-type]


@pytest.fixture(params=["in-process", "loopback", "aiohttp"])
def mode(request: pytest.FixtureRequest) -> str:
    # conftest.py leaves out aiohttp on trio.
    return str(request.param)


@pytest.fixture
async def pacta(
    server: ReferenceServer, mode: str, loopback_url: str, token: str
) -> AsyncIterator[PactaClient]:
    async with connect(server, mode, loopback_url, token) as client:
        yield client


async def draft(pacta: PactaClient, *, pages: int = 1, **options: object) -> Document:
    document = await pacta.documents.create(
        make_pdf(pages), title="Q4 vendor agreement", recipients=[SIGNER], **options
    )  # type: ignore[arg-type]
    await pacta.documents.fields.create(
        document.id,
        recipient_id=document.recipients[0].id,
        type="SIGNATURE",
        page=pages,
        x=100,
        y=600,
        width=200,
        height=50,
    )
    return document


async def test_create_from_path_bytes_and_file_object(pacta: PactaClient, tmp_path: Path) -> None:
    path = tmp_path / "contract.pdf"
    path.write_bytes(make_pdf(2))
    from_path = await pacta.documents.create(path, title="From path", recipients=[SIGNER])
    from_bytes = await pacta.documents.create(path.read_bytes(), title="From bytes")
    with path.open("rb") as stream:
        from_file = await pacta.documents.create(stream, title="From file", external_id="x-1")
    from_memory = await pacta.documents.create(io.BytesIO(make_pdf()), title="From BytesIO")
    for document in (from_path, from_bytes, from_file, from_memory):
        assert document.status == DocumentStatus.DRAFT
    assert from_path.recipients[0].email == "john@acme.com"
    assert from_path.recipients[0].role == "SIGNER"
    assert from_file.external_id == "x-1"


async def test_document_lifecycle(pacta: PactaClient) -> None:
    document = await draft(pacta, pages=2)
    assert (await pacta.documents.get(document.id)).title == "Q4 vendor agreement"
    recipient = await pacta.documents.recipients.create(
        document.id, name="Ann", email="ann@acme.com", role="CC", signing_order=2
    )
    assert [r.email for r in await pacta.documents.recipients.list(document.id)] == [
        "john@acme.com",
        "ann@acme.com",
    ]
    assert recipient.signing_order == 2
    fields = await pacta.documents.fields.list(document.id)
    assert [(f.type_, f.page) for f in fields] == [("SIGNATURE", 2)]

    copy = await pacta.documents.duplicate(document.id)
    assert copy.id != document.id
    assert copy.status == "DRAFT"
    assert len(await pacta.documents.fields.list(copy.id)) == 1

    sent = await pacta.documents.send(document.id, send_email=False)
    assert sent.status == DocumentStatus.PENDING
    with pytest.raises(InvalidDocumentStatusError) as again:
        await pacta.documents.send(document.id)
    assert again.value.details == {"status": "PENDING"}

    token = await pacta.documents.recipients.create_embed_token(document.id, recipient.id)
    assert token.token
    assert token.embed_url

    await pacta.documents.delete(copy.id)
    with pytest.raises(PermissionDeniedError) as deleted:
        await pacta.documents.get(copy.id)
    assert deleted.value.code == "FORBIDDEN"


async def test_list_and_iter_with_filters(pacta: PactaClient) -> None:
    drafts = [await draft(pacta) for _ in range(5)]
    for document in drafts[:3]:
        await pacta.documents.send(document.id)
    page = await pacta.documents.list(per_page=2, status="PENDING")
    assert page.total_pages == 2
    assert [d.id for d in page.documents] == [drafts[2].id, drafts[1].id]  # newest first
    pending = [d.id async for d in pacta.documents.iter(status=DocumentStatus.PENDING, per_page=2)]
    assert pending == [d.id for d in reversed(drafts[:3])]
    everything = [d.id async for d in pacta.documents.iter(per_page=2)]
    assert everything == [d.id for d in reversed(drafts)]


async def test_iter_survives_documents_created_while_listing(pacta: PactaClient) -> None:
    ids = [(await draft(pacta)).id for _ in range(6)]
    seen = []
    async for document in pacta.documents.iter(per_page=2):
        seen.append(document.id)
        if len(seen) == 1:
            for _ in range(3):
                await draft(pacta)  # pushes every older document back three places
    assert seen == list(reversed(ids))


async def test_templates(pacta: PactaClient) -> None:
    template = await pacta.templates.create(
        make_pdf(), title="NDA", recipients=[{"name": "Signer", "email": "signer@example.com"}]
    )
    placeholder = template.recipients[0]
    document = await pacta.templates.generate(
        template.id,
        recipients=[{"id": placeholder.id, "name": "John Doe", "email": "john@acme.com"}],
        title="NDA for John",
        external_id="crm-1234",
    )
    assert document.status == "PENDING"
    assert document.external_id == "crm-1234"
    assert document.recipients[0].email == "john@acme.com"
    link = await pacta.templates.create_direct_link(template.id)
    assert link.enabled
    assert link.url
    listed = await pacta.templates.list()
    assert [t.id for t in listed.templates] == [template.id]
    assert [t.id async for t in pacta.templates.iter()] == [template.id]


async def test_webhooks(pacta: PactaClient) -> None:
    hook = await pacta.webhooks.create(
        url="https://example.com/hooks", events=["DOCUMENT_SIGNED"], secret="s3cr3t"
    )
    assert hook.enabled
    assert hook.event_triggers == ["DOCUMENT_SIGNED"]
    updated = await pacta.webhooks.update(hook.id, enabled=False, events=["DOCUMENT_COMPLETED"])
    assert not updated.enabled
    assert updated.event_triggers == ["DOCUMENT_COMPLETED"]
    assert [w.id for w in await pacta.webhooks.list()] == [hook.id]
    await pacta.webhooks.delete(hook.id)
    assert await pacta.webhooks.list() == []
    with pytest.raises(NotFoundError):
        await pacta.webhooks.delete(hook.id)


async def test_authentication_errors(server: ReferenceServer, mode: str, loopback_url: str) -> None:
    team = server.create_team()
    for token in ("api_not_a_real_token", server.create_token(team, expires_in=-1)):
        async with connect(server, mode, loopback_url, token) as client:
            with pytest.raises(AuthenticationError) as caught:
                await client.documents.list()
        assert caught.value.code == "UNAUTHORIZED"
        assert token not in str(caught.value)


async def test_another_teams_document_is_forbidden(
    pacta: PactaClient, server: ReferenceServer, mode: str, loopback_url: str
) -> None:
    document = await draft(pacta)
    stranger = server.create_token(server.create_team())
    async with connect(server, mode, loopback_url, stranger) as other:
        with pytest.raises(PermissionDeniedError):
            await other.documents.get(document.id)
        with pytest.raises(PermissionDeniedError):
            await other.documents.send(document.id)
    assert server.send_count(document.id) == 0


async def test_plan_required(server: ReferenceServer, mode: str, loopback_url: str) -> None:
    token = server.create_token(server.create_team(plan="free"))
    async with connect(server, mode, loopback_url, token) as client:
        document = await draft(client)
        with pytest.raises(PlanRequiredError):
            await client.documents.recipients.create_embed_token(
                document.id, document.recipients[0].id
            )


async def test_not_found(pacta: PactaClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await pacta.documents.get(987654321)
    assert caught.value.status_code == 404


async def test_server_side_validation(pacta: PactaClient) -> None:
    document = await pacta.documents.create(make_pdf(1), title="t", recipients=[SIGNER])
    with pytest.raises(BadRequestError) as caught:
        await pacta.documents.fields.create(
            document.id,
            recipient_id=document.recipients[0].id,
            type="SIGNATURE",
            page=2,  # the PDF has one page
            x=1,
            y=1,
            width=10,
            height=10,
        )
    assert caught.value.code == "VALIDATION_ERROR"
    with pytest.raises(BadRequestError, match="SIGNATURE"):
        await pacta.documents.send(document.id)  # the signer has no signature field


async def test_invalid_file_from_the_server(pacta: PactaClient) -> None:
    # The client checks files itself; send one behind its back to see the server's error.
    http = pacta._api.get_async_httpx_client()
    with pytest.raises(InvalidFileError):
        await http.post("/documents", files={"file": ("x.pdf", b"not a pdf")}, data={"title": "t"})


async def test_rate_limit_error(server: ReferenceServer, mode: str, loopback_url: str) -> None:
    limited = ReferenceServer(limits=Limits(general=2, send=1))
    token = limited.create_token(limited.create_team())
    if mode != "in-process":
        with limited.serve_in_thread() as url:
            async with connect(limited, mode, url, token, max_retries=0) as client:
                await _hit_the_limit(client)
    else:
        async with connect(limited, mode, "", token, max_retries=0) as client:
            await _hit_the_limit(client)


async def _hit_the_limit(client: PactaClient) -> None:
    await client.documents.list()
    await client.documents.list()
    with pytest.raises(RateLimitError) as caught:
        await client.documents.list()
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 1
    assert caught.value.scope == "general"


async def test_server_and_connection_errors(
    server: ReferenceServer, mode: str, loopback_url: str
) -> None:
    flaky = ReferenceServer(limits=UNLIMITED)
    token = flaky.create_token(flaky.create_team())

    async def check(url: str) -> None:
        async with connect(flaky, mode, url, token, max_retries=0) as client:
            flaky.set_faults(Faults(error_rate=1.0, error_statuses=(502,)))
            with pytest.raises(ServerError) as caught:
                await client.documents.list()
            assert caught.value.status_code == 502
            assert caught.value.code is None  # a proxy's HTML page
            flaky.set_faults(Faults(drop_before_rate=1.0))
            with pytest.raises(APIConnectionError):
                await client.documents.list()
            flaky.clear_faults()
            assert (await client.documents.list()).total_pages == 0

    if mode != "in-process":
        with flaky.serve_in_thread() as url:
            await check(url)
    else:
        await check("")


async def test_a_send_dropped_after_processing_is_not_repeated(mode: str) -> None:
    """The connection drops once Pacta has processed the send: the client cannot know
    whether it arrived, so it must not send again. (httpx-aiohttp, which the aiohttp
    transport once used, reported this drop as a connect timeout, "never sent".)"""
    flaky = ReferenceServer(limits=UNLIMITED)
    token = flaky.create_token(flaky.create_team())

    async def check(url: str) -> None:
        async with connect(flaky, mode, url, token, max_retries=3) as client:
            document = await draft(client)
            flaky.set_faults(Faults(drop_after_rate=1.0, routes=SEND_ROUTES))
            with pytest.raises(APIConnectionError) as caught:
                await client.documents.send(document.id)
            assert not isinstance(caught.value, APITimeoutError)
        assert flaky.send_count(document.id) == 1

    if mode != "in-process":
        with flaky.serve_in_thread() as url:
            await check(url)
    else:
        await check("")


async def test_timeout_error(mode: str) -> None:
    # Network modes only (conftest.py leaves out in-process): timeouts are the transport's.
    slow = ReferenceServer(limits=UNLIMITED, faults=[Faults(latency=0.5)])
    token = slow.create_token(slow.create_team())
    with slow.serve_in_thread() as url:
        async with connect(slow, mode, url, token, max_retries=0) as client:
            with pytest.raises(APITimeoutError):
                await client.documents.list(timeout=0.1)


async def test_retries_recover_from_flaky_reads() -> None:
    flaky = ReferenceServer(limits=UNLIMITED)
    token = flaky.create_token(flaky.create_team())
    clock = FakeClock()  # backoff without real waiting
    budget = RetryBudget(clock=clock)
    async with (
        anyio.create_task_group() as tg,
        connect(
            flaky, "in-process", "", token, max_retries=8, retry_budget=budget, clock=clock
        ) as client,
    ):
        tg.start_soon(clock.autojump)
        document = await draft(client)
        flaky.set_faults(Faults(error_rate=0.3, seed=7), Faults(drop_after_rate=0.2, seed=3))
        for _ in range(10):
            assert (await client.documents.get(document.id)).id == document.id
        tg.cancel_scope.cancel()


async def test_unknown_fields_and_enum_values_are_kept(
    pacta: PactaClient, server: ReferenceServer
) -> None:
    del server
    http = httpx.MockTransport(
        lambda request: httpx.Response(
            200,
            json={
                "id": 5,
                "title": "t",
                "status": "SOME_FUTURE_STATUS",
                "externalId": None,
                "teamId": 1,
                "createdAt": "2026-05-12T09:30:00.000Z",
                "updatedAt": "2026-05-12T09:30:00.000Z",
                "completedAt": None,
                "recipients": [],
                "someFutureField": 12,
            },
        )
    )
    async with PactaClient("api_x_0000000000", transport=http, rate_limiter=None) as client:
        document = await client.documents.get(5)
    assert document.status == "SOME_FUTURE_STATUS"
    assert document.additional_properties == {"someFutureField": 12}
