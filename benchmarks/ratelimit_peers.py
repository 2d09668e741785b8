"""Batch sending under the rate limit, side by side with what users would build instead.

The same batch, 300 sends of prepared drafts with burst b = 10, is sent by each
contender at once, in its own process and with its own token (the reference server
meters every token apart, so they do not share a limit, only the machine):

- pacta_async: `client.batch.send_many()`, its `TokenBucketLimiter` at r;
- httpx + aiolimiter: `AsyncLimiter(b, b / r)`, a leaky bucket;
- httpx + limits: a moving window of r per second, polled;
- httpx + pyrate-limiter: `Limiter(Rate(r, second))`, blocking acquire;
- httpx + asyncio.Semaphore: b slots, each held for b / r seconds from its start.

Every peer is a plain `httpx.AsyncClient` with 32 tasks that, on a 429, sleeps the
`Retry-After` and tries again, as a user's loop would. Two scenarios:

1. matched: the server and every client at 600 sends/min. pacta_async must take at
   most 100.3% of the minimum (N - b) / r with zero 429s at the server;
2. above: the server at 300/min, every client configured at 600/min. pacta_async
   must take at most 101% of the minimum at the server's rate, with at most one 429.

Peers' rows are figures (what the SDK is measured beside), not targets. Time runs
from each contender's first send to its last answer; 429s and duplicates (a draft
sent twice) are counted by the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from typing import Any

import httpx
from _common import PYTHON, control, log, reference_server, row
from _sending import CONCURRENCY, RetryCounter, theoretical_minimum, worst_excess

GENERAL = 100_000  # per minute: out of the way
COUNT = 300
BURST = 10
CONTENDERS = {
    "pacta_async send_many": "pacta",
    "httpx + aiolimiter": "aiolimiter",
    "httpx + limits (moving window)": "limits",
    "httpx + pyrate-limiter": "pyrate",
    "httpx + asyncio.Semaphore": "semaphore",
}
# (name, client sends/min, server sends/min, target: share of the minimum, most 429s)
SCENARIOS = [
    ("server = client = 600/min", 600, 600, 1.003, 0),
    ("server 300/min < client 600/min", 600, 300, 1.01, 1),
]


# -- contenders (each runs in its own process) ----------------------------------------


def pacer(kind: str, per_minute: int) -> Any:
    """An async context manager to enter before each send, for each peer."""
    rate = per_minute / 60.0
    if kind == "aiolimiter":
        from aiolimiter import AsyncLimiter

        return AsyncLimiter(BURST, BURST / rate)
    if kind == "pyrate":
        from pyrate_limiter import Duration, Limiter, Rate

        limiter = Limiter(Rate(int(rate), Duration.SECOND))

        class Pyrate:
            async def __aenter__(self) -> None:
                await limiter.try_acquire_async("send")

            async def __aexit__(self, *exc: object) -> None:
                return None

        return Pyrate()
    if kind == "limits":
        from limits import RateLimitItemPerSecond
        from limits.aio.storage import MemoryStorage
        from limits.aio.strategies import MovingWindowRateLimiter

        item = RateLimitItemPerSecond(int(rate))
        window = MovingWindowRateLimiter(MemoryStorage())

        class Moving:
            async def __aenter__(self) -> None:
                while not await window.hit(item, "send"):
                    reset, _ = await window.get_window_stats(item, "send")
                    await asyncio.sleep(max(0.001, reset - time.time()))

            async def __aexit__(self, *exc: object) -> None:
                return None

        return Moving()
    if kind == "semaphore":
        slots = asyncio.Semaphore(BURST)
        hold = BURST / rate

        class Slots:
            async def __aenter__(self) -> None:
                await slots.acquire()
                asyncio.get_running_loop().call_later(hold, slots.release)

            async def __aexit__(self, *exc: object) -> None:
                return None

        return Slots()
    raise ValueError(kind)


async def run_peer(
    kind: str, address: str, token: str, ids: list[int], rate: int
) -> dict[str, Any]:
    pace = pacer(kind, rate)
    seen_429 = 0
    failures = 0
    tasks = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=f"{address}/api/v1", headers={"Authorization": token}, timeout=60
    ) as http:
        (await http.get(f"/documents/{ids[0]}")).raise_for_status()  # connect first

        async def send(document_id: int) -> None:
            nonlocal seen_429, failures
            async with tasks:
                for _ in range(20):
                    async with pace:
                        response = await http.post(
                            f"/documents/{document_id}/send", json={"sendEmail": False}
                        )
                    if response.status_code != 429:
                        failures += response.status_code != 200
                        return
                    seen_429 += 1
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")))
                failures += 1

        started = time.monotonic()
        await asyncio.gather(*(send(i) for i in ids))
        elapsed = time.monotonic() - started
    return {"elapsed": elapsed, "client_429": seen_429, "failures": failures}


async def run_pacta(address: str, token: str, ids: list[int], rate: int) -> dict[str, Any]:

    from pacta_async import PactaClient, TokenBucketLimiter

    retries = RetryCounter()
    limiter = TokenBucketLimiter(
        requests_per_minute=GENERAL, sends_per_minute=rate, send_burst=BURST
    )
    async with PactaClient(
        token, base_url=address, rate_limiter=limiter, max_retries=20, on_retry=retries
    ) as client:
        await client.documents.get(ids[0])  # connect first
        started = time.monotonic()
        summary = await client.batch.send_many(ids, send_email=False, concurrency=CONCURRENCY)
        elapsed = time.monotonic() - started
    return {"elapsed": elapsed, "client_429": retries.rate_limited, "failures": summary.failed}


def contend(kind: str, address: str, token: str, ids: list[int], rate: int) -> dict[str, Any]:
    if kind == "pacta":
        import anyio

        return anyio.run(run_pacta, address, token, ids, rate, backend="asyncio")
    return asyncio.run(run_peer(kind, address, token, ids, rate))


# -- the coordinator -------------------------------------------------------------------


def scenario(address: str, name: str, client_rate: int, server_rate: int) -> dict[str, Any]:
    control(address, "limits", general=1_000_000, send=1_000_000)
    prepared = {}
    for kind in CONTENDERS.values():
        token = control(address, "token")["token"]
        prepared[kind] = (token, control(address, "seed", token=token, count=COUNT)["ids"])
    control(address, "limits", general=GENERAL, send=server_rate, send_burst=BURST)
    control(address, "reset")
    log(f"{name}: {len(prepared)} contenders side by side, {COUNT} sends each")
    processes = {
        kind: subprocess.Popen(
            [
                PYTHON,
                __file__,
                "--contender",
                kind,
                "--address",
                address,
                "--token",
                token,
                "--rate",
                str(client_rate),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for kind, (token, _) in prepared.items()
    }
    for kind, process in processes.items():
        assert process.stdin is not None
        process.stdin.write(json.dumps(prepared[kind][1]))
        process.stdin.close()
    results: dict[str, Any] = {}
    for kind, process in processes.items():
        assert process.stdout is not None
        out = process.stdout.read()
        if process.wait(timeout=240) != 0:
            raise RuntimeError(f"contender {kind} failed")
        result = json.loads(out.strip().splitlines()[-1])
        token, ids = prepared[kind]
        sends = control(address, "token_sends", token=token)["sends"]
        counts = control(address, "send_counts", ids=ids)["counts"]
        result["server_429"] = sum(1 for _, status in sends if status == 429)
        result["duplicates"] = sum(1 for c in counts if c > 1)
        result["sent"] = sum(1 for c in counts if c >= 1)
        result["accepted"] = [t for t, status in sends if status == 200]
        results[kind] = result
    return results


def coordinate() -> bool:
    ok = True
    with reference_server() as server:
        for name, client_rate, server_rate, target, most_429 in SCENARIOS:
            results = scenario(server.address, name, client_rate, server_rate)
            minimum = theoretical_minimum(COUNT, BURST, server_rate)
            for label, kind in CONTENDERS.items():
                r = results[kind]
                share = r["elapsed"] / minimum
                excess = worst_excess(r["accepted"], BURST, server_rate)
                figure = (
                    f"{r['sent']}/{COUNT} sent in {r['elapsed']:.2f} s = {share:.1%} of "
                    f"(N-b)/r = {minimum:.1f} s; 429s at the server {r['server_429']}; "
                    f"duplicates {r['duplicates']}; worst excess {excess:+.2f}"
                )
                measure = f"batch, {name} (b={BURST}): {label}"
                if kind != "pacta":
                    row(measure, figure)
                    continue
                passed = (
                    1.0 <= share <= target
                    and r["server_429"] <= most_429
                    and r["duplicates"] == 0
                    and r["failures"] == 0
                    and r["sent"] == COUNT
                )
                ok &= row(
                    measure,
                    figure,
                    f"<= {target:.1%} of the minimum, <= {most_429} x 429, no duplicate",
                    passed,
                )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contender", help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.contender:
        ids = json.loads(sys.stdin.read())
        result = contend(args.contender, args.address, args.token, ids, args.rate)
        print(json.dumps(result), flush=True)
        return 0
    return 0 if coordinate() else 1


if __name__ == "__main__":
    sys.exit(main())
