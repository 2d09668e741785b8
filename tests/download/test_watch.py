"""`documents.wait_for` and `documents.watch`: list pages, not a GET per document."""

from __future__ import annotations

import anyio
import httpx
import pytest

from pacta_async import InvalidInputError, PactaClient
from pacta_async.testing import FakeClock, Limits, ReferenceServer, make_pdf

pytestmark = pytest.mark.anyio

SIGNERS = [
    {"name": "Ann Lee", "email": "ann@acme.com", "role": "SIGNER"},
    {"name": "Bo Chan", "email": "bo@acme.com", "role": "SIGNER"},
]


async def sent_documents(client: PactaClient, count: int) -> list[tuple[int, list[int]]]:
    out = []
    for n in range(count):
        document = await client.documents.create(make_pdf(), title=f"NDA {n}", recipients=SIGNERS)
        for recipient in document.recipients:
            await client.documents.fields.create(
                document.id,
                recipient_id=recipient.id,
                type="SIGNATURE",
                page=1,
                x=100,
                y=600,
                width=200,
                height=50,
            )
        await client.documents.send(document.id)
        out.append((document.id, [r.id for r in document.recipients]))
    return out


async def test_wait_for_documents_signed_through_the_control_api(clock: FakeClock) -> None:
    server = ReferenceServer(clock=clock, control_api=True, limits=Limits())
    token = server.create_token(server.create_team())
    requests: list[tuple[float, str]] = []

    class Counting(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner = inner

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if "/_control/" not in request.url.path:
                requests.append((clock.monotonic(), request.url.path))
            return await self.inner.handle_async_request(request)

    transport = Counting(server.transport())
    async with (
        PactaClient(
            token, base_url="http://localhost/api/v1", transport=transport, clock=clock
        ) as client,
        httpx.AsyncClient(
            transport=transport, base_url="http://localhost", headers={"Authorization": token}
        ) as control,
    ):
        documents = await sent_documents(client, 3)
        # Other documents of the team: pending ones the watch has to page through.
        await sent_documents(client, 2)
        ids = [document_id for document_id, _ in documents]

        async def signers() -> None:
            for document_id, recipients in documents[:2]:
                for recipient_id in recipients:
                    await clock.sleep(45)
                    response = await control.post(
                        f"/_control/documents/{document_id}/sign",
                        json={"recipientId": recipient_id},
                    )
                    assert response.status_code == 200, response.text
            await clock.sleep(30)
            response = await control.post(
                f"/_control/documents/{documents[2][0]}/reject",
                json={"recipientId": documents[2][1][0]},
            )
            assert response.status_code == 200, response.text

        changes = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(signers)
            started = clock.monotonic()
            polls_from = len(requests)
            async for change in client.documents.watch(ids, interval=5):
                changes.append((change.document.id, change.previous, change.status))
        elapsed = clock.monotonic() - started

        final = await client.documents.wait_for(ids)

    assert {i: str(d.status) for i, d in final.items()} == {
        ids[0]: "COMPLETED",
        ids[1]: "COMPLETED",
        ids[2]: "REJECTED",
    }
    assert changes[:3] == [(i, None, "PENDING") for i in ids]
    assert (ids[0], "PENDING", "PENDING") in changes  # the first signer signed
    assert changes[-1] == (ids[2], "PENDING", "REJECTED")
    polls = requests[polls_from:]
    assert not any(path.endswith(f"/documents/{i}") for i in ids for _, path in polls)
    per_minute = len(polls) / (elapsed / 60)
    assert per_minute <= 30.5, (len(polls), elapsed)


async def test_bad_arguments_are_refused(clock: FakeClock) -> None:
    server = ReferenceServer(clock=clock)
    token = server.create_token(server.create_team())
    async with PactaClient(
        token, base_url="http://localhost/api/v1", transport=server.transport()
    ) as client:
        with pytest.raises(InvalidInputError):
            await client.documents.wait_for([])
        with pytest.raises(InvalidInputError):
            await client.documents.wait_for([1], requests_per_minute=500)
        with pytest.raises(InvalidInputError):
            client.documents.watch([0])
