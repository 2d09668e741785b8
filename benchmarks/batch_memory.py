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

import anyio
from _common import MiB, peak_rss_bytes, reset_peak_rss, rss_bytes
from _sending import prepare_drafts

from pacta_async import ItemResult, ItemStatus, PactaClient, TokenBucketLimiter
from pacta_async.testing import Limits, ReferenceServer

ITEMS = 100_000
TARGET_MB = 50.0
CONCURRENCY = 16
PER_MINUTE = 100_000_000  # far above what one process can send


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
        ids = await prepare_drafts(client, server, ITEMS)
        sent = 0

        def inputs() -> Iterator[int]:
            yield from ids

        def count(result: ItemResult[int]) -> None:
            nonlocal sent
            sent += result.status is ItemStatus.SENT

        gc.collect()
        reset_peak_rss()
        baseline = rss_bytes()
        started = time.monotonic()
        await client.batch.send_many(inputs(), concurrency=CONCURRENCY, on_result=count)
        elapsed = time.monotonic() - started
        growth_mb = (peak_rss_bytes() - baseline) / MiB
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
