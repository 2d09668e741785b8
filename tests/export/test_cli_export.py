"""`pacta-async documents export`: real processes over loopback, killed and rerun."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pacta_async.testing import Faults, Limits, ReferenceServer, make_pdf

from ._helpers import SIGNER, manifest, signed

pytestmark = pytest.mark.slow  # real CLI processes: a few seconds each

RUN_CLI = "import sys; from pacta_async._cli import main; sys.exit(main(sys.argv[1:]))"
DOCUMENTS = 40
LINK_ROUTE = frozenset({"GET /documents/{documentId}/download"})


class Pacta:
    def __init__(self, server: ReferenceServer, base_url: str) -> None:
        self.server = server
        self.base_url = base_url
        team = server.create_team()
        self.token = server.create_token(team)
        self.api = httpx.Client(base_url=base_url, headers={"Authorization": self.token})

    def completed(self, count: int) -> list[int]:
        ids = []
        for number in range(count):
            document = self.api.post(
                "/documents",
                data={
                    "title": f"Contract {number}",
                    "recipients[0][name]": SIGNER["name"],
                    "recipients[0][email]": SIGNER["email"],
                    "recipients[0][role]": "SIGNER",
                },
                files={"file": ("c.pdf", make_pdf(1), "application/pdf")},
            ).json()
            self.api.post(
                f"/documents/{document['id']}/fields",
                json={
                    "recipientId": document["recipients"][0]["id"],
                    "type": "SIGNATURE",
                    "page": 1,
                    "x": 100,
                    "y": 600,
                    "width": 200,
                    "height": 50,
                },
            ).raise_for_status()
            self.api.post(
                f"/documents/{document['id']}/send", json={"sendEmail": False}
            ).raise_for_status()
            self.server.complete(document["id"])
            ids.append(document["id"])
        return ids

    def start(self, args: list[str]) -> subprocess.Popen[str]:
        env = {**os.environ, "PACTA_API_TOKEN": self.token, "PACTA_BASE_URL": self.base_url}
        return subprocess.Popen(
            [sys.executable, "-c", RUN_CLI, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, args: list[str]) -> tuple[int, str, str]:
        process = self.start(args)
        out, err = process.communicate(timeout=120)
        return process.returncode, out, err


@pytest.fixture
def pacta() -> Iterator[Pacta]:
    server = ReferenceServer(limits=Limits(general=100_000, send=100_000))
    with server.serve_in_thread() as base_url:
        yield Pacta(server, base_url)


def downloads(server: ReferenceServer) -> list[int]:
    """The document of each completed-or-not request to storage, in order."""
    return [int(r.path.split("/")[-2]) for r in server.storage_requests()]


def test_export_resumes_after_sigkill_without_downloading_a_complete_file_twice(
    pacta: Pacta, tmp_path: Path
) -> None:
    ids = pacta.completed(DOCUMENTS)
    # 100 ms per link and 2 at a time: the export takes about 2 s, time to kill it.
    pacta.server.set_faults(Faults(latency=0.1, routes=LINK_ROUTE))
    out = tmp_path / "signed"
    args = ["documents", "export", "--out", str(out), "--concurrency", "2"]
    args += ["--requests-per-minute", "100000"]
    process = pacta.start(args)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (out / "manifest.csv").exists() and len(manifest(out)) >= 8:
            break
        time.sleep(0.02)
    pacta.server.set_storage_faults(stalls=1)  # one download killed half-way
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    recorded = {int(r["id"]) for r in manifest(out)}
    assert 8 <= len(recorded) < DOCUMENTS
    first_run = len(pacta.server.storage_requests())

    pacta.server.clear_faults()
    status, stdout, stderr = pacta.run(args)
    assert status == 0, stderr
    assert "skipped (already complete)" in stdout
    again = downloads(pacta.server)[first_run:]
    assert not recorded & set(again)  # nothing complete was fetched twice
    rows = {int(r["id"]): r for r in manifest(out)}
    assert set(rows) == set(ids)
    for document_id, row in rows.items():
        content = signed(pacta.server, document_id)
        assert (out / row["path"]).read_bytes() == content
        assert row["sha256"] == hashlib.sha256(content).hexdigest()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*(r["path"] for r in rows.values()), "manifest.csv"]
    )  # no half files, no leftovers
    assert not any(r.authorization for r in pacta.server.storage_requests())


def test_exit_statuses_failed_document_and_bad_input(pacta: Pacta, tmp_path: Path) -> None:
    ids = pacta.completed(2)
    out = tmp_path / "out"
    status, stdout, _ = pacta.run(["documents", "export", "--out", str(out), str(ids[0])])
    assert status == 0
    assert "1 downloaded, 0 failed" in stdout
    status, stdout, _ = pacta.run(
        ["documents", "export", "--out", str(out), str(ids[0]), str(ids[1]), "999999"]
    )
    assert status == 1
    assert "1 downloaded, 1 failed, 1 skipped" in stdout
    assert "document 999999:" in stdout
    assert {int(r["id"]) for r in manifest(out)} == set(ids)
    status, _, stderr = pacta.run(["documents", "export", "--out", str(out), "--status", "X"])
    assert status == 2
    assert "status must be one of" in stderr
    status, _, stderr = pacta.run(["documents", "export", "--out", str(out), "abc"])
    assert status == 2


def test_sigterm_stops_with_143(pacta: Pacta, tmp_path: Path) -> None:
    pacta.completed(10)
    pacta.server.set_faults(Faults(latency=0.5, routes=LINK_ROUTE))
    out = tmp_path / "out"
    process = pacta.start(["documents", "export", "--out", str(out), "--concurrency", "1"])
    deadline = time.monotonic() + 30
    while not any(r.path for r in pacta.server.storage_requests()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 143, stderr
    assert "SIGTERM: interrupted; rerun with --out" in stderr
