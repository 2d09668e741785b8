"""`documents.download`: from a separate storage origin, atomically, without the token."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio.to_thread
import httpx
import pytest

from pacta_async import (
    IncompleteDownloadError,
    InvalidDocumentStatusError,
    InvalidInputError,
    PactaClient,
    PermissionDeniedError,
)
from pacta_async.testing import Limits, ReferenceServer, make_pdf

pytestmark = pytest.mark.anyio

UNLIMITED = Limits(general=1_000_000, send=1_000_000)
SIGNER = {"name": "Ann Lee", "email": "ann@acme.com", "role": "SIGNER"}


@pytest.fixture
def server() -> ReferenceServer:
    return ReferenceServer(limits=UNLIMITED)


@pytest.fixture
def token(server: ReferenceServer) -> str:
    return server.create_token(server.create_team())


@pytest.fixture
def loopback_url(server: ReferenceServer) -> Iterator[str]:
    with server.serve_in_thread() as url:
        yield url


def in_process(server: ReferenceServer, token: str) -> PactaClient:
    return PactaClient(
        token, base_url="http://localhost/api/v1", transport=server.transport(), rate_limiter=None
    )


async def completed(client: PactaClient, server: ReferenceServer, pdf: bytes) -> int:
    document = await client.documents.create(pdf, title="NDA", recipients=[SIGNER])
    await client.documents.fields.create(
        document.id,
        recipient_id=document.recipients[0].id,
        type="SIGNATURE",
        page=1,
        x=100,
        y=600,
        width=200,
        height=50,
    )
    await client.documents.send(document.id)
    server.complete(document.id)
    return document.id


def signed_bytes(server: ReferenceServer, document_id: int) -> bytes:
    content = server._state.stored_file(document_id, "signed")
    assert content is not None
    return content


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


async def test_loopback_download_from_another_origin_never_carries_the_token(
    server: ReferenceServer, token: str, loopback_url: str, tmp_path: Path
) -> None:
    pdf = make_pdf(3)
    async with PactaClient(token, base_url=loopback_url, rate_limiter=None) as client:
        document_id = await completed(client, server, pdf)
        server.set_storage_faults(redirects=1)  # a redirect, followed without the token
        target = tmp_path / "signed.pdf"
        result = await client.documents.download(document_id, target)
        link = await client.get(f"/documents/{document_id}/download")

    expected = signed_bytes(server, document_id)
    assert target.read_bytes() == expected
    assert expected.startswith(pdf)
    assert expected != pdf
    assert result.path == target
    assert result.size == len(expected)
    assert result.sha256 == hashlib.sha256(expected).hexdigest()
    api, storage = httpx.URL(loopback_url), httpx.URL(link["downloadUrl"])
    assert (api.host, api.port) != (storage.host, storage.port)  # another origin
    seen = server.storage_requests()
    assert [r.path.startswith("/moved") for r in seen] == [False, True]
    assert not any(r.authorization or r.cookie for r in seen)
    assert leftovers(tmp_path) == []


async def test_the_original_and_a_file_object(server: ReferenceServer, token: str) -> None:
    pdf = make_pdf(2)
    async with in_process(server, token) as client:
        draft = await client.documents.create(pdf, title="Draft", recipients=[SIGNER])
        sink = io.BytesIO(b"header:")
        sink.seek(0, io.SEEK_END)
        result = await client.documents.download(draft.id, sink, original=True)
    assert sink.getvalue() == b"header:" + pdf
    assert result.path is None
    assert result.size == len(pdf)
    assert not any(r.authorization for r in server.storage_requests())


async def test_a_document_not_completed_is_a_typed_error_and_writes_nothing(
    server: ReferenceServer, token: str, tmp_path: Path
) -> None:
    async with in_process(server, token) as client:
        draft = await client.documents.create(make_pdf(), title="Draft", recipients=[SIGNER])
        with pytest.raises(InvalidDocumentStatusError) as caught:
            await client.documents.download(draft.id, tmp_path / "x.pdf")
    assert caught.value.details == {"status": "DRAFT"}
    assert files(tmp_path) == []
    assert server.storage_requests() == []


async def test_bad_destinations_are_refused_before_anything_is_sent(
    server: ReferenceServer, token: str, tmp_path: Path
) -> None:
    async with in_process(server, token) as client:
        for destination in (tmp_path, tmp_path / "missing" / "x.pdf", io.StringIO()):
            with pytest.raises(InvalidInputError):
                await client.documents.download(1, destination)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError):
            await client.documents.download(1, tmp_path / "x.pdf", original="yes")  # type: ignore[arg-type]


async def test_an_expired_link_is_refreshed_once(
    server: ReferenceServer, token: str, tmp_path: Path
) -> None:
    async with in_process(server, token) as client:
        document_id = await completed(client, server, make_pdf())
        server.set_storage_faults(expired_links=1)
        target = tmp_path / "a.pdf"
        await client.documents.download(document_id, target)
        assert target.read_bytes() == signed_bytes(server, document_id)
        assert len(server.storage_requests()) == 2  # the stale link, then a fresh one

        target.write_bytes(b"the old version")
        server.set_storage_faults(expired_links=2)  # the fresh link is stale too: give up
        with pytest.raises(PermissionDeniedError) as caught:
            await client.documents.download(document_id, target)
    assert "signature" not in str(caught.value)  # the presigned query is a credential
    assert target.read_bytes() == b"the old version"  # untouched
    assert leftovers(tmp_path) == []
    assert len(server.storage_requests()) == 4


async def test_a_short_body_is_retried_then_typed(
    server: ReferenceServer, token: str, tmp_path: Path
) -> None:
    async with in_process(server, token) as client:
        document_id = await completed(client, server, make_pdf(4))
        server.set_storage_faults(truncations=1)
        target = tmp_path / "a.pdf"
        await client.documents.download(document_id, target)
        assert target.read_bytes() == signed_bytes(server, document_id)

        server.set_storage_faults(truncations=3)
        with pytest.raises(IncompleteDownloadError, match="ended after"):
            await client.documents.download(document_id, tmp_path / "b.pdf", max_retries=1)
    assert not (tmp_path / "b.pdf").exists()
    assert leftovers(tmp_path) == []


async def test_a_connection_cut_mid_body_over_loopback_is_retried(
    server: ReferenceServer, token: str, loopback_url: str, tmp_path: Path
) -> None:
    async with PactaClient(token, base_url=loopback_url, rate_limiter=None) as client:
        document_id = await completed(client, server, make_pdf(2) + b"%" + b"x" * 3_000_000)
        server.set_storage_faults(truncations=1)
        target = tmp_path / "a.pdf"
        await client.documents.download(document_id, target)
    assert target.read_bytes() == signed_bytes(server, document_id)
    assert len(server.storage_requests()) == 2


async def test_a_failing_write_leaves_the_final_name_alone(
    server: ReferenceServer, token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pacta_async import _download

    async def disk_full(self: object, chunk: bytes) -> None:
        raise OSError(28, "No space left on device")

    async with in_process(server, token) as client:
        document_id = await completed(client, server, make_pdf())
        target = tmp_path / "a.pdf"
        target.write_bytes(b"previous")
        monkeypatch.setattr(_download._PathSink, "write", disk_full)
        with pytest.raises(OSError, match="No space"):
            await client.documents.download(document_id, target)
    assert target.read_bytes() == b"previous"
    assert leftovers(tmp_path) == []


def kill_halfway(command: list[str], folder: Path) -> None:
    """Run the download in a child process and SIGKILL it once it is well under way."""
    child = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            parts = [p for p in folder.iterdir() if p.name.endswith(".part")]
            if parts and parts[0].stat().st_size >= 1_000_000:
                return
            time.sleep(0.02)
        pytest.fail("the child never got halfway")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()


CHILD = """
import sys, anyio
from pacta_async import PactaClient

async def main() -> None:
    async with PactaClient(sys.argv[1], base_url=sys.argv[2], rate_limiter=None) as client:
        await client.documents.download(int(sys.argv[3]), sys.argv[4])

anyio.run(main)
"""


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_process_killed_mid_download_never_leaves_a_half_file(
    server: ReferenceServer, token: str, loopback_url: str, tmp_path: Path
) -> None:
    pdf = make_pdf() + b"%" + b"x" * 4_000_000
    async with PactaClient(token, base_url=loopback_url, rate_limiter=None) as client:
        document_id = await completed(client, server, pdf)
        server.set_storage_faults(stalls=1)
        target = tmp_path / "signed.pdf"
        command = [sys.executable, "-c", CHILD, token, loopback_url, str(document_id), str(target)]
        await anyio.to_thread.run_sync(kill_halfway, command, tmp_path)
        assert not target.exists()  # only the temporary file, never the final name
        await client.documents.download(document_id, target)  # the rerun completes it
    assert target.read_bytes() == signed_bytes(server, document_id)
