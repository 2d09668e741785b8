"""`python -m tools.specdiff`: exit codes, outputs and input errors."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tools.specdiff import main

Spec = dict[str, Any]


def write(path: Path, spec: Any) -> str:
    path.write_text(json.dumps(spec), encoding="utf-8")
    return str(path)


@pytest.fixture
def old(tmp_path: Path, mini: Spec) -> str:
    return write(tmp_path / "old.json", mini)


def test_no_changes_exits_0(old: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([old, old]) == 0
    assert capsys.readouterr().out == "No changes.\n"


def test_additive_changes_exit_0(
    tmp_path: Path, mini: Spec, old: str, capsys: pytest.CaptureFixture[str]
) -> None:
    new = copy.deepcopy(mini)
    new["components"]["schemas"]["DocumentStatus"]["enum"].append("ARCHIVED")
    assert main([old, write(tmp_path / "new.json", new)]) == 0
    assert "enum value `ARCHIVED` added" in capsys.readouterr().out


def test_breaking_changes_exit_1_and_write_markdown(
    tmp_path: Path, mini: Spec, old: str, capsys: pytest.CaptureFixture[str]
) -> None:
    new = copy.deepcopy(mini)
    del new["paths"]["/documents/{documentId}/send"]
    report = tmp_path / "report.md"
    code = main([old, write(tmp_path / "new.json", new), "--markdown", str(report)])
    assert code == 1
    assert "POST /documents/{documentId}/send: operation removed" in capsys.readouterr().out
    markdown = report.read_text(encoding="utf-8")
    assert markdown.startswith("## OpenAPI spec changes\n")
    assert "- `POST /documents/{documentId}/send`: operation removed" in markdown


def test_json_output(
    tmp_path: Path, mini: Spec, old: str, capsys: pytest.CaptureFixture[str]
) -> None:
    new = copy.deepcopy(mini)
    del new["paths"]["/documents/{documentId}/send"]
    assert main([old, write(tmp_path / "new.json", new), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["breaking"] == 1
    assert report["changes"][0]["location"] == "POST /documents/{documentId}/send"


def test_new_spec_from_stdin(old: str, mini: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(mini)))
    assert main([old, "-"]) == 0


def test_both_from_stdin_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-", "-"]) == 2
    assert "only one of OLD and NEW" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "cannot read"),
        ("openapi: 3.1.0\n", "is not JSON"),
        ('{"swagger": "2.0", "paths": {}}', "new spec: not an OpenAPI 3.x document"),
        ('{"openapi": "3.1.0"}', "new spec: `paths` is missing"),
    ],
)
def test_bad_input_exits_2(
    tmp_path: Path, old: str, content: str | None, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    new = tmp_path / "new.json"
    if content is not None:
        new.write_text(content, encoding="utf-8")
    assert main([old, str(new)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("specdiff: error: ")
    assert error in captured.err


def test_unwritable_markdown_exits_2(tmp_path: Path, old: str) -> None:
    assert main([old, old, "--markdown", str(tmp_path / "no" / "r.md")]) == 2


@pytest.mark.parametrize("argv", [[], ["only-one.json"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: python -m tools.specdiff" in capsys.readouterr().err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "OLD" in capsys.readouterr().out
