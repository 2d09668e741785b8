"""Issue 8's cases, on modified copies of the project's snapshot (generated/openapi.json)."""

from __future__ import annotations

import copy
from typing import Any

from tools.specdiff import ChangeKind, diff_specs

Spec = dict[str, Any]


def kinds(old: Spec, new: Spec) -> set[ChangeKind]:
    return {change.kind for change in diff_specs(old, new).changes}


def found(old: Spec, new: Spec, kind: ChangeKind, location: str, message: str) -> bool:
    return any(
        c.kind is kind and c.location == location and c.message == message
        for c in diff_specs(old, new).changes
    )


def test_snapshot_against_itself(snapshot: Spec) -> None:
    assert diff_specs(snapshot, copy.deepcopy(snapshot)).changes == ()


def test_new_optional_field(snapshot: Spec) -> None:
    new = copy.deepcopy(snapshot)
    new["components"]["schemas"]["Document"]["properties"]["pageCount"] = {"type": "integer"}
    assert kinds(snapshot, new) == {ChangeKind.ADDITIVE}
    assert found(
        snapshot,
        new,
        ChangeKind.ADDITIVE,
        "GET /documents/{documentId} → 200 → Document.pageCount",
        "property added (optional)",
    )


def test_new_endpoint(snapshot: Spec) -> None:
    new = copy.deepcopy(snapshot)
    get_webhook = copy.deepcopy(new["paths"]["/webhooks/{webhookId}"]["patch"])
    get_webhook["operationId"] = "get_webhook"
    del get_webhook["requestBody"]
    new["paths"]["/webhooks/{webhookId}"]["get"] = get_webhook
    assert [(c.kind, c.location, c.message) for c in diff_specs(snapshot, new).changes] == [
        (ChangeKind.ADDITIVE, "GET /webhooks/{webhookId}", "operation added")
    ]


def test_new_enum_value(snapshot: Spec) -> None:
    new = copy.deepcopy(snapshot)
    new["components"]["schemas"]["DocumentStatus"]["enum"].append("ARCHIVED")
    assert kinds(snapshot, new) == {ChangeKind.ADDITIVE}
    assert found(
        snapshot,
        new,
        ChangeKind.ADDITIVE,
        "GET /documents → query status → DocumentStatus",
        "enum value `ARCHIVED` added",
    )


def test_removed_field(snapshot: Spec) -> None:
    new = copy.deepcopy(snapshot)
    recipient = new["components"]["schemas"]["Recipient"]
    del recipient["properties"]["email"]
    recipient["required"].remove("email")
    assert found(
        snapshot,
        new,
        ChangeKind.BREAKING,
        "GET /documents/{documentId} → 200 → Document.recipients[].email",
        "property removed",
    )


def test_newly_required_parameter(snapshot: Spec) -> None:
    new = copy.deepcopy(snapshot)
    per_page = next(
        p for p in new["paths"]["/documents"]["get"]["parameters"] if p["name"] == "perPage"
    )
    per_page["required"] = True
    diff = diff_specs(snapshot, new)
    assert [(c.location, c.message) for c in diff.breaking] == [
        ("GET /documents → query perPage", "parameter now required")
    ]


def test_renamed_operation(snapshot: Spec) -> None:
    new = copy.deepcopy(snapshot)
    new["paths"]["/documents/{documentId}/send"]["post"]["operationId"] = "send"
    diff = diff_specs(snapshot, new)
    assert [(c.location, c.message) for c in diff.breaking] == [
        (
            "POST /documents/{documentId}/send",
            "operationId renamed `send_document` → `send` (the generated function is renamed)",
        )
    ]
