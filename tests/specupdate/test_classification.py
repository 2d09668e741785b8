"""Each change a live spec could bring is classified as the issue says it must be."""

from __future__ import annotations

import pytest

from tools.specdiff import ChangeKind, diff_specs

from .support import (
    ADDITIVE,
    SNAPSHOT,
    Mutation,
    mutated,
    new_endpoint,
    new_enum_value,
    new_optional_field,
    new_required_parameter,
    parameter_now_required,
    removed_field,
    renamed_operation,
)

CASES = [
    (
        new_optional_field,
        ChangeKind.ADDITIVE,
        "GET /documents/{documentId} → 200 → Document.probeNote: property added (optional)",
    ),
    (new_endpoint, ChangeKind.ADDITIVE, "POST /documents/{documentId}/probe: operation added"),
    (
        new_enum_value,
        ChangeKind.ADDITIVE,
        "GET /documents/{documentId} → 200 → Document.status: enum value `PROBE` added",
    ),
    (
        removed_field,
        ChangeKind.BREAKING,
        "GET /documents/{documentId} → 200 → Document.externalId: property removed",
    ),
    (
        parameter_now_required,
        ChangeKind.BREAKING,
        "GET /documents → query status: parameter now required",
    ),
    (
        new_required_parameter,
        ChangeKind.BREAKING,
        "GET /templates → query probe: parameter added (required)",
    ),
    (
        renamed_operation,
        ChangeKind.BREAKING,
        "POST /documents/{documentId}/send: operationId renamed `send_document` → "
        "`send_document_renamed` (the generated function is renamed)",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "kind", "expected"), CASES, ids=lambda c: getattr(c, "__name__", "")
)
def test_each_change_is_classified(mutation: Mutation, kind: ChangeKind, expected: str) -> None:
    diff = diff_specs(SNAPSHOT, mutated(mutation))
    reported = [f"{change.location}: {change.message}" for change in diff.changes]
    assert expected in reported
    # One verdict per case: an additive case has no breaking change, and vice versa.
    assert {change.kind for change in diff.changes} == {kind}


def test_the_additive_changes_together_are_still_additive() -> None:
    """The end-to-end test regenerates them together, as one spec update."""
    diff = diff_specs(SNAPSHOT, mutated(*ADDITIVE))
    assert not diff.breaking
    assert len(diff.additive) == sum(
        len(diff_specs(SNAPSHOT, mutated(m)).additive) for m in ADDITIVE
    )
