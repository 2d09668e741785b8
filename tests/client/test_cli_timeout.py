"""`--timeout` on the command line: each API call's total budget."""

from __future__ import annotations

import time

import pytest

from pacta_async._cli import main
from pacta_async.testing import Faults, Limits, ReferenceServer


def test_documents_list_gives_up_after_its_total_timeout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every answer takes 0.4 s and one in two is a proxy's 502: retries would take
    # about a second; the budget is 0.3 s, whichever attempt it runs out in.
    server = ReferenceServer(
        limits=Limits(general=100_000, send=100_000),
        faults=[Faults(latency=0.4), Faults(error_rate=0.5, error_statuses=(502,))],
    )
    token = server.create_token(server.create_team())
    with server.serve_in_thread() as base_url:
        monkeypatch.setenv("PACTA_API_TOKEN", token)
        monkeypatch.setenv("PACTA_BASE_URL", base_url)
        started = time.monotonic()
        assert main(["documents", "list", "--timeout", "0.3"]) == 1
        elapsed = time.monotonic() - started
    assert "total timeout of 0.3 s" in capsys.readouterr().err
    assert elapsed < 2


def test_the_timeout_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["documents", "list", "--timeout", "0"]) == 2
    assert "positive number of seconds" in capsys.readouterr().err
