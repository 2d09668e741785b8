"""`pacta-async batch status --journal J`: each item's status now, from list pages."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import anyio
import pytest

from pacta_async import PactaClient
from pacta_async._cli import main
from pacta_async.testing import ReferenceServer

from ._helpers import UNLIMITED, sent


def test_status_shows_who_has_signed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ReferenceServer(limits=UNLIMITED)
    token = server.create_token(server.create_team())
    journal = tmp_path / "batch.sqlite"
    with server.serve_in_thread() as url:

        async def prepare() -> list[int]:
            async with PactaClient(token, base_url=url, rate_limiter=None) as client:
                ids = [await sent(client, f"NDA {n}") for n in range(3)]
                # Already sent, so the batch records them as skipped-with-document.
                await client.batch.send_many(ids, journal=journal, send_email=False)
                return ids

        ids = anyio.run(prepare)
        server.complete(ids[0])
        recipient = server.document(ids[1])["recipients"][0]["id"]
        server.reject(ids[1], recipient)
        monkeypatch.setenv("PACTA_API_TOKEN", token)
        monkeypatch.setenv("PACTA_BASE_URL", url)
        capsys.readouterr()
        assert main(["batch", "status", "--journal", str(journal), "--csv"]) == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        by_id = {int(r["document_id"]): r for r in rows}
        assert by_id[ids[0]]["status"] == "COMPLETED"
        assert by_id[ids[0]]["signed"] == "1/1"
        assert by_id[ids[1]]["status"] == "REJECTED"
        assert by_id[ids[2]]["status"] == "PENDING"
        assert by_id[ids[2]]["signed"] == "0/1"
        assert main(["batch", "status", "--journal", str(journal)]) == 0
        table = capsys.readouterr().out.splitlines()
        assert table[0].split()[:4] == ["KEY", "BATCH_STATE", "DOCUMENT_ID", "STATUS"]
        assert len(table) == 4
    assert main(["batch", "status", "--journal", str(tmp_path / "none")]) == 2
