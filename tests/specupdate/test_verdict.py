"""The verdict of `make spec-update`: exit status, step outputs and report, without running make."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.specdiff import diff_specs
from tools.specupdate import SuiteRun, Verdict, _test_environment, main

from .support import SNAPSHOT, SNAPSHOT_BYTES, mutated, new_endpoint, removed_field

PASSED = SuiteRun(passed=True, output="....\n4 passed in 0.10s\n")
FAILED = SuiteRun(passed=False, output="F\nE   assert ```x``` == 1\n1 failed in 0.10s\n")
NO_CHANGES = diff_specs(SNAPSHOT, SNAPSHOT)
ADDITIVE = diff_specs(SNAPSHOT, mutated(new_endpoint))
BREAKING = diff_specs(SNAPSHOT, mutated(removed_field))


@pytest.mark.parametrize(
    ("verdict", "change", "tests", "status"),
    [
        (Verdict(NO_CHANGES, None), "unchanged", "skipped", 0),
        (Verdict(NO_CHANGES, PASSED), "info", "passed", 0),
        (Verdict(ADDITIVE, PASSED), "additive", "passed", 0),
        (Verdict(ADDITIVE, FAILED), "additive", "failed", 3),
        (Verdict(BREAKING, PASSED), "breaking", "passed", 1),
        (Verdict(BREAKING, FAILED), "breaking", "failed", 1),
    ],
)
def test_exit_status_and_outputs(verdict: Verdict, change: str, tests: str, status: int) -> None:
    assert (verdict.change, verdict.tests_outcome, verdict.exit_status) == (change, tests, status)


def test_the_report_quotes_failing_tests_in_a_block_they_cannot_close() -> None:
    report = Verdict(BREAKING, FAILED).to_markdown()
    assert report.startswith("# Spec update: breaking\n\nBreaking changes:")
    assert "### Breaking (13)" in report
    assert "**The tests fail against the regenerated client:** 1 failed in 0.10s." in report
    assert "````text\nF\nE   assert ```x``` == 1\n1 failed in 0.10s\n````" in report


def test_the_text_report_names_the_test_result() -> None:
    assert "Tests: passed (4 passed in 0.10s)." in Verdict(ADDITIVE, PASSED).to_text()
    assert "Tests: not run (the spec is unchanged)." in Verdict(NO_CHANGES, None).to_text()


def test_main_writes_the_report_and_the_step_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unchanged spec: nothing to test, so main runs no subprocess."""
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_bytes(SNAPSHOT_BYTES)
    new.write_bytes(SNAPSHOT_BYTES)
    outputs = tmp_path / "github-output"
    outputs.write_text("earlier=kept\n")
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))

    assert main([str(old), str(new), str(tmp_path / "report.md")]) == 0

    assert "nothing changed" in capsys.readouterr().out
    assert "Not run: the spec is unchanged." in (tmp_path / "report.md").read_text()
    assert outputs.read_text() == "earlier=kept\nchange=unchanged\ntests=skipped\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["only-one"], "usage: python -m tools.specupdate OLD NEW REPORT.md"),
        (["missing.json", "missing.json", "r.md"], "missing.json: cannot read"),
        (["snap.json", "snap.json", "."], "cannot write ."),
    ],
)
def test_bad_input_exits_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    (tmp_path / "snap.json").write_bytes(SNAPSHOT_BYTES)
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_the_tests_run_without_makes_variables_or_pacta_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """make exports its command-line variables; the suite must not see them."""
    monkeypatch.setenv("MAKEFLAGS", r"s -- SPEC_REPORT=/tmp/r.md NOTE=a\ b=c")
    monkeypatch.setenv("MAKELEVEL", "1")
    for name in ("SPEC_REPORT", "NOTE", "PACTA_BASE_URL", "PACTA_API_TOKEN"):
        monkeypatch.setenv(name, "set")
    monkeypatch.setenv("KEPT", "yes")
    env = _test_environment()
    assert env["KEPT"] == "yes"
    left = {"MAKEFLAGS", "MAKELEVEL", "SPEC_REPORT", "NOTE", "PACTA_BASE_URL", "PACTA_API_TOKEN"}
    assert not left & set(env)
