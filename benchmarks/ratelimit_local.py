"""Rate-limit efficiency of the in-process limiter, against a real server.

Two runs of the same batch, 300 sends of prepared drafts by 32 concurrent tasks,
through `TokenBucketLimiter` to the reference server in another process:

1. Matching limits: server and client both at 600 sends/min with a burst of 10.
   The batch must take no less than the theoretical minimum (N - b) / r and at most
   3% more, with zero 429s: the limiter spends all of the limit and never more.
2. The server at half the client's limit (300 sends/min): the client learns the
   lower limit from the 429s and every send still succeeds. The time is reported
   against the theoretical minimum at the server's rate.

The general limit is raised out of the way (sends count against it too) so that
only the send limit paces. Drafts are prepared through the server's control API
beforehand, not timed. 429s are counted by the client (`on_retry`) and the server.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import anyio
from _common import control, log, reference_server, row
from _sending import RetryCounter, send_all, server_pace, theoretical_minimum, worst_excess

from pacta_async import PactaClient, TokenBucketLimiter

GENERAL = 100_000  # per minute: out of the way
TOLERANCE = 0.03  # the batch may take 3% longer than the theoretical minimum


async def run_batch(
    address: str, count: int, burst: int, client_rate: int, server_rate: int
) -> dict[str, Any]:
    token = control(address, "token")["token"]
    ids = control(address, "seed", token=token, count=count)["ids"]
    retries = RetryCounter()
    limiter = TokenBucketLimiter(
        requests_per_minute=GENERAL, sends_per_minute=client_rate, send_burst=burst
    )
    async with PactaClient(
        token,
        base_url=address,
        rate_limiter=limiter,
        max_retries=20,
        on_retry=retries,
    ) as client:
        await client.documents.get(ids[0])  # open a connection before the clock starts
        control(address, "limits", general=GENERAL, send=server_rate, send_burst=burst)
        control(address, "reset")
        elapsed, failures = await send_all(client, ids)
    stats = control(address, "stats")
    counts = control(address, "send_counts", ids=ids)["counts"]
    control(address, "limits", general=1_000_000, send=1_000_000)
    accepted = [t for t, status in stats["sends"] if status == 200]
    return {
        "elapsed": elapsed,
        "failures": failures,
        "client_429": retries.rate_limited,
        "server_429": stats["statuses"].get("429", 0),
        "sent_once": sum(1 for c in counts if c == 1),
        "accepted": accepted,
    }


async def measure(address: str, count: int, burst: int, rate: int) -> bool:
    minimum = theoretical_minimum(count, burst, rate)
    log(f"matching limits: {count} sends at {rate}/min, burst {burst} (~{minimum:.0f} s)")
    result = await run_batch(address, count, burst, rate, rate)
    elapsed = result["elapsed"]
    span, use = server_pace(result["accepted"], burst, rate)
    excess = worst_excess(result["accepted"], burst, rate)
    within = minimum <= elapsed <= minimum * (1 + TOLERANCE)
    clean = result["client_429"] == 0 and result["server_429"] == 0
    complete = not result["failures"] and result["sent_once"] == count
    ok = row(
        f"rate limit, in-process, server = client = {rate}/min (b={burst})",
        f"{count} sends in {elapsed:.2f} s = {elapsed / minimum:.1%} of the minimum "
        f"(N-b)/r = ({count}-{burst})/{rate / 60:g}/s = {minimum:.1f} s; "
        f"429s: {result['client_429']} client / {result['server_429']} server; "
        f"server: {span:.2f} s first to last, use {use:.1%}, worst excess {excess:+.2f}",
        f"min <= t <= min + {TOLERANCE:.0%}, zero 429",
        within and clean and complete,
    )

    half = rate // 2
    slow_minimum = theoretical_minimum(count, burst, half)
    log(f"server at half: {count} sends, server {half}/min, client {rate}/min")
    result = await run_batch(address, count, burst, rate, half)
    complete = not result["failures"] and result["sent_once"] == count
    for failure in result["failures"][:5]:
        log(f"failed: {failure}")
    span, use = server_pace(result["accepted"], burst, half)
    ok &= row(
        f"rate limit, in-process, server {half}/min < client {rate}/min",
        f"{result['sent_once']}/{count} sent, {len(result['failures'])} failed, "
        f"{result['elapsed']:.2f} s (minimum at the server's rate {slow_minimum:.1f} s, "
        f"{result['elapsed'] / slow_minimum:.1%}); "
        f"429s: {result['client_429']} client / {result['server_429']} server; "
        f"server use {use:.1%}",
        "no failed item",
        complete,
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--rate", type=int, default=600, help="sends per minute")
    args = parser.parse_args(argv)
    with reference_server() as server:
        ok = anyio.run(
            measure, server.address, args.count, args.burst, args.rate, backend="asyncio"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
