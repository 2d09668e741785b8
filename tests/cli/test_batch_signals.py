"""`pacta-async batch` stopped by a real SIGTERM or SIGINT: what was in flight finishes,
the results CSV and the journal hold every item that did, and the status says which
signal it was."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from pacta_async.testing import SEND_ROUTES, Faults, Limits, ReferenceServer, make_pdf

from ..batch.support import journal_states

pytestmark = pytest.mark.slow  # real CLI processes and real signals: seconds each

ROWS = 60
RUN_CLI = "import sys; from pacta_async._cli import main; sys.exit(main(sys.argv[1:]))"
FAST = ["--requests-per-minute", "100000", "--sends-per-minute", "100000"]


class Pacta:
    """A reference server in a thread, a template on it, and an observer's view."""

    def __init__(self, server: ReferenceServer, base_url: str) -> None:
        self.server = server
        self.base_url = base_url
        team = server.create_team()
        self.token = server.create_token(team)
        self.api = httpx.Client(
            base_url=base_url, headers={"Authorization": server.create_token(team)}
        )
        self.template_id = self.api.post(
            "/templates",
            data={
                "title": "NDA",
                "recipients[0][name]": "P",
                "recipients[0][email]": "p@x.io",
                "recipients[0][role]": "SIGNER",
            },
            files={"file": ("nda.pdf", make_pdf(), "application/pdf")},
        ).json()["id"]

    def documents(self) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        page = 1
        while True:
            listing = self.api.get("/documents", params={"perPage": 100, "page": page}).json()
            found += listing["documents"]
            if page >= listing["totalPages"]:
                return found
            page += 1

    def start(self, args: list[str]) -> subprocess.Popen[str]:
        env = {**os.environ, "PACTA_API_TOKEN": self.token, "PACTA_BASE_URL": self.base_url}
        return subprocess.Popen(
            [sys.executable, "-c", RUN_CLI, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def pacta() -> Iterator[Pacta]:
    # 50 ms a generate or send, 4 at a time: a batch of ROWS takes about a second.
    server = ReferenceServer(
        limits=Limits(general=100_000, send=100_000),
        faults=[Faults(latency=0.05, routes=SEND_ROUTES)],
    )
    with server.serve_in_thread() as base_url:
        pacta = Pacta(server, base_url)
        yield pacta
        pacta.api.close()


def people(path: Path) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.writer(file, delimiter=";")  # as a German spreadsheet exports it
        writer.writerow(["name", "email"])
        writer.writerows([f"Person {n}", f"p{n}@x.io"] for n in range(ROWS))
    return path


def rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"]
)
def test_a_signal_lets_in_flight_items_finish_and_keeps_every_result(
    pacta: Pacta, tmp_path: Path, signum: signal.Signals, status: int
) -> None:
    journal, results = tmp_path / "people.journal", tmp_path / "results.csv"
    command = [
        "batch", "generate", str(pacta.template_id), str(people(tmp_path / "people.csv")),
        "--journal", str(journal), "--results", str(results), "--concurrency", "4", *FAST,
    ]  # fmt: skip
    process = pacta.start(command)
    try:
        wait_for(lambda: len(rows(results)) >= 8)  # rows appear as results arrive
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()

    assert process.returncode == status, err
    assert f"{signum.name}: stopping; no new item starts" in err
    assert f"{signum.name}: interrupted; rerun with --journal {journal} to finish" in err
    assert "Traceback" not in err
    assert " sent, 0 failed, 0 skipped" in out  # the summary, as for a finished batch
    written = rows(results)
    documents = pacta.documents()
    assert 8 <= len(documents) < ROWS  # stopped part-way, no new item after the signal
    # Every item sent is in the results, with its CSV line, and recorded sent in the journal.
    assert {int(r["document_id"]) for r in written} == {d["id"] for d in documents}
    assert all(r["status"] == "sent" for r in written)
    by_id = {d["id"]: d for d in documents}
    for row in written:
        recipient = by_id[int(row["document_id"])]["recipients"]
        assert recipient[0]["email"] == f"p{int(row['line']) - 2}@x.io"  # type: ignore[index]
    recorded = {doc for state, doc in journal_states(journal).values() if state == "sent"}
    assert recorded == {d["id"] for d in documents}

    rerun = pacta.start(command)
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert f"{ROWS - len(documents)} sent, 0 failed, {len(documents)} skipped" in out
    everything = pacta.documents()
    assert sorted(d["recipients"][0]["email"] for d in everything) == sorted(  # type: ignore[index]
        f"p{n}@x.io" for n in range(ROWS)
    )
    assert {pacta.server.send_count(int(str(d["id"]))) for d in everything} == {1}


def test_items_still_in_flight_after_the_grace_period_are_cancelled_and_left_for_the_rerun(
    pacta: Pacta, tmp_path: Path
) -> None:
    journal, results = tmp_path / "people.journal", tmp_path / "results.csv"
    command = [
        "batch", "generate", str(pacta.template_id), str(people(tmp_path / "people.csv")),
        "--journal", str(journal), "--results", str(results), "--concurrency", "4",
        "--grace", "0.5", *FAST,
    ]  # fmt: skip
    process = pacta.start(command)
    try:
        wait_for(lambda: len(rows(results)) >= 4)
        pacta.server.set_faults(Faults(latency=20, routes=SEND_ROUTES))  # now they hang
        settled: list[int] = []  # no result for a while: every worker is stuck

        def stuck() -> bool:
            settled.append(len(rows(results)))
            time.sleep(0.05)
            return len(settled) > 10 and len(set(settled[-10:])) == 1

        wait_for(stuck)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        stopped_after = time.monotonic() - signalled
    finally:
        process.kill()
        process.wait()

    assert process.returncode == 143, err
    assert stopped_after < 10  # the grace period, not the 20 s the requests would take
    assert "4 items were cancelled in flight; a rerun checks first the ones" in out
    states = journal_states(journal)
    assert sum(state == "in_flight" for state, _ in states.values()) == 4
    sent = {doc for state, doc in states.values() if state == "sent"}
    assert sent == {int(r["document_id"]) for r in rows(results)}
    assert sent == {d["id"] for d in pacta.documents()}
