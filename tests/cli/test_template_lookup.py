"""`pacta-async batch generate` without --placeholder looks the template up first; that
lookup rides out what the batch itself would (a 429 storm, 5xx, an outage) until the
batch's unreachable deadline, and only then stops, with the batch's one error line.

The command runs as a user runs it, over loopback to the reference server, on a fake
clock shared with the server: a storm of seconds and a deadline of minutes take no
real time. The clock jumps only while no request is on its way (a request over a
socket blocks every task too, and jumping then would skip time it never waited).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
import httpx
import pytest

from pacta_async import PactaClient
from pacta_async._cli import _batch as _cli_batch
from pacta_async._cli import main
from pacta_async._task_result import TaskResult
from pacta_async.testing import FakeClock, Faults, Limits, ReferenceServer, Storm, make_pdf

from ..redis_server import free_port

T = TypeVar("T")
FAST = ["--requests-per-minute", "1000000", "--sends-per-minute", "1000000"]


class _Counted(httpx.AsyncBaseTransport):
    """The real network transport, counting the requests on their way (body included)."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.in_flight = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        try:
            response = await self._inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, anyio_backend: str) -> FakeClock:
    """The CLI's clock, made fake; the CLI's event loop (the main thread's, on
    `anyio_backend`) gets a task that jumps the clock to the next sleeper once every
    task waits and no request is out."""
    fake = FakeClock()
    network = _Counted()
    make_client = PactaClient

    def client(*args: Any, **kwargs: Any) -> PactaClient:
        return make_client(*args, transport=network, **kwargs)

    async def autojump() -> None:
        while True:
            for _ in range(20):
                await anyio.lowlevel.checkpoint()
            await anyio.wait_all_tasks_blocked()
            deadline = fake.next_deadline
            if network.in_flight or deadline is None:
                await anyio.sleep(0.001)
            else:
                fake.advance(max(0.0, deadline - fake.monotonic()))

    run = anyio.run

    def jumping(func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        if threading.current_thread() is not threading.main_thread():
            return run(func, *args, **kwargs)  # the reference server's own thread

        async def with_autojump() -> T:
            result = TaskResult[T]()
            async with anyio.create_task_group() as tg:
                tg.start_soon(autojump)
                await result.capture(func, tg.cancel_scope)
            return result.value()

        return run(with_autojump, backend=anyio_backend)

    monkeypatch.setattr(_cli_batch, "_CLOCK", fake)
    monkeypatch.setattr(_cli_batch, "PactaClient", client)
    monkeypatch.setattr(anyio, "run", jumping)
    monkeypatch.setattr(logging.getLogger("pacta_async.batch"), "handlers", [])
    return fake


@pytest.fixture
def server(clock: FakeClock) -> ReferenceServer:
    return ReferenceServer(limits=Limits(general=1_000_000, send=1_000_000), clock=clock)


@pytest.fixture
def base_url(server: ReferenceServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with server.serve_in_thread() as url:
        monkeypatch.setenv("PACTA_API_TOKEN", server.create_token(server.create_team()))
        monkeypatch.setenv("PACTA_BASE_URL", url)
        yield url


def make_template(base_url: str, placeholders: int = 1) -> int:
    data = {"title": "NDA"}
    for n in range(placeholders):
        data |= {
            f"recipients[{n}][name]": f"P{n}",
            f"recipients[{n}][email]": f"p{n}@x.io",
            f"recipients[{n}][role]": "SIGNER",
        }
    with httpx.Client(
        base_url=base_url, headers={"Authorization": os.environ["PACTA_API_TOKEN"]}
    ) as api:
        answer = api.post(
            "/templates", data=data, files={"file": ("nda.pdf", make_pdf(), "application/pdf")}
        )
    answer.raise_for_status()
    return int(answer.json()["id"])


def people(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text("name,email\nAnn,ann@x.io\n")
    return path


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("pacta-async: error:")]


def test_a_429_storm_at_startup_is_waited_out_even_with_a_one_second_timeout(
    server: ReferenceServer,
    base_url: str,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    template_id = make_template(base_url)
    # Every request answered 429 for 1.5 s; each Retry-After is longer than --timeout.
    server.set_faults(Faults(storm=Storm(seconds=1.5)))
    command = ["batch", "generate", str(template_id), str(people(tmp_path)), "--timeout", "1"]
    status = main([*command, *FAST])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "1 sent, 0 failed, 0 skipped" in out
    assert server.injected_faults()["storm"] >= 1  # the lookup met the storm
    assert clock.monotonic() >= 1.5


def test_past_the_unreachable_deadline_the_lookup_stops_with_the_batch_error_line(
    clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/api/v1"  # connections refused
    status = main(
        [
            *("batch", "generate", "1", str(people(tmp_path)), "--timeout", "1"),
            *("--token", "api_test", "--base-url", nobody, "--unreachable-timeout", "60"),
            *FAST,
        ]
    )
    err = capsys.readouterr().err
    assert status == 1
    [line] = error_lines(err)
    assert "Pacta unreachable since" in line
    assert "(over 60s); stopped" in line
    assert line.endswith("without --journal, a rerun checks Pacta first for what was sent")
    assert "Traceback" not in err
    assert 60 <= clock.monotonic() < 60 + 10  # retried up to the deadline, not beyond it


def test_a_lookup_answered_only_by_5xx_fails_with_its_own_error(
    server: ReferenceServer,
    base_url: str,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    template_id = make_template(base_url)
    server.set_faults(Faults(error_rate=1.0, error_statuses=(503,), routes={"GET /templates"}))
    status = main(["batch", "generate", str(template_id), str(people(tmp_path)), *FAST])
    err = capsys.readouterr().err
    assert status == 1
    [line] = error_lines(err)
    assert "503" in line
    assert "went through" not in line  # a read leaves no outcome in doubt
    assert server.injected_faults()["error_503"] > 3  # asked again, not given up at once


@pytest.mark.parametrize(
    ("placeholders", "message"),
    [(None, "no template {id} in this team"), (0, "has 0 recipients"), (2, "has 2 recipients")],
)
def test_a_template_that_cannot_be_used_is_a_usage_error_at_once(
    base_url: str,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    placeholders: int | None,
    message: str,
) -> None:
    template_id = make_template(base_url, placeholders or 0)
    wanted = template_id + 1 if placeholders is None else template_id
    status = main(["batch", "generate", str(wanted), str(people(tmp_path)), *FAST])
    [line] = error_lines(capsys.readouterr().err)
    assert status == 2
    assert message.format(id=wanted) in line
    assert clock.monotonic() == 0  # nothing waited for: no retry


@pytest.mark.parametrize("seconds", ["-5", "nan", "soon"])
def test_an_unusable_unreachable_timeout_is_a_usage_error_before_any_request(
    base_url: str,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    seconds: str,
) -> None:
    template_id = make_template(base_url)
    command = ["batch", "generate", str(template_id), str(people(tmp_path))]
    status = main([*command, "--unreachable-timeout", seconds])
    assert status == 2
    assert "--unreachable-timeout" in capsys.readouterr().err
    assert clock.monotonic() == 0
