"""The text, Markdown and JSON reports."""

from __future__ import annotations

import json

from tools.specdiff import Change, ChangeKind, SpecDiff

DIFF = SpecDiff(
    (
        Change(ChangeKind.BREAKING, "GET /documents", "operation removed"),
        Change(ChangeKind.ADDITIVE, "GET /templates", "operation added"),
        Change(ChangeKind.INFO, "GET /webhooks", "summary changed"),
    )
)


def test_groups() -> None:
    assert [c.location for c in DIFF.breaking] == ["GET /documents"]
    assert [c.location for c in DIFF.additive] == ["GET /templates"]
    assert [c.location for c in DIFF.info] == ["GET /webhooks"]


def test_text() -> None:
    assert DIFF.to_text() == (
        "1 breaking, 1 additive, 1 info\n"
        "\n"
        "Breaking (1):\n"
        "  GET /documents: operation removed\n"
        "\n"
        "Additive (1):\n"
        "  GET /templates: operation added\n"
        "\n"
        "Info (1):\n"
        "  GET /webhooks: summary changed\n"
    )


def test_markdown_shows_breaking_changes_and_folds_the_rest() -> None:
    assert DIFF.to_markdown() == (
        "## OpenAPI spec changes\n"
        "\n"
        "**Breaking changes: review before merging.** 1 breaking, 1 additive, 1 info\n"
        "\n"
        "### Breaking (1)\n"
        "\n"
        "- `GET /documents`: operation removed\n"
        "\n"
        "<details><summary>Additive (1)</summary>\n"
        "\n"
        "- `GET /templates`: operation added\n"
        "\n"
        "</details>\n"
        "\n"
        "<details><summary>Info (1)</summary>\n"
        "\n"
        "- `GET /webhooks`: summary changed\n"
        "\n"
        "</details>\n"
    )


def test_markdown_without_changes() -> None:
    assert SpecDiff(()).to_markdown() == "## OpenAPI spec changes\n\nNo changes.\n"


def test_json() -> None:
    assert json.loads(DIFF.to_json()) == {
        "breaking": 1,
        "additive": 1,
        "info": 1,
        "changes": [
            {"kind": "breaking", "location": "GET /documents", "message": "operation removed"},
            {"kind": "additive", "location": "GET /templates", "message": "operation added"},
            {"kind": "info", "location": "GET /webhooks", "message": "summary changed"},
        ],
    }
