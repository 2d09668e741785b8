"""Pagination: 20,000 documents with 20 ms of server latency, prefetching vs page by page.

The reference server (another process) holds 20,000 documents, seeded through its
control API before anything is timed, and adds 20 ms to every `GET /documents`.
`client.documents.iter()` walks them 100 per page (200 pages):

- prefetching: inside ``async with client.documents.iter() as documents``, page n+1
  is fetched while the consumer works on page n;
- page by page: a plain ``async for`` over ``client.documents.iter()`` holds no task,
  so each page is fetched only when the previous one is used up.

Prefetching can only hide the fetch behind the consumer's own work: with a consumer
that does nothing, both take 200 round trips. So the consumer does what a real one
would: it stores what it reads, in bulk writes of 100 documents that each take
20 ms (an awaited `anyio.sleep`, standing in for a database round trip) plus the
CPU of turning each document into a row (`to_dict()`). Page by page, every page
costs fetch + write; prefetching, the larger of the two. Target: >= 1.6x faster.

A second pair of runs, for information, uses a consumer that only computes (0.2 ms
of CPU per document) and never awaits: the prefetch task then cannot run until the
page is used up, which shows how much of the gain depends on the consumer yielding.

Each variant runs in a fresh process, which reports its peak RSS growth over the
walk (VmHWM after minus VmRSS before, the peak reset first): target < 30 MB, since
the pager holds at most two pages.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterable

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

DOCUMENTS = 20_000
LATENCY = 0.02
WRITE_EVERY = 100
WRITE_SECONDS = 0.02
SPEEDUP_TARGET = 1.6
RSS_TARGET = 30 * 1_000_000  # 30 MB
CPU_PER_ITEM = 0.0002  # the compute-only consumer's work per document


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def walk(address: str, token: str, prefetch: bool, consumer: str) -> dict[str, float]:
    from pacta_async import Document, PactaClient

    client = PactaClient(token, base_url=address, rate_limiter=None)
    await client.documents.list(per_page=100)  # connect, and load every code path
    rows: list[dict[str, object]] = []
    seen = 0

    async def consume(documents: AsyncIterable[Document]) -> None:
        nonlocal seen
        async for document in documents:
            if consumer == "cpu":
                busy(CPU_PER_ITEM)
                seen += 1
                continue
            rows.append(document.to_dict())
            seen += 1
            if len(rows) == WRITE_EVERY:
                await anyio.sleep(WRITE_SECONDS)  # the bulk write
                rows.clear()

    baseline = rss_bytes()
    reset_peak_rss()
    started = time.perf_counter()
    async with client:
        if prefetch:
            async with client.documents.iter() as documents:
                await consume(documents)
        else:
            await consume(client.documents.iter())
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "documents": seen, "rss_growth": peak_rss_bytes() - baseline}


def run_variant(address: str, token: str, prefetch: bool, consumer: str) -> dict[str, float]:
    variant = "prefetch" if prefetch else "pages"
    output = subprocess.run(
        [
            *(PYTHON, __file__, "--variant", variant, "--consumer", consumer),
            *("--address", address, "--token", token),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    log(
        f"{variant}, {consumer} consumer: {result['documents']:.0f} documents in "
        f"{result['seconds']:.2f} s, peak RSS +{result['rss_growth'] / MiB:.1f} MiB"
    )
    return result


def coordinate() -> bool:
    with reference_server() as server:
        token = control(server.address, "token")["token"]
        log(f"seeding {DOCUMENTS:,} documents")
        control(server.address, "seed", token=token, count=DOCUMENTS)
        control(
            server.address, "faults", rules=[{"latency": LATENCY, "routes": ["GET /documents"]}]
        )
        pages = run_variant(server.address, token, False, "bulk-write")
        prefetched = run_variant(server.address, token, True, "bulk-write")
        cpu_pages = run_variant(server.address, token, False, "cpu")
        cpu_prefetched = run_variant(server.address, token, True, "cpu")
    complete = pages["documents"] == prefetched["documents"] == DOCUMENTS
    speedup = pages["seconds"] / prefetched["seconds"]
    ok = row(
        f"pagination: {DOCUMENTS:,} docs, +{LATENCY * 1000:.0f} ms/page, prefetch vs page by page",
        f"{prefetched['seconds']:.2f} s vs {pages['seconds']:.2f} s = {speedup:.2f}x",
        f">= {SPEEDUP_TARGET}x",
        complete and speedup >= SPEEDUP_TARGET,
    )
    growth = max(pages["rss_growth"], prefetched["rss_growth"])
    ok &= row(
        "pagination: peak RSS growth",
        f"prefetch +{prefetched['rss_growth'] / 1e6:.1f} MB, "
        f"page by page +{pages['rss_growth'] / 1e6:.1f} MB",
        "< 30 MB",
        growth < RSS_TARGET,
    )
    row(
        f"pagination: same, compute-only consumer ({CPU_PER_ITEM * 1000:.1f} ms CPU/doc, no await)",
        f"{cpu_prefetched['seconds']:.2f} s vs {cpu_pages['seconds']:.2f} s = "
        f"{cpu_pages['seconds'] / cpu_prefetched['seconds']:.2f}x",
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=["prefetch", "pages"], help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--consumer", choices=["bulk-write", "cpu"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:
        prefetch = args.variant == "prefetch"
        result = anyio.run(
            walk, args.address, args.token, prefetch, args.consumer, backend="asyncio"
        )
        print(json.dumps(result), flush=True)
        return 0
    return 0 if coordinate() else 1


if __name__ == "__main__":
    sys.exit(main())
