"""Retries and pacing against a hostile server (issue 15), over loopback.

Two runs against the reference server in its own process:

1. Reads under 20% proxy 502s: 300 reads of distinct documents, 32 at a time, while
   the server answers a fifth of all attempts with a proxy's HTML 502 (seeded). The
   client has the default retry budget and up to 6 retries per read, so a read fails
   only when six retries in a row meet a 502 (one in 15,625) or when the budget
   refuses a retry: "failed with retries left" counts the latter, and must be zero.
   Every read must succeed.
2. Read latency after a send-limit 429 under mixed load: the server's send limit
   (20/min, burst 2) is below the client's (30/min), so the third of six concurrent
   sends gets a send-scoped 429 of about 3 s and the others wait for the send limit.
   Right after that 429, 40 reads go out; the general limit (100/min) has plenty of
   room. Each read's latency, from its call to its answer, must stay under 1 s: no
   read waits behind the paused sends (before the fix they waited for the send pause).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any

import anyio
from _common import control, log, reference_server, row

from pacta_async import PactaClient, PactaError, RetryEvent, RetryPolicy, TokenBucketLimiter

READS = 300
RETRIES = 6
CONCURRENCY = 32
MIXED_READS = 40
LATENCY_TARGET = 1.0


async def reads_under_502s(address: str) -> bool:
    token = control(address, "token")["token"]
    ids = control(address, "seed", token=token, count=READS)["ids"]
    control(address, "faults", rules=[{"error_rate": 0.2, "error_statuses": [502], "seed": 0}])
    control(address, "reset")
    retried: Counter[str] = Counter()
    failures: list[tuple[int, str]] = []

    def on_retry(event: RetryEvent) -> None:
        retried[event.url.rsplit("/", 1)[-1]] += 1

    limit = anyio.CapacityLimiter(CONCURRENCY)
    async with PactaClient(
        token,
        base_url=address,
        rate_limiter=TokenBucketLimiter(requests_per_minute=100_000),
        retry_policy=RetryPolicy(max_retries=RETRIES),
        on_retry=on_retry,
    ) as client:

        async def read(document_id: int) -> None:
            async with limit:
                try:
                    await client.documents.get(document_id)
                except PactaError as exc:
                    failures.append((document_id, str(exc)))

        started = time.monotonic()
        async with anyio.create_task_group() as tasks:
            for document_id in ids:
                tasks.start_soon(read, document_id)
        elapsed = time.monotonic() - started
    control(address, "faults", rules=[])
    statuses = control(address, "stats")["statuses"]
    with_retries_left = sum(1 for i, _ in failures if retried[str(i)] < RETRIES)
    attempts = sum(statuses.values())
    return row(
        "retries: 300 reads, 20% proxy 502s (seeded), default budget, <= 6 retries each",
        f"{READS - len(failures)}/{READS} succeeded, {with_retries_left} failed with retries "
        f"left; server: {statuses.get('502', 0)} 502s of {attempts} attempts "
        f"({statuses.get('502', 0) / max(1, attempts):.0%}), {sum(retried.values())} retries, "
        f"{elapsed:.2f} s",
        "all succeed, 0 failed with retries left",
        not failures,
    )


async def reads_after_a_send_429(address: str) -> bool:
    token = control(address, "token")["token"]
    ids = control(address, "seed", token=token, count=7)["ids"]
    control(address, "limits", general=100, send=20, send_burst=2)
    control(address, "reset")
    first_429 = anyio.Event()
    retries: list[RetryEvent] = []

    def on_retry(event: RetryEvent) -> None:
        retries.append(event)
        if event.status_code == 429:
            first_429.set()

    latencies: list[float] = []
    send_done: list[float] = []
    async with PactaClient(token, base_url=address, max_retries=10, on_retry=on_retry) as client:
        await client.documents.get(ids[-1])  # connected before the start
        started = time.monotonic()

        async def send(document_id: int) -> None:
            await client.documents.send(document_id, send_email=False)
            send_done.append(time.monotonic() - started)

        async def read() -> None:
            called = time.monotonic()
            await client.documents.get(ids[-1])
            latencies.append(time.monotonic() - called)

        async with anyio.create_task_group() as tasks:
            for document_id in ids[:6]:
                tasks.start_soon(send, document_id)
            with anyio.fail_after(30):
                await first_429.wait()
            paused_at = time.monotonic() - started
            for _ in range(MIXED_READS):
                tasks.start_soon(read)
    statuses = control(address, "stats")["statuses"]
    control(address, "limits", general=1_000_000, send=1_000_000)
    scopes = Counter(event.scope for event in retries if event.status_code == 429)
    worst = max(latencies)
    return row(
        "pacing: 40 reads right after a send-limit 429 (server 20 sends/min < client 30)",
        f"read latency max {worst * 1000:.0f} ms, median "
        f"{sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms; sends: 429 at "
        f"{paused_at:.2f} s (scopes {dict(scopes)}), last sent at {max(send_done):.2f} s; "
        f"server 429s: {statuses.get('429', 0)}",
        f"every read < {LATENCY_TARGET:.0f} s (not behind the send pause)",
        worst < LATENCY_TARGET and len(latencies) == MIXED_READS,
    )


async def run(address: str) -> bool:
    log("300 reads under 20% proxy 502s")
    budget_ok = await reads_under_502s(address)
    log("reads after a send-limit 429")
    lines_ok = await reads_after_a_send_429(address)
    return budget_ok and lines_ok


def main(argv: list[str] | None = None) -> int:
    del argv
    with reference_server() as server:
        ok: Any = anyio.run(run, server.address)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
