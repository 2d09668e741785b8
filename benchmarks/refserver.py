"""The reference server in its own process, with a small control API for benchmarks.

    python benchmarks/refserver.py [--port N]   # prints "READY http://127.0.0.1:N"

Benchmarks need the server out of the client's process (its CPU and memory must not
count as the client's) and need to steer it from outside: create tokens, change
limits and latency, seed documents, and read back what the server saw. So the
reference server's ASGI app is wrapped here in one that

- answers ``/_bench/...`` control requests (JSON in, JSON out; never rate limited),
- records, for every Pacta request, its status and arrival time, and for every send
  its arrival time (`time.monotonic()`, which is the same clock in every process on
  Linux), so rate figures are measured server-side, where the limit is enforced,
- serves the file storage origin on a port of its own, as Pacta's is another origin,
- signs documents over time on request, while a client waits for them,
- processes requests late (the `late_rate` fault) for as long as it serves.

Seeding goes through the server's own in-process transport and public API (one
document created and given a field), then `ReferenceServer.duplicate`, so no private
state is touched and no loopback round trips are paid: 20,000 documents take under a
second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import uvicorn
from _sending import prepare_drafts

from pacta_async import PactaClient
from pacta_async.testing import Faults, Limits, ReferenceServer, Storm, make_pdf
from pacta_async.testing._middleware import ConnectionDropped

_SEND_SUFFIXES = ("/send", "/generate")
# Under the parent's 30 s READY deadline (_common.py), so the cause shows here first.
STARTUP_TIMEOUT = 20.0


class BenchApp:
    """`server.app` plus the control API and a log of what the server answered."""

    def __init__(self, server: ReferenceServer) -> None:
        self.server = server
        self.statuses: Counter[int] = Counter()
        self.sends: list[tuple[float, int]] = []  # (arrival, status) of every send
        self.arrivals: list[tuple[float, int]] = []  # (arrival, status) of every request
        self.signer: asyncio.Task[float] | None = None
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
            self.arrivals.append((arrived, status))
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
            rules = [_faults(rule) for rule in request.get("rules", [])]
            server.set_faults(*rules)
            return {}
        if name == "seed":
            ids = await self._seed(
                request["token"],
                int(request["count"]),
                state=request.get("state", "draft"),
                path=request.get("path"),
            )
            return {"ids": ids}
        if name == "complete_over":
            self.signer = asyncio.create_task(
                self._complete_over(request["ids"], float(request["seconds"]))
            )
            return {}
        if name == "signed":  # when the last one was completed (monotonic), once all are
            if self.signer is None or not self.signer.done():
                return {"last": None}
            return {"last": self.signer.result()}
        if name == "reset":
            self.statuses.clear()
            self.sends.clear()
            self.arrivals.clear()
            self.sends_by_token.clear()
            return {}
        if name == "arrivals":
            return {"arrivals": self.arrivals}
        if name == "stats":
            return {"statuses": dict(self.statuses), "sends": self.sends}
        if name == "token_sends":
            return {"sends": self.sends_by_token[request["token"]]}
        if name == "send_counts":
            return {"counts": [server.send_count(i) for i in request["ids"]]}
        if name == "template":
            return await self._template(request["token"])
        if name == "documents":
            return {"documents": await self._documents(request["token"])}
        if name == "injected":
            return {"injected": server.injected_faults()}
        raise ValueError(f"unknown control request {name!r}")

    def _client(self, token: str) -> PactaClient:
        """The public API through the in-process transport: no loopback round trips,
        but the faults in force (clear them before reading back)."""
        return PactaClient(
            token, base_url="http://localhost", transport=self.server.transport(), rate_limiter=None
        )

    async def _template(self, token: str) -> dict[str, int]:
        """A template with one placeholder recipient and its signature field."""
        async with self._client(token) as client:
            template = await client.templates.create(
                make_pdf(), title="NDA", recipients=[{"name": "Signer", "email": "s@example.com"}]
            )
        return {"id": template.id, "placeholder": template.recipients[0].id}

    async def _documents(self, token: str) -> list[dict[str, Any]]:
        """Every document of the token's team as the server holds it: id, externalId,
        status, its recipients' emails, and how many times it was sent."""
        async with self._client(token) as client:
            return [
                {
                    "id": document.id,
                    "externalId": document.external_id,
                    "status": str(document.status),
                    "emails": [recipient.email for recipient in document.recipients],
                    "sends": self.server.send_count(document.id),
                }
                async for document in client.documents.iter(per_page=100)
            ]

    async def _complete_over(self, ids: list[int], seconds: float) -> float:
        """Complete the documents in the given order, evenly spread over `seconds`."""
        started = time.monotonic()
        for index, document_id in enumerate(ids):
            due = started + seconds * index / max(1, len(ids) - 1)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            self.server.complete(document_id)
        return time.monotonic()

    async def _seed(
        self, token: str, count: int, *, state: str = "draft", path: str | None = None
    ) -> list[int]:
        """`count` documents for the token's team: one upload (of the PDF at `path`, or
        a small one) with a signer and a signature field, then the server's duplicates
        of it; left as drafts, sent (`state="pending"`) or sent and signed
        (`"completed"`). Call with limits raised.
        """
        async with self._client(token) as client:
            pdf = None if path is None else Path(path)
            ids = list(await prepare_drafts(client, self.server, count, pdf=pdf))
            if state in ("pending", "completed"):
                for document_id in ids:
                    await client.documents.send(document_id, send_email=False)
            if state == "completed":
                for document_id in ids:
                    self.server.complete(document_id)
            return ids


def _faults(rule: dict[str, Any]) -> Faults:
    """A `Faults` rule from JSON; a storm is a dict of `Storm`'s arguments."""
    storm = rule.get("storm")
    statuses = tuple(rule.get("error_statuses", (500, 502, 503)))
    storm_rule = None if storm is None else Storm(**storm)
    return Faults(**{**rule, "storm": storm_rule, "error_statuses": statuses})


class _QuietDrops(logging.Filter):
    """Injected drops are what a benchmark asks for, not application errors to log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


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
    storage_sock = _listen(0)
    storage = server.storage_app
    storage.base_url = f"http://127.0.0.1:{storage_sock.getsockname()[1]}"
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    quiet = {"http": "h11", "lifespan": "off", "log_level": "warning", "access_log": False}
    # uvicorn closes idle connections after 5 s, exactly when httpx's pool lets go of
    # them: a request on a reused connection can meet the close (ReadError), which the
    # peers do not retry. Deployed servers keep connections longer than clients do
    # (nginx 75 s, cloud load balancers 60 s); the tests keep uvicorn's 5 s.
    quiet["timeout_keep_alive"] = 75
    servers = [uvicorn.Server(uvicorn.Config(served, **quiet)) for served in (app, storage)]
    uvicorn_server, storage_server = servers

    async def serve() -> None:
        async with server.running():  # late processing (the late_rate fault) and webhooks
            await serve_both()

    async def serve_both() -> None:
        storage_task = asyncio.create_task(storage_server.serve(sockets=[storage_sock]))
        task = asyncio.create_task(uvicorn_server.serve(sockets=[sock]))
        # uvicorn offers a flag, not an event, for "listening".
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while not all(s.started for s in servers) and not task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        port = sock.getsockname()[1]
        print(f"READY http://127.0.0.1:{port}", flush=True)
        try:
            await task
        finally:
            storage_server.should_exit = True
            await storage_task

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
