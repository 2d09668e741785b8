"""Signed documents out: one big download, a paced bulk export, and waiting for signatures.

Three rows, against the reference server in another process, whose file storage is
a second origin on its own loopback port (as Pacta's is):

1. Download memory: `documents.download(id, path)` of a completed document whose
   signed PDF is about 45 MiB must stream to disk: the client process's peak RSS
   grows by less than 16 MiB. As in `upload.py`, the download runs in a fresh
   process that first downloads a small signed PDF (opening connections, loading
   every code path), then resets its peak RSS and downloads the big one.
2. Export pace: `batch.download_many` of 1,000 completed documents (found by
   listing), with server and client at the same general limit scaled to
   6,000/min with a burst of 10, so the row takes seconds rather than ten minutes.
   Every link request and list page is a paced API call; the storage GETs are not.
   The export must take at most 10% longer than the token bucket's minimum
   (N - b) / r for the N API requests the server saw, with no 429.
3. wait_for budget: `documents.wait_for` on 1,000 PENDING documents that the server
   signs one by one, in a shuffled order, over 25 s while the client waits, at
   Pacta's real limits (100/min) and the client's defaults. The most requests the
   server saw in any 60 s window must stay under 100, and wait_for must return every
   document COMPLETED.

Documents are created through the server's control API (in-process, not timed).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from _common import (
    PYTHON,
    MiB,
    control,
    log,
    peak_rss_bytes,
    reference_server,
    reset_peak_rss,
    row,
    rss_bytes,
)
from upload import write_pdf

from pacta_async import PactaClient, TokenBucketLimiter

SIZE = 45 * MiB
RSS_TARGET = 16 * MiB

EXPORT_COUNT = 1_000
EXPORT_RATE = 6_000  # per minute, on server and client alike
EXPORT_BURST = 10
EXPORT_TOLERANCE = 0.10

WAIT_COUNT = 1_000
SIGNING_SECONDS = 25.0
WAIT_TARGET = 100  # requests in any 60 s window: Pacta's general limit
WAIT_DEADLINE = 150.0

_RAISED = {"general": 1_000_000, "send": 1_000_000}


# -- 1. download memory ---------------------------------------------------------------


async def download(address: str, token: str, small: int, big: int, folder: Path) -> dict[str, Any]:
    async with PactaClient(token, base_url=address) as client:
        await client.documents.download(small, folder / "warm-up.pdf")
        baseline = rss_bytes()
        reset_peak_rss()
        started = time.perf_counter()
        result = await client.documents.download(big, folder / "big.pdf")
        elapsed = time.perf_counter() - started
        growth = peak_rss_bytes() - baseline
    return {"seconds": elapsed, "rss_growth": growth, "size": result.size}


def measure_download(address: str) -> bool:
    token = control(address, "token")["token"]
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "source.pdf"
        write_pdf(source, SIZE)
        (big,) = control(
            address, "seed", token=token, count=1, state="completed", path=str(source)
        )["ids"]
        source.unlink()
        (small,) = control(address, "seed", token=token, count=1, state="completed")["ids"]
        log(f"downloading a {SIZE / MiB:.0f} MiB signed PDF from a fresh process")
        output = subprocess.run(
            [PYTHON, __file__, "--download", address, token, str(small), str(big), folder],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout
        written = (Path(folder) / "big.pdf").stat().st_size
    result = json.loads(output.strip().splitlines()[-1])
    growth, seconds, size = result["rss_growth"], result["seconds"], result["size"]
    return row(
        f"download: {size / MiB:.0f} MiB signed PDF to a path, client peak RSS growth",
        f"+{growth / MiB:.1f} MiB ({seconds:.2f} s, {size / MiB / seconds:.0f} MiB/s)",
        "< 16 MiB",
        growth < RSS_TARGET and written == size,
    )


# -- 2. export pace ---------------------------------------------------------------------


async def measure_export(address: str) -> bool:
    token = control(address, "token")["token"]
    log(f"seeding {EXPORT_COUNT} completed documents")
    control(address, "seed", token=token, count=EXPORT_COUNT, state="completed")
    limiter = TokenBucketLimiter(requests_per_minute=EXPORT_RATE, burst=EXPORT_BURST)
    with tempfile.TemporaryDirectory() as folder:
        async with PactaClient(token, base_url=address, rate_limiter=limiter) as client:
            await client.documents.list(per_page=1)  # a connection, before the clock starts
            control(
                address, "limits", general=EXPORT_RATE, general_burst=EXPORT_BURST, send=1_000_000
            )
            control(address, "reset")
            log(f"exporting {EXPORT_COUNT} signed PDFs at {EXPORT_RATE}/min, burst {EXPORT_BURST}")
            started = time.monotonic()
            summary = await client.batch.download_many(Path(folder) / "out")
            elapsed = time.monotonic() - started
        manifest_rows = len((Path(folder) / "out" / "manifest.csv").read_text().splitlines()) - 1
    arrivals = control(address, "arrivals")["arrivals"]
    control(address, "limits", **_RAISED)
    accepted = sorted(t for t, status in arrivals if status == 200)
    refused = sum(1 for _, status in arrivals if status == 429)
    count = len(arrivals)
    minimum = max(0, count - EXPORT_BURST) / (EXPORT_RATE / 60)
    span = accepted[-1] - accepted[0] if accepted else 0.0
    ratio = elapsed / minimum
    complete = summary.downloaded == manifest_rows == EXPORT_COUNT and not summary.failed
    return row(
        f"export: download_many of {EXPORT_COUNT} signed PDFs, server = client = "
        f"{EXPORT_RATE}/min (b={EXPORT_BURST})",
        f"{summary.downloaded} downloaded, {summary.failed} failed, {manifest_rows} manifest "
        f"rows in {elapsed:.2f} s = {ratio:.3f}x the minimum (N-b)/r = "
        f"({count}-{EXPORT_BURST})/{EXPORT_RATE / 60:g}/s = {minimum:.2f} s for the {count} "
        f"API requests; server: {span:.2f} s first to last, {refused} x 429",
        f"<= {1 + EXPORT_TOLERANCE:.2f}x min, zero 429",
        complete and ratio <= 1 + EXPORT_TOLERANCE and not refused,
    )


# -- 3. wait_for budget -----------------------------------------------------------------


def busiest_minute(arrivals: list[float]) -> int:
    """The most arrivals in any 60 s window."""
    arrivals = sorted(arrivals)
    most, first = 0, 0
    for last, at in enumerate(arrivals):
        while at - arrivals[first] >= 60.0:
            first += 1
        most = max(most, last - first + 1)
    return most


async def measure_wait(address: str) -> bool:
    token = control(address, "token")["token"]
    log(f"seeding {WAIT_COUNT} pending documents")
    ids = control(address, "seed", token=token, count=WAIT_COUNT, state="pending")["ids"]
    order = list(ids)
    random.Random(0).shuffle(order)
    async with PactaClient(token, base_url=address) as client:  # Pacta's default limits
        control(address, "limits")  # the server at Pacta's: 100/min, 30 sends/min
        control(address, "reset")
        log(f"wait_for on {WAIT_COUNT} documents signed over {SIGNING_SECONDS:.0f} s")
        started = time.monotonic()
        control(address, "complete_over", ids=order, seconds=SIGNING_SECONDS)
        with anyio.fail_after(WAIT_DEADLINE):
            documents = await client.documents.wait_for(ids)
        returned = time.monotonic()
    last_signed = control(address, "signed")["last"]
    arrivals = control(address, "arrivals")["arrivals"]
    control(address, "limits", **_RAISED)
    times = [t for t, _ in arrivals]
    refused = sum(1 for _, status in arrivals if status == 429)
    most = busiest_minute(times)
    elapsed = returned - started
    completed = sum(1 for d in documents.values() if str(d.status) == "COMPLETED")
    after = "?" if last_signed is None else f"{returned - last_signed:.1f} s"
    return row(
        f"wait_for: {WAIT_COUNT} PENDING documents signed over {SIGNING_SECONDS:.0f} s, "
        "server at 100/min, client defaults",
        f"{len(times)} requests in {elapsed:.1f} s, at most {most} in any 60 s "
        f"({len(times) / elapsed * 60:.0f}/min on average); returned {completed}/{WAIT_COUNT} "
        f"COMPLETED, {after} after the last signature; {refused} x 429",
        f"< {WAIT_TARGET} requests/min, all COMPLETED",
        most < WAIT_TARGET and completed == WAIT_COUNT and last_signed is not None and not refused,
    )


async def measure_paced(address: str) -> bool:
    ok = await measure_export(address)
    ok &= await measure_wait(address)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--download", nargs=5, metavar=("ADDRESS", "TOKEN", "SMALL", "BIG", "FOLDER")
    )
    args = parser.parse_args(argv)
    if args.download:
        address, token, small, big, folder = args.download
        result = anyio.run(
            download, address, token, int(small), int(big), Path(folder), backend="asyncio"
        )
        print(json.dumps(result), flush=True)
        return 0
    with reference_server() as server:
        ok = measure_download(server.address)
        ok &= anyio.run(measure_paced, server.address, backend="asyncio")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
