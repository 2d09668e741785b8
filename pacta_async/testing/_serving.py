"""Serving an ASGI app on loopback from a thread: a webhook receiver for the reference
server to deliver to, or any app a test needs a real URL for."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

__all__ = ["listen", "serve_app_in_thread"]

STARTUP_TIMEOUT = 10.0


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket: bound here, so no other process can take the port before
    the server starts, whatever port 0 picked."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so, and
    # without it every response waits out the client's delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


@contextlib.contextmanager
def serve_app_in_thread(app: Any, port: int = 0) -> Iterator[str]:
    """Serve the ASGI `app` with uvicorn on 127.0.0.1 from a background thread; yields
    its origin (``http://127.0.0.1:PORT``). Port 0 picks a free port.

    The app's lifespan runs if it has one. The server stops, and its thread ends, when
    the block exits; a server that does not start within 10 s raises `RuntimeError`.
    """
    sock = listen("127.0.0.1", port)
    config = uvicorn.Config(app, lifespan="auto", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="asgi-app", daemon=True
    )
    with sock:
        thread.start()
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"the app did not start within {STARTUP_TIMEOUT:.0f} s")
                time.sleep(0.002)
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            thread.join()
