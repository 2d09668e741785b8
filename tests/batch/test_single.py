"""One create or generate made exactly once by its externalId, and `documents.find`:
the batch's finder and settle window, used outside a batch."""

from __future__ import annotations

import httpx
import pytest

from pacta_async import (
    APIConnectionError,
    AuthenticationError,
    InvalidInputError,
    PactaClient,
)
from pacta_async.testing import SEND_ROUTES, FakeClock, Faults, ReferenceServer

from .support import PDF, Interceptor, client_for, documents_by_external_id, fast_server, is_post

pytestmark = pytest.mark.anyio

UPLOAD = frozenset({"POST /documents"})
LIST = frozenset({"GET /documents"})


@pytest.fixture
def fake_server(clock: FakeClock) -> ReferenceServer:
    return fast_server(clock)


class Counting(Interceptor):
    """Counts the requests that reach the transport, by method and path."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        super().__init__(inner, before=self._count)
        self.requests: list[str] = []

    def _count(self, request: httpx.Request) -> None:
        self.requests.append(f"{request.method} {request.url.path}")


async def _template(client: PactaClient) -> tuple[int, int]:
    template = await client.templates.create(
        PDF, title="NDA", recipients=[{"name": "Placeholder", "email": "p@x.io"}]
    )
    return template.id, template.recipients[0].id


async def _generate(client: PactaClient, template: tuple[int, int], n: int, **kw: object) -> int:
    template_id, placeholder = template
    document = await client.templates.generate(
        template_id,
        recipients=[{"id": placeholder, "name": f"P {n}", "email": f"p{n}@x.io"}],
        **kw,  # type: ignore[arg-type]
    )
    return document.id


# -- documents.find -----------------------------------------------------------------


async def test_find_pages_past_the_first_hundred_and_answers_none_when_absent(
    fake_server: ReferenceServer, clock: FakeClock
) -> None:
    token = fake_server.create_token(fake_server.create_team())
    counting = Counting(fake_server.transport())
    async with client_for(fake_server, token, clock=clock, transport=counting) as client:
        template = await _template(client)
        oldest = await _generate(client, template, 0, external_id="order-0")
        for n in range(1, 230):
            await _generate(client, template, n)
        counting.requests.clear()
        found = await client.documents.find(external_id="order-0")
        assert found is not None
        assert found.id == oldest
        assert counting.requests == ["GET /api/v1/documents"] * 3  # 230 documents
        counting.requests.clear()
        assert await client.documents.find(external_id="order-404") is None
        assert len(counting.requests) == 3


async def test_find_retries_failed_pages_and_resumes(
    fake_server: ReferenceServer, clock: FakeClock
) -> None:
    token = fake_server.create_token(fake_server.create_team())
    async with client_for(fake_server, token, clock=clock) as client:
        template = await _template(client)
        oldest = await _generate(client, template, 0, external_id="order-0")
        for n in range(1, 450):
            await _generate(client, template, n)
        fake_server.set_faults(Faults(error_rate=0.7, routes=LIST, seed=3))
        found = await client.documents.find(external_id="order-0")
    assert found is not None
    assert found.id == oldest


async def test_find_checks_its_input_before_sending_and_types_a_refusal(
    fake_server: ReferenceServer, clock: FakeClock
) -> None:
    counting = Counting(fake_server.transport())
    async with client_for(fake_server, "api_revoked", clock=clock, transport=counting) as client:
        for bad in ("", "   ", 42, None):
            with pytest.raises(InvalidInputError):
                await client.documents.find(external_id=bad)  # type: ignore[arg-type]
        assert counting.requests == []
        with pytest.raises(AuthenticationError):
            await client.documents.find(external_id="order-1")
    assert counting.requests == ["GET /api/v1/documents"]  # refused: not asked again


# -- a single create or generate with an externalId -----------------------------------


async def test_a_generate_processed_after_its_answer_was_lost_is_returned_not_repeated(
    fake_server: ReferenceServer, clock: FakeClock
) -> None:
    token = fake_server.create_token(fake_server.create_team())
    counting = Counting(fake_server.transport())
    async with (
        fake_server.running(),
        client_for(fake_server, token, clock=clock, transport=counting) as client,
    ):
        template = await _template(client)
        # The connection drops, and Pacta makes the document 30 s later.
        fake_server.set_faults(Faults(late_rate=1.0, late_delay=30.0, routes=SEND_ROUTES))
        started = clock.monotonic()
        document_id = await _generate(client, template, 1, external_id="order-1")
        waited = clock.monotonic() - started
        fake_server.clear_faults()
        await clock.sleep(120)
        held = await documents_by_external_id(client)
    assert held["order-1"] == 1
    assert fake_server.document(document_id)["externalId"] == "order-1"
    assert counting.requests.count("POST /api/v1/templates/1/generate") == 1
    assert waited >= 30  # it found the document once it was made, not before


async def test_a_generate_dropped_before_processing_is_made_once_after_the_settle_window(
    fake_server: ReferenceServer, clock: FakeClock
) -> None:
    token = fake_server.create_token(fake_server.create_team())
    generates = 0

    def drop_the_first(request: httpx.Request) -> None:
        nonlocal generates
        if is_post(request, "/generate"):
            generates += 1
            if generates == 1:
                raise httpx.ReadError("connection reset", request=request)

    transport = Interceptor(fake_server.transport(), before=drop_the_first)
    async with client_for(
        fake_server, token, clock=clock, transport=transport, timeout=20.0
    ) as client:
        template = await _template(client)
        started = clock.monotonic()
        document_id = await _generate(client, template, 1, external_id="order-1")
        waited = clock.monotonic() - started
        held = await documents_by_external_id(client)
    assert held["order-1"] == 1
    assert fake_server.send_count(document_id) == 1
    assert generates == 2
    # Not repeated before the settle window: 20 s per phase (connect + read) + 10 s.
    assert waited >= 50


async def test_an_upload_whose_answer_was_lost_returns_the_document_made(
    fake_server: ReferenceServer, clock: FakeClock
) -> None:
    token = fake_server.create_token(fake_server.create_team())
    counting = Counting(fake_server.transport())
    async with client_for(fake_server, token, clock=clock, transport=counting) as client:
        fake_server.set_faults(Faults(drop_after_rate=1.0, routes=UPLOAD))
        document = await client.documents.create(PDF, title="Q4", external_id="contract-q4")
        fake_server.clear_faults()
        held = await documents_by_external_id(client)
    assert held["contract-q4"] == 1
    assert document.external_id == "contract-q4"
    assert counting.requests.count("POST /api/v1/documents") == 1


async def test_a_5xx_after_processing_then_a_lost_generate_still_ends_with_one_document(
    fake_server: ReferenceServer, clock: FakeClock
) -> None:
    token = fake_server.create_token(fake_server.create_team())
    async with fake_server.running(), client_for(fake_server, token, clock=clock) as client:
        template = await _template(client)
        # Every generate fails ambiguously: some processed (lost answers, late), some not.
        fake_server.set_faults(
            Faults(drop_before_rate=0.3, drop_after_rate=0.3, routes=SEND_ROUTES, seed=11),
            Faults(error_rate=0.4, routes=SEND_ROUTES, seed=12),
        )
        ids = [await _generate(client, template, n, external_id=f"order-{n}") for n in range(6)]
        fake_server.clear_faults()
        held = await documents_by_external_id(client)
    assert len(set(ids)) == 6
    assert all(held[f"order-{n}"] == 1 for n in range(6))


async def test_without_an_external_id_a_post_in_doubt_is_not_repeated(
    fake_server: ReferenceServer, clock: FakeClock
) -> None:
    token = fake_server.create_token(fake_server.create_team())
    counting = Counting(fake_server.transport())
    async with client_for(fake_server, token, clock=clock, transport=counting) as client:
        template = await _template(client)
        fake_server.set_faults(Faults(drop_after_rate=1.0, routes=SEND_ROUTES | UPLOAD))
        with pytest.raises(APIConnectionError):
            await _generate(client, template, 1)
        with pytest.raises(APIConnectionError):
            await client.documents.create(PDF, title="Q4")
    assert counting.requests.count("POST /api/v1/templates/1/generate") == 1
    assert counting.requests.count("POST /api/v1/documents") == 1
    assert "GET /api/v1/documents" not in counting.requests  # nothing checked either


async def test_bad_input_with_an_external_id_is_refused_before_anything_is_sent(
    fake_server: ReferenceServer, clock: FakeClock
) -> None:
    counting = Counting(fake_server.transport())
    async with client_for(fake_server, "api_x", clock=clock, transport=counting) as client:
        with pytest.raises(InvalidInputError):
            await client.documents.create(PDF, title="Q4", external_id="")
        with pytest.raises(InvalidInputError):
            await client.templates.generate(
                1, recipients=[{"id": 1, "name": "A", "email": "nope"}], external_id="x"
            )
        with pytest.raises(InvalidInputError):
            await client.templates.generate(0, recipients=[], external_id="x")
    assert counting.requests == []
