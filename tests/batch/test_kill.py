"""The CLI batch killed part-way (SIGKILL, or Ctrl-C), then rerun with the same journal:
every row ends up sent exactly once."""

from __future__ import annotations

import collections
import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from pacta_async.testing import SEND_ROUTES, Faults, Limits, ReferenceServer, make_pdf

pytestmark = pytest.mark.slow  # real CLI processes, killed and rerun

ROWS = 150
# Slow enough to stop part-way: 50 ms a request, 4 at a time, some answers lost.
FAULTS = (Faults(latency=0.05), Faults(drop_after_rate=0.05, routes=SEND_ROUTES, seed=3))


def cli() -> list[str]:
    script = Path(sys.executable).with_name("pacta-async")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from pacta_async._cli import main; sys.exit(main())"]


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_a_killed_batch_finishes_on_the_rerun_without_sending_twice(
    tmp_path: Path, stop: signal.Signals
) -> None:
    server = ReferenceServer(limits=Limits(general=100_000, send=100_000), faults=FAULTS)
    team = server.create_team()
    token, observer = server.create_token(team), server.create_token(team)
    people = tmp_path / "people.csv"
    with people.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["name", "email"])
        writer.writerows([f"Person {n}", f"p{n}@x.io"] for n in range(ROWS))
    journal, results = tmp_path / "batch.journal", tmp_path / "results.csv"

    with server.serve_in_thread() as base_url:
        api = httpx.Client(base_url=base_url, headers={"Authorization": observer})
        template = api.post(
            "/templates",
            data={
                "title": "NDA",
                "recipients[0][name]": "P",
                "recipients[0][email]": "p@x.io",
                "recipients[0][role]": "SIGNER",
            },
            files={"file": ("nda.pdf", make_pdf(), "application/pdf")},
        ).json()

        def documents() -> int:
            return int(api.get("/documents", params={"perPage": 1}).json()["totalPages"])

        command = [
            *cli(), "batch", "generate", str(template["id"]), str(people),
            "--journal", str(journal), "--results", str(results), "--concurrency", "4",
            "--requests-per-minute", "100000", "--sends-per-minute", "100000",
            "--settle-window", "1",
        ]  # fmt: skip
        env = {**os.environ, "PACTA_API_TOKEN": token, "PACTA_BASE_URL": base_url}
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: documents() >= ROWS // 3)
            first.send_signal(stop)
            first.communicate(timeout=30)
        finally:
            first.kill()
            first.wait()
        if stop is signal.SIGINT:
            assert first.returncode == 130
        sent_before = documents()
        assert ROWS // 3 <= sent_before < ROWS

        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr

        listing = api.get("/documents", params={"perPage": 100})
        pages = listing.json()["totalPages"]
        everything = [
            document
            for page in range(1, pages + 1)
            for document in api.get("/documents", params={"perPage": 100, "page": page}).json()[
                "documents"
            ]
        ]
        api.close()

    by_email = collections.Counter(d["recipients"][0]["email"] for d in everything)
    assert by_email == {f"p{n}@x.io": 1 for n in range(ROWS)}
    assert len({d["externalId"] for d in everything}) == ROWS
    assert {server.send_count(d["id"]) for d in everything} == {1}
    with results.open(newline="") as file:
        statuses = collections.Counter(row["status"] for row in csv.DictReader(file))
    assert statuses["skipped"] >= 1
    assert statuses["skipped"] + statuses["sent"] == ROWS
