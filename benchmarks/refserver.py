"""The reference server in its own process, with a small control API for benchmarks.

    python benchmarks/refserver.py [--port N]   # prints "READY http://127.0.0.1:N"

Benchmarks need the server out of the client's process (its CPU and memory must not
count as the client's) and need to steer it from outside: create tokens, change
limits and latency, seed documents, and read back what the server saw. So the
reference server's ASGI app is wrapped here in one that

- answers ``/_bench/...`` control requests (JSON in, JSON out; never rate limited),
- records, for every Pacta request, its status, and for every send its arrival time
  (`time.monotonic()`, which is the same clock in every process on Linux), so rate
  figures are measured server-side, where the limit is enforced.

Seeding goes through the server's own in-process transport and the public API
(create one document, then duplicate it), so no private state is touched and no
loopback round trips are paid: 20,000 documents take a few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from collections import Counter, defaultdict
from typing import Any

import uvicorn

from pacta_async import PactaClient
from pacta_async.testing import Faults, Limits, ReferenceServer, make_pdf

_SEND_SUFFIXES = ("/send", "/generate")
# Under the parent's 30 s READY deadline (_common.py), so the cause shows here first.
STARTUP_TIMEOUT = 20.0


class BenchApp:
    """`server.app` plus the control API and a log of what the server answered."""

    def __init__(self, server: ReferenceServer) -> None:
        self.server = server
        self.statuses: Counter[int] = Counter()
        self.sends: list[tuple[float, int]] = []  # (arrival, status) of every send
        # The same per token, for contenders running side by side with a token each.
        self.sends_by_token: defaultdict[str, list[tuple[float, int]]] = defaultdict(list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.server.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/_bench/"):
            await self._control(scope, receive, send)
            return
        arrived = time.monotonic()
        status = 0

        async def recording_send(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.server.app(scope, receive, recording_send)
        finally:
            self.statuses[status] += 1
            if scope["method"] == "POST" and path.endswith(_SEND_SUFFIXES):
                self.sends.append((arrived, status))
                token = dict(scope["headers"]).get(b"authorization", b"").decode()
                self.sends_by_token[token].append((arrived, status))

    async def _control(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = json.loads(body) if body.strip() else {}
        try:
            answer = await self._handle(scope["path"].removeprefix("/_bench/"), request)
            status = 200
        except Exception as exc:  # a benchmark bug: say so instead of hanging
            answer, status = {"error": repr(exc)}, 500
        payload = json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _handle(self, name: str, request: dict[str, Any]) -> Any:
        server = self.server
        if name == "token":
            return {"token": server.create_token(server.create_team())}
        if name == "limits":
            server.set_limits(Limits(**request))
            return {}
        if name == "faults":
            rules = [Faults(**rule) for rule in request.get("rules", [])]
            server.set_faults(*rules)
            return {}
        if name == "seed":
            return {"ids": await self._seed(request["token"], int(request["count"]))}
        if name == "reset":
            self.statuses.clear()
            self.sends.clear()
            self.sends_by_token.clear()
            return {}
        if name == "stats":
            return {"statuses": dict(self.statuses), "sends": self.sends}
        if name == "token_sends":
            return {"sends": self.sends_by_token[request["token"]]}
        if name == "send_counts":
            return {"counts": [server.send_count(i) for i in request["ids"]]}
        raise ValueError(f"unknown control request {name!r}")

    async def _seed(self, token: str, count: int) -> list[int]:
        """`count` sendable drafts for the token's team: one upload with a signer and
        a signature field, then duplicates of it. Call with limits raised.
        """
        async with PactaClient(
            token,
            base_url="http://localhost",
            transport=self.server.transport(),
            rate_limiter=None,
        ) as client:
            first = await client.documents.create(
                make_pdf(), title="Seed", recipients=[{"name": "Ada", "email": "ada@example.com"}]
            )
            await client.documents.fields.create(
                first.id,
                recipient_id=first.recipients[0].id,
                type="SIGNATURE",
                page=1,
                x=10,
                y=10,
                width=100,
                height=30,
            )
            ids = [first.id]
            for _ in range(count - 1):
                ids.append((await client.documents.duplicate(first.id)).id)
            return ids


def _listen(port: int) -> socket.socket:
    # IPPROTO_TCP explicitly, so asyncio sets TCP_NODELAY (as the reference server does).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    return sock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ReferenceServer(limits=Limits(general=1_000_000, send=1_000_000))
    app = BenchApp(server)
    sock = _listen(args.port)
    config = uvicorn.Config(app, http="h11", lifespan="off", log_level="warning", access_log=False)
    uvicorn_server = uvicorn.Server(config)

    async def serve() -> None:
        task = asyncio.create_task(uvicorn_server.serve(sockets=[sock]))
        # uvicorn offers a flag, not an event, for "listening".
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while not uvicorn_server.started and not task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        port = sock.getsockname()[1]
        print(f"READY http://127.0.0.1:{port}", flush=True)
        await task

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
