"""``python -m pacta_async.testing``: run the reference server for demos and manual tests."""

from __future__ import annotations

import argparse
import contextlib
import functools

import anyio

from ._faults import Faults
from ._limits import Limits
from ._server import ReferenceServer

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pacta-reference-server",
        description="An in-memory Pacta API for demos and tests. Prints a ready-made token.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="default: %(default)s (loopback)")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--general-limit", type=int, default=100, help="requests/min/token")
    parser.add_argument("--send-limit", type=int, default=30, help="sends/min/token")
    faults = parser.add_argument_group("fault injection (rates from 0 to 1)")
    faults.add_argument("--seed", type=int, default=0)
    faults.add_argument("--error-rate", type=float, default=0.0, help="500/502/503 answers")
    faults.add_argument("--drop-before-rate", type=float, default=0.0)
    faults.add_argument("--drop-after-rate", type=float, default=0.0)
    faults.add_argument("--latency", type=float, default=0.0, help="seconds added to requests")
    return parser


def _announce(token: str, base_url: str) -> None:
    print(f"Pacta reference server at {base_url}", flush=True)
    print(f"Token (Authorization header): {token}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    faults = Faults(
        error_rate=args.error_rate,
        drop_before_rate=args.drop_before_rate,
        drop_after_rate=args.drop_after_rate,
        latency=args.latency,
        seed=args.seed,
    )
    server = ReferenceServer(
        limits=Limits(general=args.general_limit, send=args.send_limit), faults=[faults]
    )
    token = server.create_token(server.create_team("Demo"))
    ready = functools.partial(_announce, token)
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(
            functools.partial(server.serve, args.host, args.port, ready=ready), backend="asyncio"
        )


if __name__ == "__main__":
    main()
