"""Rate-limit efficiency of the shared Redis limiter: two processes, one token.

The benchmark starts a private redis-server on a free loopback port and the
reference server (600 sends/min, burst 10, general limit out of the way) in their
own processes, prepares 300 drafts, and starts two worker processes that each send
half of them through `RedisRateLimiter` with the same token and limits, 32
concurrent tasks each, starting at the same instant.

Measured server-side, where the limit is enforced: the 429s it answered, and the
arrival time of every accepted send. Together the workers must stay under the
limit (no 429) and use it to within 5%: use = theoretical minimum (N - b) / r
divided by the time from the first accepted send to the last. "Worst excess" is how
many sends beyond the bucket the attempts (accepted or not) ever came to.

A second run gives one worker a wrong burst (60 where the server allows 10): the
limits live with the shared key, so that worker is warned and meters with the key's
limits. The server must answer no 429, and neither worker may take longer than the
whole batch's minimum (N - b) / r plus 5%: neither is blocked beyond its share.

    python benchmarks/ratelimit_redis.py            # the whole measurement
    python benchmarks/ratelimit_redis.py --worker   # one worker (started by the above)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
from _common import PYTHON, control, log, reference_server, row
from _sending import RetryCounter, send_all, server_pace, theoretical_minimum, worst_excess

# The checkout is on sys.path through the editable install, as for pacta_async.
from tests.redis_server import running_redis

GENERAL = 100_000  # per minute: out of the way
WORKERS = 2
USE_TARGET = 0.95
# From the last worker's READY to the common start: enough to hand every worker the
# start time. Workers start on a signal, not on a fixed delay after they were spawned:
# on a loaded machine importing and connecting can take longer than any fixed delay,
# and a worker that starts alone finds the key holding only its own limits.
START_MARGIN = 0.2


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    """The tests' throwaway redis-server, in a temporary directory."""
    with tempfile.TemporaryDirectory() as workdir, running_redis(Path(workdir)) as port:
        yield port


async def work(args: argparse.Namespace) -> dict[str, object]:
    """One worker: wait for the common start, then send its share of the drafts."""
    import redis.asyncio

    from pacta_async import PactaClient, RedisRateLimiter

    ids = [int(i) for i in args.ids.split(",")]
    retries = RetryCounter()
    redis_client = redis.asyncio.Redis(port=args.redis_port)
    limiter = RedisRateLimiter(
        redis_client,
        args.token,
        requests_per_minute=GENERAL,
        sends_per_minute=args.rate,
        send_burst=args.client_burst,
    )
    try:
        async with PactaClient(
            args.token,
            base_url=args.address,
            rate_limiter=limiter,
            max_retries=20,
            on_retry=retries,
        ) as client:
            await client.documents.get(ids[0])  # connect to both servers before the start
            print("READY", flush=True)
            start_at = float(await anyio.to_thread.run_sync(sys.stdin.readline))
            await anyio.sleep(max(0.0, start_at - time.monotonic()))
            elapsed, failures = await send_all(client, ids)
    finally:
        await redis_client.aclose()
    return {"elapsed": elapsed, "failures": failures, "client_429": retries.rate_limited}


MISMATCHED_BURST = 60


def coordinate(args: argparse.Namespace, bursts: list[int]) -> bool:
    with redis_server() as redis_port, reference_server() as server:
        address = server.address
        token = control(address, "token")["token"]
        ids = control(address, "seed", token=token, count=args.count)["ids"]
        control(address, "limits", general=GENERAL, send=args.rate, send_burst=args.burst)
        control(address, "reset")
        minimum = theoretical_minimum(args.count, args.burst, args.rate)
        log(f"{WORKERS} workers, {args.count} sends at {args.rate}/min shared (~{minimum:.0f} s)")
        workers = [
            subprocess.Popen(
                [
                    *(PYTHON, __file__, "--worker", "--address", address, "--token", token),
                    *("--redis-port", str(redis_port)),
                    *("--rate", str(args.rate), "--client-burst", str(bursts[index])),
                    *("--ids", ",".join(map(str, ids[index::WORKERS]))),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for index in range(WORKERS)
        ]
        for worker in workers:
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != "READY":
                raise RuntimeError("a worker exited before it was ready")
        start_at = time.monotonic() + START_MARGIN
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(f"{start_at!r}\n")
            worker.stdin.flush()
        results = []
        for worker in workers:
            out, _ = worker.communicate(timeout=minimum * 3 + 60)
            results.append(json.loads(out.strip().splitlines()[-1]))
        stats = control(address, "stats")
        counts = control(address, "send_counts", ids=ids)["counts"]
    accepted = [t for t, status in stats["sends"] if status == 200]
    attempts = [t for t, _ in stats["sends"]]
    server_429 = stats["statuses"].get("429", 0)
    failures = sum(len(r["failures"]) for r in results)
    sent_once = sum(1 for c in counts if c == 1)
    span, use = server_pace(accepted, args.burst, args.rate)
    excess = worst_excess(attempts, args.burst, args.rate)
    slowest = max(r["elapsed"] for r in results)
    shares = "/".join(str(len(ids[i::WORKERS])) for i in range(WORKERS))
    if len(set(bursts)) > 1:
        within = slowest <= minimum * 1.05
        times = "/".join(f"{r['elapsed']:.2f}" for r in results)
        return row(
            f"rate limit, Redis, {WORKERS} processes, mismatched bursts "
            f"{'/'.join(map(str, bursts))} (server b={args.burst})",
            f"{sent_once}/{args.count} sent, {failures} failed; server: 429s {server_429}, "
            f"use {use:.1%}, worst excess {excess:+.2f}; workers "
            f"{times} s vs (N-b)/r = {minimum:.1f} s",
            "zero 429 server-side, each worker <= (N-b)/r + 5%",
            server_429 == 0 and within and failures == 0 and sent_once == args.count,
        )
    return row(
        f"rate limit, Redis, {WORKERS} processes share {args.rate}/min (b={args.burst})",
        f"{sent_once}/{args.count} sent ({shares}), {failures} failed; server: 429s "
        f"{server_429}, {span:.2f} s first to last vs (N-b)/r = {minimum:.1f} s: use {use:.1%}, "
        f"worst excess of attempts {excess:+.2f}; slower worker {slowest:.2f} s",
        f"zero 429 server-side, use >= {USE_TARGET:.0%}",
        server_429 == 0 and use >= USE_TARGET and failures == 0 and sent_once == args.count,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--rate", type=int, default=600, help="sends per minute")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--redis-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--client-burst", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(anyio.run(work, args, backend="asyncio")), flush=True)
        return 0
    shared = coordinate(args, [args.burst] * WORKERS)
    mismatched = coordinate(args, [args.burst, MISMATCHED_BURST])
    return 0 if shared and mismatched else 1


if __name__ == "__main__":
    sys.exit(main())
