"""Per-item cost of `send_many` beside bare httpx sending the same drafts in chunks.

Both send through an in-process reference server (limits raised; the client's limiter
off), so no network or pacing is measured: only what each spends per item, the
server's share being the same for both. The peer is what a user would write without
the SDK: an `httpx.AsyncClient` on the same transport, `gather()` over chunks of
`CONCURRENCY` sends, `raise_for_status()` and `json()` on each. `send_many` adds
validation, typed results, retries and its bookkeeping; target: at most 1.15x the
peer's wall time per item, at 10,000 items. The 1,000-item runs show whether the
cost per item grows with the batch. Variants alternate, fresh drafts each run, the
median of 3 runs each; the heap is collected and frozen before every run.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time

import anyio
import httpx
from _common import log, row
from _sending import prepare_drafts

from pacta_async import PactaClient
from pacta_async.testing import Limits, ReferenceServer

CONCURRENCY = 8  # send_many's default
TARGET = 1.15
ROUNDS = 3
UNLIMITED = 100_000_000


async def sdk(server: ReferenceServer, token: str, ids: list[int]) -> float:
    async with PactaClient(
        token, base_url="http://pacta.test/api/v1", allow_insecure_http=True,
        transport=server.transport(), rate_limiter=None,
    ) as client:  # fmt: skip
        started = time.perf_counter()
        summary = await client.batch.send_many(ids, send_email=False, concurrency=CONCURRENCY)
        elapsed = time.perf_counter() - started
    assert summary.sent == len(ids), summary
    return elapsed


async def bare(server: ReferenceServer, token: str, ids: list[int]) -> float:
    async with httpx.AsyncClient(
        base_url="http://pacta.test/api/v1",
        transport=server.transport(),
        headers={"Authorization": token},
    ) as http:

        async def send(document_id: int) -> object:
            response = await http.post(f"/documents/{document_id}/send", json={"sendEmail": False})
            response.raise_for_status()
            return response.json()

        started = time.perf_counter()
        for start in range(0, len(ids), CONCURRENCY):
            await asyncio.gather(*(send(i) for i in ids[start : start + CONCURRENCY]))
        return time.perf_counter() - started


async def measure() -> bool:
    server = ReferenceServer(limits=Limits(general=UNLIMITED, send=UNLIMITED))
    token = server.create_token(server.create_team())
    async with PactaClient(
        token, base_url="http://pacta.test/api/v1", allow_insecure_http=True,
        transport=server.transport(), rate_limiter=None,
    ) as seeder:  # fmt: skip
        ok = True
        for count in (1_000, 10_000):
            per_item: dict[str, list[float]] = {"send_many": [], "bare httpx": []}
            for round_ in range(ROUNDS):
                order = [("send_many", sdk), ("bare httpx", bare)]
                for name, run in order if round_ % 2 == 0 else order[::-1]:
                    ids = list(await prepare_drafts(seeder, server, count))
                    # The server's heap grows every run; collected and frozen first, it
                    # is not traversed by the collections during either variant's run.
                    gc.collect()
                    gc.freeze()
                    per_item[name].append(await run(server, token, ids) / count)
            mine = statistics.median(per_item["send_many"])
            floor = statistics.median(per_item["bare httpx"])
            log(f"{count:,} items: send_many {mine * 1e6:.0f} us, bare {floor * 1e6:.0f} us")
            passed = mine / floor <= TARGET
            if count == 10_000:
                ok &= passed
            row(
                f"batch per item, in-process server, limiter off, {count:,} items",
                f"send_many {mine * 1e6:,.0f} us/item vs bare httpx in chunks of "
                f"{CONCURRENCY} {floor * 1e6:,.0f} us/item = {mine / floor:.2f}x",
                f"<= {TARGET}x" if count == 10_000 else "",
                passed if count == 10_000 else None,
            )
    return ok


def main() -> int:
    return 0 if anyio.run(measure, backend="asyncio") else 1


if __name__ == "__main__":
    sys.exit(main())
