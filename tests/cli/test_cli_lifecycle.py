"""The command line in real use: interrupted, pointed at the wrong server, missing extras."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

import pacta_async
from pacta_async._cli import main
from pacta_async.testing import Faults, ReferenceServer

RUN_CLI = "import sys; from pacta_async._cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """Accepts connections and never answers: a command waits on it until interrupted."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.settimeout(60)
        yield sock


def start_cli(args: list[str], port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PACTA_API_TOKEN": "api_test_0123456789abcdef",
        "PACTA_BASE_URL": f"http://127.0.0.1:{port}",
    }
    return subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
@pytest.mark.parametrize(
    ("args", "message", "statuses"),
    [
        (["documents", "list"], "interrupted; nothing was listed", (130, 130)),
        (
            ["batch", "send", "1", "2"],
            "interrupted; without --journal, a rerun checks Pacta first",
            (130, 143),  # a batch tells a stop request from Ctrl-C
        ),
    ],
    ids=["documents list", "batch send"],
)
def test_an_interrupted_command_ends_with_a_message_not_a_traceback(
    silent_server: socket.socket, signum: int, args: list[str], message: str,
    statuses: tuple[int, int],
) -> None:  # fmt: skip
    process = start_cli(args, silent_server.getsockname()[1])
    connection, _ = silent_server.accept()  # the command is now waiting for an answer
    with connection:
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
    assert process.returncode == statuses[signum == signal.SIGTERM], err
    assert message in err
    assert "Traceback" not in err


def test_a_login_page_instead_of_the_api_is_one_line_and_status_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ReferenceServer(faults=[Faults(login_page_rate=1.0)])
    monkeypatch.setenv("PACTA_API_TOKEN", server.create_token(server.create_team()))
    with server.serve_in_thread() as base_url:
        monkeypatch.setenv("PACTA_BASE_URL", base_url)
        assert main(["documents", "list"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "HTTP 200 answer to GET /api/v1/documents is not a valid DocumentList: not JSON" in err
    assert "Is the base URL Pacta's API?" in err


HIDE_UVICORN = "import sys; sys.modules['uvicorn'] = None; "


def test_the_testing_package_names_the_missing_extra() -> None:
    result = subprocess.run(
        [sys.executable, "-c", HIDE_UVICORN + "import pacta_async.testing"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "needs the 'server' extra" in result.stderr
    assert "pip install 'pacta-async[server]'" in result.stderr


def test_the_reference_server_script_names_the_missing_extra_in_one_line() -> None:
    code = HIDE_UVICORN + "from pacta_async._cli._reference_server import main; sys.exit(main())"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "pacta-async: error: pacta_async.testing (the reference server) needs the 'server' "
        "extra, and uvicorn is not installed: pip install 'pacta-async[server]'"
    ]


def test_the_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"pacta-async {pacta_async.__version__}"
