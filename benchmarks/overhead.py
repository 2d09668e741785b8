"""Per-request overhead: `client.documents.get()` against the same GET through raw httpx.

The SDK's layers (generated client, transport with limiter and retries, typed
model) cost CPU on every request; this measures how much throughput that costs
against the floor, a bare `httpx.AsyncClient` doing ``get()``, ``raise_for_status()``
and ``json()``. The server is `static_responder.py` in another process, which
answers canned bytes far faster than either client asks (its CPU use is reported).

Variants: raw httpx; pacta_async with the limiter off; pacta_async with the limiter
on at a billion requests a minute (so it paces nothing, and only its cost shows);
and the peer users reach for when httpx is too slow, raw aiohttp (``get()``,
``raise_for_status()``, ``json()``), beside pacta_async over its `aiohttp` extra
(`AioHttpTransport`, limiter on). Each pacta_async variant is compared with the raw
client under it: >= 90% of its requests/s.
Three more rows take the aiohttp gap apart. The floor under any httpx-based stack
over aiohttp, no client at all: one `httpx.Request` (URL and headers built once, the
client's timeouts) handed straight to `AioHttpTransport`, and its `httpx.Response`
checked and decoded. And the least any paced, typed SDK must do, with no httpx at
all: raw aiohttp with the generated `Document.from_dict` on its JSON (the model
alone), and the same with the SDK's own limiter around each request, `acquire()`
before it and `observe()` of its headers and round trip after it (what the
"limiter on" variant cannot do without; no retry layer, no typed errors).
Raw aiohttp and every variant over it use one connection per worker (both
pools hold 100).
Each runs at concurrency 1 and 64 in many short interleaved rounds (28 of 0.2 s at
1, 10 of 0.6 s at 64; order rotating), so that load from elsewhere on the machine,
which comes and goes, hits all variants alike; the figures are medians, and the
ratio is the median of the per-round ratios.
Requests/s is completed requests over wall time; CPU us/request is this process's
CPU time (user + system) over completed requests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import cast

import aiohttp
import anyio
import httpx
from _common import HERE, PYTHON, child, log, row

from pacta_async import AioHttpTransport, Document, PactaClient, TokenBucketLimiter
from pacta_async._client import DEFAULT_TIMEOUT

TOKEN = "api_" + "0" * 32
DOCUMENT_ID = 1
TARGET = 0.90  # pacta_async's requests/s over raw httpx's
# (rounds, seconds per round) by concurrency. At 64 over httpx a request takes ~90 ms,
# so a 0.2 s round holds two or three per worker and its ending tail skews it (ratios
# from 67% to 122% between runs); 0.6 s rounds cost the same time in all.
ROUNDS = {1: (28, 0.2), 64: (10, 0.6)}

Request = Callable[[], Awaitable[object]]


async def trial(request: Request, concurrency: int, seconds: float) -> tuple[float, float, int]:
    """Run `concurrency` workers for `seconds`; returns (requests/s, CPU s, requests)."""
    done = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            await request()
            done += 1

    cpu, wall = time.process_time(), time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(concurrency):
            group.start_soon(worker)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return done / wall, cpu, done


async def measure(
    address: str, responder_cpu: Callable[[], float], args: argparse.Namespace
) -> bool:
    base = f"{address}/api/v1"
    raw = httpx.AsyncClient(base_url=base, headers={"Authorization": TOKEN})
    plain = PactaClient(TOKEN, base_url=base, rate_limiter=None)

    def unlimited() -> TokenBucketLimiter:
        return TokenBucketLimiter(requests_per_minute=1_000_000_000, sends_per_minute=1_000_000_000)

    paced = PactaClient(TOKEN, base_url=base, rate_limiter=unlimited())
    # aiohttp's default pool is 100 connections, as is the SDK's.
    session = aiohttp.ClientSession(headers={"Authorization": TOKEN})
    over_aiohttp = PactaClient(
        TOKEN, base_url=base, rate_limiter=unlimited(), transport=AioHttpTransport()
    )
    floor_limiter = unlimited()
    url = f"{base}/documents/{DOCUMENT_ID}"
    floor_transport = AioHttpTransport()
    floor_url = httpx.URL(url)
    floor_headers = httpx.Headers({"Authorization": TOKEN})
    floor_timeout = DEFAULT_TIMEOUT.as_dict()  # what PactaClient sends with

    async def raw_get() -> object:
        response = await raw.get(f"/documents/{DOCUMENT_ID}")
        response.raise_for_status()
        return response.json()

    async def floor_get() -> object:
        request = httpx.Request(
            "GET", floor_url, headers=floor_headers, extensions={"timeout": floor_timeout}
        )
        response = await floor_transport.handle_async_request(request)
        response.raise_for_status()
        return response.json()

    async def aiohttp_get() -> object:
        async with session.get(url) as response:
            response.raise_for_status()
            return await response.json()

    async def aiohttp_model_get() -> object:
        async with session.get(url) as response:
            response.raise_for_status()
            return Document.from_dict(await response.json())

    async def aiohttp_paced_model_get() -> object:
        await floor_limiter.acquire(send=False)
        started = time.monotonic()
        async with session.get(url) as response:
            response.raise_for_status()
            body = await response.json()
        # It reads the headers as a mapping; aiohttp's are one, case-insensitive.
        headers = cast(httpx.Headers, response.headers)
        await floor_limiter.observe(response.status, headers, round_trip=time.monotonic() - started)
        return Document.from_dict(body)

    variants: dict[str, Request] = {
        "raw httpx": raw_get,
        "pacta_async, limiter off": lambda: plain.documents.get(DOCUMENT_ID),
        "pacta_async, limiter on": lambda: paced.documents.get(DOCUMENT_ID),
        "raw aiohttp": aiohttp_get,
        "raw aiohttp + Document.from_dict": aiohttp_model_get,
        "raw aiohttp + limiter + Document.from_dict": aiohttp_paced_model_get,
        "floor: httpx.Request -> AioHttpTransport -> httpx.Response": floor_get,
        "pacta_async over aiohttp, limiter on": lambda: over_aiohttp.documents.get(DOCUMENT_ID),
    }
    # What each pacta_async variant is measured against: the raw client under it.
    floors = {
        "pacta_async, limiter off": "raw httpx",
        "pacta_async, limiter on": "raw httpx",
        "pacta_async over aiohttp, limiter on": "raw aiohttp",
    }
    # Shown beside raw aiohttp, not held to a target: no SDK runs in it.
    informational = {
        "raw aiohttp + Document.from_dict",
        "raw aiohttp + limiter + Document.from_dict",
        "floor: httpx.Request -> AioHttpTransport -> httpx.Response",
    }
    ok = True
    busiest_responder = 0.0
    try:
        for concurrency in args.concurrency:
            rounds, seconds = ROUNDS.get(concurrency, ROUNDS[1])
            rounds, seconds = args.rounds or rounds, args.seconds or seconds
            log(f"concurrency {concurrency}: {rounds} rounds of {seconds} s per variant")
            rps: dict[str, list[float]] = {name: [] for name in variants}
            cpu_us: dict[str, list[float]] = {name: [] for name in variants}
            for request in variants.values():  # open connections, warm caches
                await trial(request, concurrency, args.warmup)
            names = list(variants)
            for round_ in range(rounds):
                # Short runs in a rotating order: a disturbance from elsewhere on the
                # machine lasting longer than a round hits every variant in it.
                order = names[round_ % len(names) :] + names[: round_ % len(names)]
                for name in order:
                    request = variants[name]
                    before, started = responder_cpu(), time.perf_counter()
                    rate, cpu, count = await trial(request, concurrency, seconds)
                    share = (responder_cpu() - before) / (time.perf_counter() - started)
                    busiest_responder = max(busiest_responder, share)
                    rps[name].append(rate)
                    cpu_us[name].append(cpu / count * 1e6)
            for name in variants:
                rate = statistics.median(rps[name])
                cpu = statistics.median(cpu_us[name])
                floor_name = floors.get(name)
                if floor_name is None:
                    versus = (
                        ""
                        if name == "raw httpx"
                        else f" = {_times(rps[name], rps['raw aiohttp'], '.0%')} of raw aiohttp"
                        if name in informational
                        else f" = {_times(rps[name], rps['raw httpx'], '.1f')}x raw httpx"
                    )
                    row(
                        f"overhead c={concurrency}: {name}",
                        f"{rate:,.0f} req/s{versus}, {cpu:.0f} CPU us/req",
                    )
                    continue
                # Paired by round, so that load from elsewhere on the machine, which
                # comes and goes, hits both sides of each ratio alike.
                ratios = [
                    mine / floor for mine, floor in zip(rps[name], rps[floor_name], strict=True)
                ]
                ratio = statistics.median(ratios)
                low, _, high = statistics.quantiles(ratios, n=4)
                passed = ratio >= TARGET
                ok &= passed
                row(
                    f"overhead c={concurrency}: {name}",
                    f"{rate:,.0f} req/s = {ratio:.0%} of {floor_name} (IQR {low:.0%}-{high:.0%}), "
                    f"{cpu:.0f} CPU us/req (+{cpu - statistics.median(cpu_us[floor_name]):.0f})",
                    f">= {TARGET:.0%} of {floor_name} req/s",
                    passed,
                )
        row(
            "overhead: static responder CPU (busiest run)",
            f"{busiest_responder:.0%} of one core",
            "not the bottleneck",
            None,
        )
    finally:
        await raw.aclose()
        await plain.aclose()
        await paced.aclose()
        await session.close()
        await over_aiohttp.aclose()
        await floor_transport.aclose()
    return ok


def _times(mine: list[float], floor: list[float], spec: str) -> str:
    ratio = statistics.median(a / b for a, b in zip(mine, floor, strict=True))
    return format(ratio, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, help="per run (default: by concurrency)")
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, help="(default: by concurrency)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 64])
    args = parser.parse_args(argv)
    with child([PYTHON, str(HERE / "static_responder.py")], name="static responder") as server:
        ok = anyio.run(measure, server.address, server.cpu_seconds, args, backend="asyncio")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
