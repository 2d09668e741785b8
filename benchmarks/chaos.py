"""The batch CLI through chaos, then rerun without its journal: each item exactly once.

What a user runs: ``pacta-async batch generate TEMPLATE people.csv --journal ...``,
2,000 rows, against the reference server in its own process (limits raised on both
sides, so pacing does not hide anything), which meanwhile

- answers 30% of all requests with a 500, or a proxy's 502/503,
- drops connections before processing (nothing happens) and after (the change
  stands, the answer is lost),
- drops generates once read and processes them `LATE_DELAY` seconds later, after
  the client gave up on them (longer than the client's whole request timeout),
- delays a few requests past the client's timeout (those are never processed),
- answers every request with 429 for `STORM_SECONDS` every `STORM_EVERY` seconds.

Then the same command again without ``--journal`` (the journal lost), under the same
chaos: it must find on the server what was sent and send nothing again. The server,
not the client, is the judge: once no late request is pending, each row's recipient
must have exactly one document, sent exactly once; the rerun must make no new
document and no send for a row that had one; every row the first run reported sent
must be that document; reconciliation must report no duplicate. Figures (requests,
faults, late processing) are the server's counts.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, control, log, reference_server, row

ITEMS = 2000
CONCURRENCY = 96
TIMEOUT = 1.0  # --timeout: each request's budget, so a late request outlives it
LATE_DELAY = 1.5  # a generate dropped once read is processed this much later
SETTLE = 2.5  # --settle-window: how long the client allows for that (> LATE_DELAY)
STORM_EVERY = 12.0
STORM_SECONDS = 1.5
GENERATE = ["POST /templates/{templateId}/generate"]
CHAOS: list[dict[str, Any]] = [
    {"error_rate": 0.30, "error_statuses": [500, 502, 503], "seed": 1},
    {"drop_before_rate": 0.02, "drop_after_rate": 0.02, "seed": 2},
    {"late_rate": 0.04, "late_delay": LATE_DELAY, "routes": GENERATE, "seed": 3},
    {"latency": TIMEOUT + 0.5, "latency_rate": 0.01, "seed": 4},
]
PACTA = str(Path(sys.executable).with_name("pacta-async"))


def run_cli(address: str, args: list[str], storms: int) -> tuple[int, str, float, int]:
    """The CLI in its own process, with a 429 storm every `STORM_EVERY` seconds (each
    storm resets the rules, with new seeds); (exit status, stdout, seconds, storms)."""
    started = time.monotonic()
    process = subprocess.Popen(
        [PACTA, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
    )
    next_storm = started + STORM_EVERY / 2
    while process.poll() is None:
        if time.monotonic() >= next_storm:
            storms += 1
            storm = {"storm": {"seconds": STORM_SECONDS, "retry_after": 1}}
            control(address, "faults", rules=[*chaos(storms), storm])
            next_storm += STORM_EVERY
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.2)
    assert process.stdout is not None
    out = process.stdout.read()
    return process.returncode, out, time.monotonic() - started, storms


def chaos(generation: int) -> list[dict[str, Any]]:
    return [{**rule, "seed": rule["seed"] + 100 * generation} for rule in CHAOS]


def settled(address: str, token: str) -> dict[str, list[dict[str, Any]]]:
    """The team's documents by recipient email, once faults are off and every late
    request has been processed."""
    control(address, "faults", rules=[])
    time.sleep(LATE_DELAY + 0.5)
    by_email: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for document in control(address, "documents", token=token)["documents"]:
        for email in document["emails"]:
            by_email[email].append(document)
    return by_email


def results(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def measure(folder: Path) -> bool:
    with reference_server() as server:
        address = server.address
        token = control(address, "token")["token"]
        template = control(address, "template", token=token)
        people = folder / "people.csv"
        emails = [f"person{n}@example.com" for n in range(ITEMS)]
        with people.open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["name", "email"])
            writer.writerows([f"Person {n}", email] for n, email in enumerate(emails))
        common = [
            "batch", "generate", str(template["id"]), str(people), "--token", token,
            "--placeholder", str(template["placeholder"]),
            "--base-url", f"{address}/api/v1", "--timeout", str(TIMEOUT),
            "--settle-window", str(SETTLE), "--concurrency", str(CONCURRENCY),
            "--requests-per-minute", "1000000", "--sends-per-minute", "1000000", "--no-email",
        ]  # fmt: skip
        control(address, "faults", rules=chaos(0))
        control(address, "reset")
        first = folder / "first.csv"
        log(f"{ITEMS} rows through chaos, with a journal")
        code1, out1, wall1, storms = run_cli(
            address, [*common, "--journal", str(folder / "j.db"), "--results", str(first)], 0
        )
        stats1 = control(address, "stats")
        after1 = settled(address, token)
        injected1 = control(address, "injected")["injected"]
        log(f"first run: exit {code1} in {wall1:.1f} s: {out1.strip().splitlines()[0]}")

        control(address, "faults", rules=chaos(storms + 1))
        control(address, "reset")
        second = folder / "second.csv"
        log("the same rows again, without the journal")
        code2, out2, wall2, storms = run_cli(
            address, [*common, "--results", str(second)], storms + 1
        )
        stats2 = control(address, "stats")
        after2 = settled(address, token)
        injected = control(address, "injected")["injected"]
        log(f"rerun: exit {code2} in {wall2:.1f} s: {out2.strip().splitlines()[0]}")

    # The server's word: one document per row, sent once, and the rerun added nothing.
    once = sum(1 for e in emails if len(after2[e]) == 1 and after2[e][0]["sends"] == 1)
    duplicated = {e: [d["id"] for d in after2[e]] for e in emails if len(after2[e]) > 1}
    before = {d["id"]: d["sends"] for e in emails for d in after1[e]}
    resends = sum(
        1
        for e in emails
        for d in after2[e]
        if (d["id"] not in before and after1[e]) or d["sends"] > before.get(d["id"], d["sends"])
    )
    # The client's word, checked against it.
    reported = [r for r in results(first) if r["status"] in ("sent", "skipped")]
    false_reports = sum(
        1 for r in reported if [d["id"] for d in after1[r["email"]]] != [int(r["document_id"])]
    )
    rerun = collections.Counter(r["status"] for r in results(second))
    reconciled = out1.count("Sent twice") + out2.count("Sent twice")
    first_counts = collections.Counter(r["status"] for r in results(first))
    generates2 = len(stats2["sends"])
    requests1 = sum(stats1["statuses"].values())
    requests2 = sum(stats2["statuses"].values())
    errors = sum(n for name, n in injected.items() if name.startswith("error_"))
    log(f"faults injected: {dict(sorted(injected.items()))}; first run only: {injected1}")
    if duplicated:
        log(f"documents twice for one row: {dict(list(duplicated.items())[:10])}")

    ok = (
        once == ITEMS
        and not duplicated
        and resends == 0
        and false_reports == 0
        and reconciled == 0
        and code2 == 0
        and rerun["skipped"] == sum(1 for e in emails if after1[e])
        and injected.get("late_processed", 0) > 0
    )
    figure = (
        f"run 1 (journal): {first_counts['sent']} sent, {first_counts['failed']} failed, "
        f"{first_counts['unknown']} unknown in {wall1:.1f} s, {requests1:,} requests; "
        f"rerun (no journal): {rerun['skipped']} skipped, {rerun['sent']} sent in "
        f"{wall2:.1f} s, {requests2:,} requests, {generates2} generates; server: "
        f"{once}/{ITEMS} rows with one document sent once, duplicates {len(duplicated)}, "
        f"resends {resends}, reported sent but not {false_reports}, reconciliation "
        f"duplicates {reconciled}; faults: {errors:,} 5xx, drops {injected.get('drop_before', 0)}"
        f" before / {injected.get('drop_after', 0)} after, {injected.get('late', 0)} late "
        f"({injected.get('late_processed', 0)} processed {LATE_DELAY:g} s later), "
        f"{injected.get('latency', 0)} delayed past the timeout, {storms} storms = "
        f"{injected.get('storm', 0):,} x 429"
    )
    return row(
        f"chaos: `pacta-async batch generate`, {ITEMS:,} rows, timeout {TIMEOUT:g} s, "
        f"settle {SETTLE:g} s, c={CONCURRENCY}; then rerun without the journal",
        figure,
        "server-side exactly once, 0 duplicates, 0 resends",
        ok,
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pacta-chaos-") as folder:
        return 0 if measure(Path(folder)) else 1


if __name__ == "__main__":
    sys.exit(main())
