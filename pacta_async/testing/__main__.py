"""``python -m pacta_async.testing``: run the reference server for demos and manual tests."""

from __future__ import annotations

import argparse
import contextlib
import functools

import anyio

from ._deliveries import DEFAULT_DELIVERY_TIMEOUT, Backoff, WebhookFaults
from ._faults import Faults
from ._limits import Limits
from ._server import ReferenceServer

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pacta-reference-server",
        description=(
            "An in-memory Pacta API for demos and tests, with a control API under /_control/ "
            "(sign, reject, complete a document; list deliveries). Prints a ready-made token."
        ),
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
    hooks = parser.add_argument_group("webhook deliveries")
    hooks.add_argument(
        "--webhook-timeout",
        type=float,
        default=DEFAULT_DELIVERY_TIMEOUT,
        help="seconds to wait for a receiver's answer (default: %(default)s, as Pacta)",
    )
    hooks.add_argument("--webhook-retry-base", type=float, default=5.0, help="first retry delay")
    hooks.add_argument("--webhook-retry-cap", type=float, default=3600.0, help="longest delay")
    hooks.add_argument(
        "--webhook-duplicate-rate",
        type=float,
        default=0.0,
        help="share of 2xx answers lost on the way back, so the event is delivered again",
    )
    return parser


def _announce(token: str, base_url: str) -> None:
    print(f"Pacta reference server at {base_url}", flush=True)
    print(f"Token (Authorization header): {token}", flush=True)
    print(f"Control API: {base_url.removesuffix('/api/v1')}/_control/", flush=True)
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
        limits=Limits(general=args.general_limit, send=args.send_limit),
        faults=[faults],
        webhook_backoff=Backoff(base=args.webhook_retry_base, cap=args.webhook_retry_cap),
        webhook_timeout=args.webhook_timeout,
        webhook_faults=WebhookFaults(duplicate_rate=args.webhook_duplicate_rate, seed=args.seed),
        control_api=True,
    )
    token = server.create_token(server.create_team("Demo"))
    ready = functools.partial(_announce, token)
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(
            functools.partial(server.serve, args.host, args.port, ready=ready), backend="asyncio"
        )


if __name__ == "__main__":
    main()
