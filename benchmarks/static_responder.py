"""A static HTTP/1.1 responder for the overhead benchmark: canned JSON, nothing else.

    python benchmarks/static_responder.py   # prints "READY http://127.0.0.1:N"

The per-request overhead benchmark compares two clients, so the server must answer
far faster than either can ask. This is a bare `asyncio.Protocol` in its own process:
it does not parse requests beyond finding where each one ends (the benchmark sends
only GETs, which have no body), and answers each with the same pre-built bytes, a
real document as the reference server renders it plus the `X-RateLimit-*` headers
Pacta sends on every response. It needs nothing from the system, unlike nginx,
and the benchmark reports its CPU use to show it was never the bottleneck.

The advertised limit is a billion a minute, so the client's limiter (on in one
variant) sees plenty left and adopts nothing lower.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time

DOCUMENT = {
    "id": 1,
    "title": "Contract 1",
    "status": "DRAFT",
    "externalId": None,
    "teamId": 1,
    "createdAt": "2026-05-12T09:30:00.000Z",
    "updatedAt": "2026-05-12T09:30:00.000Z",
    "completedAt": None,
    "recipients": [
        {
            "id": index,
            "documentId": 1,
            "name": name,
            "email": f"{name.lower()}@example.com",
            "role": "SIGNER",
            "signingOrder": None,
            "signingStatus": "NOT_SIGNED",
            "readStatus": "NOT_OPENED",
            "sendStatus": "NOT_SENT",
            "signedAt": None,
            "signingUrl": f"https://sign.pacta.ink/sign/{name.lower()}-z3Wu2h6ONElOzjTqpzJy4Q",
        }
        for index, name in enumerate(["Ada", "Bob"], start=1)
    ],
}

LIMIT = 1_000_000_000


def canned_response() -> bytes:
    body = json.dumps(DOCUMENT, separators=(",", ":")).encode()
    reset = int(time.time()) + 60
    head = (
        "HTTP/1.1 200 OK\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        f"x-ratelimit-limit: {LIMIT}\r\n"
        f"x-ratelimit-remaining: {LIMIT - 1}\r\n"
        f"x-ratelimit-reset: {reset}\r\n"
        "\r\n"
    )
    return head.encode() + body


class Responder(asyncio.Protocol):
    response = b""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        requests = self.buffer.count(b"\r\n\r\n")
        if requests and self.transport is not None:
            self.transport.write(self.response * requests)
            self.buffer = self.buffer[self.buffer.rfind(b"\r\n\r\n") + 4 :]


async def serve() -> None:
    Responder.response = canned_response()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    server = await asyncio.get_running_loop().create_server(Responder, sock=sock, backlog=1024)
    print(f"READY http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
