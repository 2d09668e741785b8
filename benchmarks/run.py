"""`make bench`: run every measurement, print one table, exit 1 if a target is missed.

Each measurement is a script in this folder, run in its own process with a time
limit; it starts the servers it needs (over loopback, in their own processes) and
reports ``ROW {json}`` lines on stdout. This runner collects them into one table,
prints it, and writes it with the machine's description to benchmarks/results.md.

`batch_memory.py` reports no ROW lines: its exit status and last line of output make
its row.

    python benchmarks/run.py [--only overhead pagination ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime

from _common import HERE, PYTHON, machine

# (name, script, time limit in seconds); the order keeps the noisiest work last.
STEPS = [
    ("overhead", "overhead.py", 200),
    ("ratelimit_peers", "ratelimit_peers.py", 240),
    ("ratelimit_redis", "ratelimit_redis.py", 180),
    ("retries_and_lines", "retries_and_lines.py", 120),
    ("pagination", "pagination.py", 240),
    ("upload", "upload.py", 120),
    ("signed_out", "signed_out.py", 180),
    ("regenerate", "regenerate.py", 120),
    ("batch_items", "batch_items.py", 180),
    ("chaos", "chaos.py", 200),
    ("batch_memory", "batch_memory.py", 240),
]
BATCH_MEMORY_TARGET = "peak RSS growth < 50 MB"
RESULTS = HERE / "results.md"
TOTAL_LIMIT = 600.0  # the "under 10 minutes on 2 cores"

Row = dict[str, object]


def run_step(name: str, script: str, limit: float) -> tuple[list[Row], float]:
    command = [PYTHON, str(HERE / script)]
    print(f"== {name}", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        # stderr is not captured: progress shows as it happens.
        result = subprocess.run(command, cwd=HERE, stdout=subprocess.PIPE, text=True, timeout=limit)
        stdout, code = result.stdout, result.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout
        stdout = out.decode() if isinstance(out, bytes) else (out or "")
        code = None
    elapsed = time.monotonic() - started
    rows: list[Row] = [
        json.loads(line[4:]) for line in stdout.splitlines() if line.startswith("ROW ")
    ]
    if name == "batch_memory" and not rows:
        lines = [line for line in stdout.splitlines() if line.strip()]
        figure = lines[-1].strip() if lines else "(no output)"
        if figure.startswith("batch memory:"):  # "batch memory: <what>: <figures>"
            figure = figure.split(": ", 2)[-1]
        rows.append(
            {
                "measure": "batch memory: send_many over 100,000 streamed inputs",
                "figure": figure,
                "target": BATCH_MEMORY_TARGET,
                "ok": code == 0,
            }
        )
    if code is None:
        rows.append({"measure": name, "figure": f"timed out after {limit:.0f} s", "ok": False})
    elif code != 0 and all(r.get("ok") is not False for r in rows):
        rows.append({"measure": name, "figure": f"failed (exit {code})", "ok": False})
    return rows, elapsed


def _verdict(ok: object) -> str:
    return {True: "pass", False: "FAIL", None: "info"}[ok if isinstance(ok, bool) else None]


def table(rows: list[Row]) -> str:
    lines = ["| measure | figure | target | result |", "|---|---|---|---|"]
    for r in rows:
        cells = [str(r.get("measure", "")), str(r.get("figure", "")), str(r.get("target", ""))]
        cells = [c.replace("|", "\\|") for c in cells]
        lines.append(f"| {' | '.join(cells)} | {_verdict(r.get('ok'))} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=[name for name, _, _ in STEPS])
    args = parser.parse_args(argv)
    started = time.monotonic()
    rows: list[Row] = []
    timings = []
    for name, script, limit in STEPS:
        if args.only and name not in args.only:
            continue
        step_rows, elapsed = run_step(name, script, limit)
        rows.extend(step_rows)
        timings.append(f"{name} {elapsed:.0f} s")
    total = time.monotonic() - started
    if not args.only:
        rows.append(
            {
                "measure": "make bench (wall time, every step)",
                "figure": f"{total:.0f} s",
                "target": f"< {TOTAL_LIMIT:.0f} s",
                "ok": total < TOTAL_LIMIT,
            }
        )
    host = machine()
    missed = [r for r in rows if r.get("ok") is False]
    text = table(rows)
    summary = (
        f"Machine: {host['nproc']} CPUs ({host['cpu']}), Python {host['python']}, "
        f"{host['platform']}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"total {total:.0f} s ({', '.join(timings)})."
    )
    verdict = f"{len(missed)} target(s) missed." if missed else "All targets met."
    print(f"\n{text}\n\n{summary}\n{verdict}")
    if not args.only:
        RESULTS.write_text(
            f"# Benchmark results\n\nFrom `make bench` (`benchmarks/run.py`).\n\n"
            f"{text}\n\n{summary}\n{verdict}\n"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
