"""`client.batch.download_many`: a folder of signed PDFs and a manifest, resumable."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pacta_async import (
    ExportResult,
    ExportStatus,
    ExportSummary,
    InvalidDocumentStatusError,
    InvalidInputError,
    PactaClient,
)
from pacta_async.testing import ReferenceServer

from ._helpers import UNLIMITED, completed, manifest, sent, signed

pytestmark = pytest.mark.anyio


@pytest.fixture
def server() -> ReferenceServer:
    return ReferenceServer(limits=UNLIMITED)


@pytest.fixture
def token(server: ReferenceServer) -> str:
    return server.create_token(server.create_team())


def in_process(server: ReferenceServer, token: str) -> PactaClient:
    return PactaClient(
        token, base_url="http://localhost/api/v1", transport=server.transport(), rate_limiter=None
    )


def storage_files(server: ReferenceServer) -> list[str]:
    return [r.path for r in server.storage_requests()]


async def test_loopback_export_by_status_writes_files_and_manifest_without_the_token(
    server: ReferenceServer, token: str, tmp_path: Path
) -> None:
    out = tmp_path / "signed"
    with server.serve_in_thread() as url:
        async with PactaClient(token, base_url=url, rate_limiter=None) as client:
            ids = await completed(client, server, 5)
            await sent(client, "still pending")  # not COMPLETED: not listed
            summary = await client.batch.download_many(out)
    assert (summary.downloaded, summary.skipped, summary.failed) == (5, 0, 0)
    assert summary.manifest == out / "manifest.csv"
    rows = manifest(out)
    assert sorted(int(r["id"]) for r in rows) == sorted(ids)
    for row in rows:
        content = signed(server, int(row["id"]))
        assert (out / row["path"]).read_bytes() == content
        assert row["sha256"] == hashlib.sha256(content).hexdigest()
        assert row["size"] == str(len(content))
        assert row["status"] == "COMPLETED"
        assert row["completedAt"]
        assert row["externalId"].startswith("ext-")
        assert row["path"] == f"{row['id']}-NDA-{row['title'].split()[1].split('/')[0]}-x.pdf"
    seen = server.storage_requests()
    assert len(seen) == 5
    assert not any(r.authorization or r.cookie for r in seen)
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]


async def test_rerun_skips_complete_files_and_redownloads_damaged_ones(
    server: ReferenceServer, token: str, tmp_path: Path
) -> None:
    async with in_process(server, token) as client:
        ids = await completed(client, server, 4)
        first = await client.batch.download_many(tmp_path, ids)
        assert first.downloaded == 4
        rows = {int(r["id"]): r for r in manifest(tmp_path)}
        damaged = tmp_path / rows[ids[1]]["path"]
        damaged.write_bytes(damaged.read_bytes()[:-3] + b"xyz")  # same size, other bytes
        (tmp_path / rows[ids[2]]["path"]).unlink()
        before = len(server.storage_requests())
        results: list[ExportResult] = []
        second = await client.batch.download_many(tmp_path, ids, on_result=results.append)
    assert (second.downloaded, second.skipped, second.failed) == (2, 2, 0)
    again = storage_files(server)[before:]
    assert sorted(again) == sorted(f"/files/{i}/signed.pdf" for i in (ids[1], ids[2]))
    by_id = {r.document_id: r for r in results}
    assert by_id[ids[0]].status is ExportStatus.SKIPPED
    assert by_id[ids[1]].status is ExportStatus.DOWNLOADED
    for document_id in ids:
        row = {int(r["id"]): r for r in manifest(tmp_path)}[document_id]
        assert (tmp_path / row["path"]).read_bytes() == signed(server, document_id)


async def test_a_torn_last_manifest_line_is_dropped_and_its_file_fetched_again(
    server: ReferenceServer, token: str, tmp_path: Path
) -> None:
    async with in_process(server, token) as client:
        ids = await completed(client, server, 2)
        await client.batch.download_many(tmp_path, ids)
        text = (tmp_path / "manifest.csv").read_text()
        (tmp_path / "manifest.csv").write_text(text[: len(text) - 20])  # killed mid-row
        summary = await client.batch.download_many(tmp_path, ids)
    assert (summary.downloaded, summary.skipped) == (1, 1)
    rows = manifest(tmp_path)
    assert sorted(int(r["id"]) for r in rows) == sorted(ids)
    assert all(len(r) == 8 and None not in r for r in rows)


async def test_a_failing_document_does_not_stop_the_others(
    server: ReferenceServer, token: str, tmp_path: Path
) -> None:
    progress: list[ExportSummary] = []
    results: list[ExportResult] = []
    async with in_process(server, token) as client:
        ids = await completed(client, server, 3)
        pending = await sent(client, "not signed yet")
        server.set_storage_faults(truncations=1)  # retried inside the download
        summary = await client.batch.download_many(
            tmp_path,
            [ids[0], pending, 999_999, ids[1], ids[2]],
            concurrency=2,
            on_result=results.append,
            on_progress=progress.append,
        )
    assert (summary.downloaded, summary.failed) == (3, 2)
    assert not summary.ok
    failed = {r.document_id: r.error for r in results if r.status is ExportStatus.FAILED}
    assert isinstance(failed[pending], InvalidDocumentStatusError)
    assert set(failed) == {pending, 999_999}
    assert [p.done for p in progress] == [1, 2, 3, 4, 5]
    assert sorted(int(r["id"]) for r in manifest(tmp_path)) == sorted(ids)


async def test_bad_input_is_refused_before_anything_is_sent(
    server: ReferenceServer, token: str, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("x")
    async with in_process(server, token) as client:
        with pytest.raises(InvalidInputError, match="document_ids"):
            await client.batch.download_many(tmp_path / "out", [1, 0])
        with pytest.raises(InvalidInputError, match="not a folder"):
            await client.batch.download_many(tmp_path / "file")
        with pytest.raises(InvalidInputError, match="status"):
            await client.batch.download_many(tmp_path / "out", status="SIGNED")
        with pytest.raises(InvalidInputError, match="concurrency"):
            await client.batch.download_many(tmp_path / "out", concurrency=0)
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "manifest.csv").write_text("line,name\n1,x\n")
        with pytest.raises(InvalidInputError, match="not an export manifest"):
            await client.batch.download_many(tmp_path / "other")
    assert not (tmp_path / "out").exists()
    assert server.storage_requests() == []
