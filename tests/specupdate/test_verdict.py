"""The verdict of `make spec-update`: exit status, step outputs and report, without running make."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.specdiff import SpecDiff, diff_specs
from tools.specupdate import Check, Verdict, _test_environment, changed_files, main

from .support import SNAPSHOT, mutated, new_endpoint, removed_error_code, removed_field

PASSED = (
    Check("client tests", passed=True, output="....\n4 passed in 0.10s\n"),
    Check("mypy --strict pacta_async", passed=True, output="Success: no issues found\n"),
)
FAILED = (
    Check("client tests", passed=True, output="4 passed in 0.10s\n"),
    Check("reference-server tests", passed=False, output="F\nE   assert ```x``` == 1\n1 failed\n"),
)
NO_CHANGES = diff_specs(SNAPSHOT, SNAPSHOT)
ADDITIVE = diff_specs(SNAPSHOT, mutated(new_endpoint))
BREAKING = diff_specs(SNAPSHOT, mutated(removed_field))
CODE = ("api/documents/probe_document.py",)


def verdict(
    diff: SpecDiff, checks: tuple[Check, ...], *, spec: bool = True, code: tuple[str, ...] = CODE
) -> Verdict:
    return Verdict(diff=diff, spec_changed=spec, code_changed=code, checks=checks)


@pytest.mark.parametrize(
    ("case", "change", "tests", "status"),
    [
        (verdict(NO_CHANGES, (), spec=False, code=()), "unchanged", "skipped", 0),
        (verdict(NO_CHANGES, PASSED, spec=False), "generator", "passed", 0),
        (verdict(NO_CHANGES, PASSED), "info", "passed", 0),
        (verdict(ADDITIVE, PASSED), "additive", "passed", 0),
        (verdict(ADDITIVE, FAILED), "additive", "failed", 3),
        (verdict(BREAKING, PASSED), "breaking", "passed", 1),
        (verdict(BREAKING, FAILED), "breaking", "failed", 1),
    ],
)
def test_exit_status_and_outputs(case: Verdict, change: str, tests: str, status: int) -> None:
    assert (case.change, case.tests_outcome, case.exit_status) == (change, tests, status)


def test_the_report_puts_the_checks_first_and_blames_the_right_area() -> None:
    report = verdict(BREAKING, FAILED).to_markdown()
    assert report.startswith("# Spec update: breaking\n\nBreaking changes: review before merging;")
    assert "these checks fail: reference-server tests" in report
    assert report.index("## Checks") < report.index("## OpenAPI spec changes")
    assert "- ✅ **client tests**: 4 passed in 0.10s" in report
    assert "- ❌ **reference-server tests**: 1 failed" in report
    assert "regenerated client" not in report
    assert "````text\nF\nE   assert ```x``` == 1\n1 failed\n````" in report
    assert "### Breaking (13)" in report


def test_generated_code_that_changed_without_the_spec_is_called_out() -> None:
    report = verdict(NO_CHANGES, PASSED, spec=False).to_markdown()
    assert "The spec did not change, but the generated code did" in report
    assert "## Generated code changed although the spec did not" in report
    assert "`api/documents/probe_document.py`" in report


def test_a_removed_error_code_is_breaking() -> None:
    diff = diff_specs(SNAPSHOT, mutated(removed_error_code))
    assert [c.message for c in diff.breaking] == ["`code` removed: the SDK types errors by it"]


def test_long_lists_are_capped_and_the_body_fits_githubs_limit() -> None:
    diff = diff_specs(SNAPSHOT, mutated(removed_error_code))  # 100+ info changes
    code = tuple(f"models/m{i}.py" for i in range(500))
    huge = Check("client tests", passed=False, output="x" * 200 + "\n" + "E" * 100_000 + "\n")
    report = verdict(diff, (huge,), code=code).to_markdown()
    assert len(report) < 65_536
    assert "… and 440 more files" in report
    assert "more changes are not listed here" in report


def test_the_text_report_names_every_check() -> None:
    text = verdict(ADDITIVE, PASSED).to_text()
    assert "client tests: passed (4 passed in 0.10s)" in text
    assert "mypy --strict pacta_async: passed" in text
    assert "`generated/` is unchanged." in text


def test_changed_files_compares_two_generated_packages(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for folder in (old, new):
        (folder / "api").mkdir(parents=True)
        (folder / "api" / "same.py").write_text("x = 1\n")
    (old / "api" / "gone.py").write_text("")
    (new / "api" / "new.py").write_text("")
    (new / "api" / "same.py").write_text("x = 2\n")
    assert changed_files(old, new) == ("api/gone.py", "api/new.py", "api/same.py")


def test_usage_errors_are_job_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["only-one"]) == 2
    assert (
        "usage: python -m tools.specupdate SPEC_URL REPORT.md [--deadline"
        in capsys.readouterr().err
    )


def test_an_unusable_snapshot_is_a_job_error_and_still_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "openapi.json").write_text("{")
    monkeypatch.chdir(tmp_path)
    outputs = tmp_path / "github-output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    assert main(["http://127.0.0.1:9/api/v1/openapi", "report.md"]) == 2
    assert "the committed snapshot is unusable" in (tmp_path / "report.md").read_text()
    assert outputs.read_text() == "change=error\ntests=skipped\nstatus=2\n"


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
