"""What every benchmark script shares: result rows, child processes, ports and memory.

Each measurement is a script with `main() -> int`, run by `run.py` in its own
process. A script reports its figures as ``ROW {json}`` lines on stdout (the runner
collects them into one table) and its progress on stderr. Servers run in child
processes started here and stopped through their own handle, never by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable

_READY_TIMEOUT = 30.0


def log(message: str) -> None:
    """Progress for a person watching; stdout is reserved for result rows."""
    print(f"  [{Path(sys.argv[0]).stem}] {message}", file=sys.stderr, flush=True)


def row(measure: str, figure: str, target: str = "", ok: bool | None = None) -> bool:
    """Report one line of the table; `ok` None means a figure with no target."""
    record = {"measure": measure, "figure": figure, "target": target, "ok": ok}
    print("ROW " + json.dumps(record), flush=True)
    return ok is not False


def free_port() -> int:
    """A loopback port nobody listens on at the moment of asking."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Child:
    """A child process that prints ``READY <address>`` on stdout once it serves.

    Stopped by its own handle: SIGTERM, then SIGKILL if it has not exited in 5 s.
    """

    def __init__(self, args: list[str], *, name: str) -> None:
        self.name = name
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=None,  # its errors reach the console as they happen
            text=True,
            cwd=ROOT,
        )
        self.address = self._wait_ready()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _wait_ready(self) -> str:
        """The address on the child's READY line. A thread reads the lines, since a bare
        readline() would wait past any deadline for a child that hangs silently."""
        stdout = self.process.stdout
        assert stdout is not None
        ready: queue.Queue[str] = queue.Queue()

        def read() -> None:
            for line in stdout:
                if line.startswith("READY "):
                    ready.put(line.split(" ", 1)[1].strip())
                    return
            ready.put("")  # the child closed its stdout, most likely by exiting

        threading.Thread(target=read, name=f"{self.name}-ready", daemon=True).start()
        try:
            address = ready.get(timeout=_READY_TIMEOUT)
        except queue.Empty:
            address = ""
        if address:
            return address
        try:
            exited: int | None = self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            exited = None
        self.stop()
        why = f"exited with status {exited}" if exited is not None else "hung"
        raise RuntimeError(f"{self.name} did not start within {_READY_TIMEOUT:.0f} s: it {why}")

    def cpu_seconds(self) -> float:
        """User + system CPU time the child has used so far, from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@contextlib.contextmanager
def child(args: list[str], *, name: str) -> Iterator[Child]:
    process = Child(args, name=name)
    try:
        yield process
    finally:
        process.stop()


def reference_server(*extra: str) -> contextlib.AbstractContextManager[Child]:
    """`refserver.py` in its own process; `.address` is its ``http://127.0.0.1:N``."""
    return child([PYTHON, str(HERE / "refserver.py"), *extra], name="reference server")


# -- memory ---------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    if match is None:
        raise RuntimeError(f"no {field} in /proc/self/status")
    return int(match.group(1))


def rss_bytes() -> int:
    """The process's resident set size now."""
    return _status_kib("VmRSS") * 1024


def peak_rss_bytes() -> int:
    """The highest resident set size since the process started or `reset_peak_rss()`."""
    return _status_kib("VmHWM") * 1024


def reset_peak_rss() -> None:
    """Restart the peak at the current RSS (Linux: writing 5 to clear_refs), so one
    process can measure the peak of one phase. Fails loudly rather than measure wrong.
    """
    Path("/proc/self/clear_refs").write_text("5")


MiB = 1024 * 1024


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "python": sys.version.split()[0],
        "platform": sys.platform,
    }


def control(address: str, name: str, **request: Any) -> Any:
    """Call the reference server's ``/_bench/<name>`` control API (see refserver.py)."""
    import httpx

    response = httpx.post(f"{address}/_bench/{name}", json=request, timeout=120)
    response.raise_for_status()
    return response.json()
