"""Memory: `send_many` over 100,000 streamed inputs keeps peak RSS growth under 50 MB.

The drafts live in an in-process reference server (limits raised, on both sides), made
before the measurement starts; the figure is the growth of the process's peak RSS
while the batch runs, so it counts the batch, the client and the server's work on
each send. The inputs come from a generator and the results go to a callback that
keeps nothing, as a caller sending 100,000 documents would do it.

Run it with ``python benchmarks/batch_memory.py``; it exits 1 when the target is missed.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
from _sending import prepare_drafts

from pacta_async import ItemResult, ItemStatus, PactaClient, TokenBucketLimiter
from pacta_async.testing import Limits, ReferenceServer

ITEMS = 100_000
TARGET_MB = 50.0
CONCURRENCY = 16
PER_MINUTE = 100_000_000  # far above what one process can send
_STATUS = Path("/proc/self/status")


def _status_kb(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing from {_STATUS}")


def _reset_peak() -> None:
    """Make VmHWM (peak RSS) start again from the current RSS (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


async def _measure() -> tuple[float, float, int]:
    server = ReferenceServer(limits=Limits(general=PER_MINUTE, send=PER_MINUTE))
    token = server.create_token(server.create_team())
    limiter = TokenBucketLimiter(requests_per_minute=PER_MINUTE, sends_per_minute=PER_MINUTE)
    async with PactaClient(
        token,
        base_url="http://pacta.test/api/v1",
        allow_insecure_http=True,
        transport=server.transport(),
        rate_limiter=limiter,
    ) as client:
        ids = await prepare_drafts(client, ITEMS)
        sent = 0

        def inputs() -> Iterator[int]:
            yield from ids

        def count(result: ItemResult[int]) -> None:
            nonlocal sent
            sent += result.status is ItemStatus.SENT

        gc.collect()
        _reset_peak()
        baseline = _status_kb("VmRSS")
        started = time.monotonic()
        await client.batch.send_many(inputs(), concurrency=CONCURRENCY, on_result=count)
        elapsed = time.monotonic() - started
        growth_mb = (_status_kb("VmHWM") - baseline) / 1024
    return growth_mb, elapsed, sent


def main() -> int:
    growth_mb, elapsed, sent = anyio.run(_measure)
    ok = growth_mb < TARGET_MB and sent == ITEMS
    print(
        f"batch memory: send_many over {ITEMS:,} streamed inputs: peak RSS growth "
        f"{growth_mb:.1f} MB (target < {TARGET_MB:.0f} MB); {sent:,} sent in {elapsed:.1f}s "
        f"({sent / elapsed:,.0f}/s) {'OK' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
