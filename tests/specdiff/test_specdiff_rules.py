"""Classification rules, on a small hand-written spec (tests/specdiff/pacta_mini.json)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tools.specdiff import ChangeKind, InvalidSpecError, diff_specs
from tools.specpull import SpecError

Spec = dict[str, Any]

GET_DOC = "GET /documents/{documentId} → 200"
CREATE_BODY = "POST /documents → body multipart/form-data"
SEND_BODY = "POST /documents/{documentId}/send → body"
WEBHOOK = "webhook POST DOCUMENT_COMPLETED"


def changes(old: Spec, new: Spec) -> set[tuple[str, str, str]]:
    return {(c.kind.value, c.location, c.message) for c in diff_specs(old, new).changes}


def breaking(old: Spec, new: Spec) -> set[tuple[str, str]]:
    return {(c.location, c.message) for c in diff_specs(old, new).breaking}


def schemas(spec: Spec) -> dict[str, Any]:
    result: dict[str, Any] = spec["components"]["schemas"]
    return result


def test_identical_specs_have_no_changes(mini: Spec) -> None:
    diff = diff_specs(mini, copy.deepcopy(mini))
    assert diff.changes == ()
    assert diff.to_text() == "No changes.\n"


def test_key_order_does_not_matter(mini: Spec) -> None:
    def reversed_keys(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: reversed_keys(node[k]) for k in reversed(node)}
        if isinstance(node, list):
            return [reversed_keys(item) for item in node]
        return node

    def reversed_except_properties(node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            keys = list(node) if key == "properties" else list(reversed(node))
            return {k: reversed_except_properties(node[k], k) for k in keys}
        if isinstance(node, list):
            return [reversed_except_properties(item) for item in node]
        return node

    assert diff_specs(mini, reversed_except_properties(mini)).changes == ()
    # Property order is the generated constructors' argument order.
    reordered = diff_specs(mini, reversed_keys(mini)).changes
    assert reordered
    assert {(c.kind.value, c.location.split(".")[0]) for c in reordered} == {
        ("breaking", "components")
    }
    assert all("constructor arguments reordered" in c.message for c in reordered)


# Additive


def test_new_optional_response_field_is_additive(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["Document"]["properties"]["pageCount"] = {"type": "integer"}
    found = changes(mini, new)
    assert ("additive", f"{GET_DOC} → Document.pageCount", "property added (optional)") in found
    webhook = f"{WEBHOOK} → body → WebhookDelivery.payload.pageCount"
    assert ("additive", webhook, "property added (optional)") in found
    assert not breaking(mini, new)


def test_new_required_response_field_is_additive(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["Document"]["properties"]["pageCount"] = {"type": "integer"}
    schemas(new)["Document"]["required"].append("pageCount")
    assert ("additive", f"{GET_DOC} → Document.pageCount", "property added (required)") in changes(
        mini, new
    )
    assert not breaking(mini, new)


def test_new_endpoint_is_additive(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    new["paths"]["/documents/{documentId}/duplicate"] = {
        "post": {
            "operationId": "duplicate_document",
            "parameters": [{"name": "documentId", "in": "path", "required": True}],
            "responses": {"201": {"description": "The copy."}},
        }
    }
    assert changes(mini, new) == {
        ("additive", "POST /documents/{documentId}/duplicate", "operation added")
    }


def test_new_enum_value_is_additive_everywhere(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["DocumentStatus"]["enum"].append("ARCHIVED")
    found = changes(mini, new)
    added = "enum value `ARCHIVED` added"
    assert ("additive", "GET /documents → query status → DocumentStatus", added) in found
    assert ("additive", f"{GET_DOC} → Document.status", added) in found
    assert {kind for kind, _, _ in found} == {"additive"}


def test_new_optional_parameter_is_additive(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    new["paths"]["/documents"]["get"]["parameters"].append(
        {"name": "externalId", "in": "query", "schema": {"type": "string"}}
    )
    assert changes(mini, new) == {
        ("additive", "GET /documents → query externalId", "parameter added (optional)")
    }


def test_new_optional_request_field_is_additive(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["SendDocumentRequest"]["properties"]["message"] = {"type": "string"}
    assert changes(mini, new) == {
        ("additive", f"{SEND_BODY} → SendDocumentRequest.message", "property added (optional)")
    }


def test_new_response_status_is_additive(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    new["paths"]["/documents/{documentId}"]["get"]["responses"]["429"] = {"description": "Slow."}
    assert changes(mini, new) == {
        ("additive", "GET /documents/{documentId} → 429", "response added")
    }


# Breaking


def test_removed_response_field_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    del schemas(new)["Recipient"]["properties"]["email"]
    found = breaking(mini, new)
    assert (f"{GET_DOC} → Document.recipients[].email", "property removed") in found
    assert (
        "GET /documents → 200 → DocumentList.documents[].recipients[].email",
        "property removed",
    ) in found


def test_removed_operation_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    del new["paths"]["/documents/{documentId}/send"]
    assert changes(mini, new) == {
        ("breaking", "POST /documents/{documentId}/send", "operation removed")
    }


def test_newly_required_parameter_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    new["paths"]["/documents"]["get"]["parameters"][1]["required"] = True
    assert changes(mini, new) == {
        ("breaking", "GET /documents → query perPage", "parameter now required")
    }


def test_new_required_parameter_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    new["paths"]["/documents"]["get"]["parameters"].append(
        {"name": "teamId", "in": "query", "required": True, "schema": {"type": "integer"}}
    )
    assert breaking(mini, new) == {("GET /documents → query teamId", "parameter added (required)")}


def test_removed_parameter_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    del new["paths"]["/documents"]["get"]["parameters"][2]
    assert breaking(mini, new) == {("GET /documents → query status", "parameter removed")}


def test_renamed_operation_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    new["paths"]["/documents/{documentId}"]["get"]["operationId"] = "fetch_document"
    assert changes(mini, new) == {
        (
            "breaking",
            "GET /documents/{documentId}",
            "operationId renamed `get_document` → `fetch_document` (the generated function is renamed)",  # noqa: E501
        )
    }


def test_changed_tag_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    new["paths"]["/documents/{documentId}"]["get"]["tags"] = ["docs"]
    assert breaking(mini, new) == {
        (
            "GET /documents/{documentId}",
            "tag changed `documents` → `docs` (the generated function moves)",
        )
    }


def test_renamed_path_parameter_is_the_same_operation(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    item = new["paths"].pop("/documents/{documentId}")
    item["parameters"][0]["name"] = "id"
    new["paths"]["/documents/{id}"] = item
    assert breaking(mini, new) == {
        ("GET /documents/{id} → path documentId", "parameter removed"),
        ("GET /documents/{id} → path id", "parameter added (required)"),
    }


def test_new_required_request_field_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["SendDocumentRequest"]["properties"]["message"] = {"type": "string"}
    schemas(new)["SendDocumentRequest"]["required"] = ["message"]
    assert changes(mini, new) == {
        ("breaking", f"{SEND_BODY} → SendDocumentRequest.message", "property added (required)")
    }


def test_request_field_becoming_required_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["CreateDocumentRequest"]["required"].append("externalId")
    assert changes(mini, new) == {
        ("breaking", f"{CREATE_BODY} → CreateDocumentRequest.externalId", "property now required")
    }


def test_request_body_becoming_required_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    new["paths"]["/documents/{documentId}/send"]["post"]["requestBody"]["required"] = True
    assert changes(mini, new) == {("breaking", SEND_BODY, "request body now required")}


def test_removed_request_media_type_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    content = new["paths"]["/documents"]["post"]["requestBody"]["content"]
    content["application/json"] = content.pop("multipart/form-data")
    assert changes(mini, new) == {
        ("breaking", "POST /documents → body", "media type `multipart/form-data` removed"),
        ("additive", "POST /documents → body", "media type `application/json` added"),
    }


def test_response_field_becoming_optional_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["Document"]["required"].remove("title")
    assert (f"{GET_DOC} → Document.title", "property no longer required") in breaking(mini, new)


def test_removed_success_status_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    responses = new["paths"]["/documents"]["post"]["responses"]
    responses["200"] = responses.pop("201")
    assert changes(mini, new) == {
        ("breaking", "POST /documents → 201", "success response removed"),
        ("additive", "POST /documents → 200", "response added"),
    }


def test_removed_error_status_is_info(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    del new["paths"]["/documents/{documentId}"]["get"]["responses"]["404"]
    assert changes(mini, new) == {("info", "GET /documents/{documentId} → 404", "response removed")}


def test_changes_inside_error_bodies_are_info(mini: Spec) -> None:
    old = copy.deepcopy(mini)
    schemas(old)["Error"]["properties"]["hint"] = {"type": "string"}
    found = changes(old, mini)
    assert ("info", "GET /documents → 401 → Error.hint", "property removed") in found
    assert {kind for kind, _, _ in found} == {"info"}


def test_the_error_fields_the_sdk_reads_are_breaking_to_lose(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    del schemas(new)["Error"]["properties"]["details"]
    found = changes(mini, new)
    assert ("info", "GET /documents → 401 → Error.details", "property removed") in found
    assert {c for c in found if c[0] == "breaking"} == {
        ("breaking", "components.schemas.Error", "`details` removed: the SDK types errors by it")
    }


def test_a_moved_server_is_breaking(mini: Spec) -> None:
    old = copy.deepcopy(mini)
    old["servers"] = [{"url": "https://sign.pacta.ink/api/v1"}]
    new = copy.deepcopy(old)
    new["servers"] = [{"url": "https://sign.pacta.ink/api/v2"}]
    assert (
        "breaking",
        "servers",
        "server `https://sign.pacta.ink/api/v1` removed or moved",
    ) in changes(old, new)


# Types, in what the client sends and what it receives


def test_narrowed_request_type_is_breaking(mini: Spec) -> None:
    old = copy.deepcopy(mini)
    old["paths"]["/documents"]["get"]["parameters"][0]["schema"]["type"] = "number"
    assert changes(old, mini) == {
        ("breaking", "GET /documents → query page", "type changed `number` → `integer`")
    }


def test_widened_request_type_is_additive(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    new["paths"]["/documents"]["get"]["parameters"][0]["schema"]["type"] = "number"
    assert changes(mini, new) == {
        ("additive", "GET /documents → query page", "type changed `integer` → `number`")
    }


def test_widened_response_type_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["Document"]["properties"]["id"]["type"] = "number"
    assert (f"{GET_DOC} → Document.id", "type changed `integer` → `number`") in breaking(mini, new)


def test_narrowed_response_type_is_info(mini: Spec) -> None:
    old = copy.deepcopy(mini)
    schemas(old)["Document"]["properties"]["id"]["type"] = "number"
    found = changes(old, mini)
    assert ("info", f"{GET_DOC} → Document.id", "type changed `number` → `integer`") in found
    assert not breaking(old, mini)


def test_unrelated_type_change_is_breaking_both_ways(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["Document"]["properties"]["title"] = {"type": "integer"}
    schemas(new)["CreateDocumentRequest"]["properties"]["title"] = {"type": "integer"}
    found = breaking(mini, new)
    assert (f"{GET_DOC} → Document.title", "type changed `string` → `integer`") in found
    assert (
        f"{CREATE_BODY} → CreateDocumentRequest.title",
        "type changed `string` → `integer`",
    ) in found


def test_string_becoming_enum_is_breaking_in_a_request(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["CreateDocumentRequest"]["properties"]["externalId"]["enum"] = ["A", "B"]
    assert changes(mini, new) == {
        (
            "breaking",
            f"{CREATE_BODY} → CreateDocumentRequest.externalId",
            "now limited to `A`, `B`",
        )
    }


def test_removed_union_type_in_a_request_is_breaking(mini: Spec) -> None:
    old = copy.deepcopy(mini)
    schemas(old)["RecipientInput"]["properties"]["signingOrder"] = {
        "anyOf": [{"type": "integer"}, {"type": "string"}]
    }
    assert (
        f"{CREATE_BODY} → CreateDocumentRequest.recipients[].signingOrder",
        "type `string` removed",
    ) in breaking(old, mini)


def test_new_union_type_in_a_response_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["Recipient"]["properties"]["signingOrder"]["anyOf"].insert(1, {"type": "string"})
    assert (
        f"{GET_DOC} → Document.recipients[].signingOrder",
        "type `string` added",
    ) in breaking(mini, new)


def test_response_field_becoming_nullable_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["Document"]["properties"]["title"]["type"] = ["string", "null"]
    assert (f"{GET_DOC} → Document.title", "now nullable") in breaking(mini, new)


def test_response_field_losing_null_is_info(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["Document"]["properties"]["externalId"] = {"type": "string"}
    assert ("info", f"{GET_DOC} → Document.externalId", "no longer nullable") in changes(mini, new)
    assert not breaking(mini, new)


def test_request_field_losing_null_is_breaking(mini: Spec) -> None:
    old = copy.deepcopy(mini)
    schemas(old)["CreateDocumentRequest"]["properties"]["externalId"]["type"] = ["string", "null"]
    assert breaking(old, mini) == {
        (f"{CREATE_BODY} → CreateDocumentRequest.externalId", "no longer nullable")
    }


def test_openapi_30_nullable_is_understood(mini: Spec) -> None:
    old = copy.deepcopy(mini)
    new = copy.deepcopy(mini)
    old["openapi"] = new["openapi"] = "3.0.3"
    schemas(old)["Document"]["properties"]["externalId"] = {"type": "string", "nullable": True}
    schemas(new)["Document"]["properties"]["externalId"] = {"type": "string"}
    assert ("info", f"{GET_DOC} → Document.externalId", "no longer nullable") in changes(old, new)


def test_removed_enum_value_in_a_request_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["RecipientRole"]["enum"].remove("ASSISTANT")
    found = breaking(mini, new)
    removed = "enum value `ASSISTANT` removed"
    assert (f"{CREATE_BODY} → CreateDocumentRequest.recipients[].role", removed) in found
    # In a response too: the generated enum member goes, and code naming it fails.
    assert (f"{GET_DOC} → Document.recipients[].role", removed) in found


def test_format_that_changes_the_python_type_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["Document"]["properties"]["createdAt"]["format"] = "date"
    assert (
        f"{GET_DOC} → Document.createdAt",
        "`format` `date-time` → `date` (the generated type changes)",
    ) in breaking(mini, new)


def test_constraints_count_in_requests_only(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["CreateDocumentRequest"]["properties"]["title"]["maxLength"] = 100
    new["paths"]["/documents"]["get"]["parameters"][1]["schema"]["maximum"] = 500
    schemas(new)["Document"]["properties"]["title"]["maxLength"] = 100
    found = changes(mini, new)
    title = "CreateDocumentRequest.title"
    assert ("breaking", f"{CREATE_BODY} → {title}", "`maxLength` `255` → `100`") in found
    assert ("additive", "GET /documents → query perPage", "`maximum` `100` → `500`") in found
    assert ("info", f"{GET_DOC} → Document.title", "`maxLength` none → `100`") in found
    assert sorted(kind for kind, _, _ in found) == ["additive", "breaking"] + ["info"] * 5


def test_read_only_fields_are_not_sent(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    request = schemas(new)["CreateDocumentRequest"]
    request["properties"]["id"] = {"type": "integer", "readOnly": True}
    request["required"].append("id")
    assert changes(mini, new) == set()


def test_all_of_is_compared_as_its_composition(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    document = schemas(new)["Document"]
    base = {
        "type": "object",
        "required": ["id"],
        "properties": {"id": document["properties"]["id"]},
    }
    del document["properties"]["id"]
    document["required"].remove("id")
    schemas(new)["Document"] = {"allOf": [{"$ref": "#/components/schemas/Entity"}, document]}
    schemas(new)["Entity"] = base
    assert changes(mini, new) == {("additive", "components.schemas.Entity", "schema added")}


# Auth


def test_changed_auth_scheme_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    new["components"]["securitySchemes"]["apiKey"] = {"type": "http", "scheme": "bearer"}
    assert (
        "components.securitySchemes.apiKey",
        "changed: apiKey in header `Authorization` → http `bearer`",
    ) in breaking(mini, new)


def test_replaced_auth_requirement_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    new["components"]["securitySchemes"]["bearer"] = {"type": "http", "scheme": "bearer"}
    new["security"] = [{"bearer": []}]
    assert changes(mini, new) == {
        ("breaking", "security", "security changed: `apiKey` → `bearer`"),
        ("additive", "components.securitySchemes.bearer", "security scheme added"),
    }


def test_extra_auth_alternative_is_additive(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    new["components"]["securitySchemes"]["bearer"] = {"type": "http", "scheme": "bearer"}
    new["security"] = [{"apiKey": []}, {"bearer": []}]
    assert not breaking(mini, new)
    assert ("additive", "security", "security changed: `apiKey` → `apiKey` or `bearer`") in changes(
        mini, new
    )


def test_operation_level_auth_override(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    new["components"]["securitySchemes"]["oauth"] = {"type": "oauth2", "flows": {}}
    new["paths"]["/documents"]["get"]["security"] = [{"oauth": ["read"]}]
    new["paths"]["/documents/{documentId}"]["get"]["security"] = []
    found = changes(mini, new)
    assert (
        "breaking",
        "GET /documents → security",
        "security changed: `apiKey` → `oauth` [read]",
    ) in found
    assert (
        "additive",
        "GET /documents/{documentId} → security",
        "security changed: `apiKey` → no auth",
    ) in found


# Webhooks: Pacta sends them, the client receives


def test_webhook_changes_follow_the_receiving_rules(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    delivery = schemas(new)["WebhookDelivery"]
    del delivery["properties"]["createdAt"]
    delivery["properties"]["event"]["enum"].append("DOCUMENT_SIGNED")
    new["webhooks"]["DOCUMENT_SIGNED"] = new["webhooks"]["DOCUMENT_COMPLETED"]
    assert changes(mini, new) == {
        ("breaking", f"{WEBHOOK} → body → WebhookDelivery.createdAt", "property removed"),
        (
            "additive",
            f"{WEBHOOK} → body → WebhookDelivery.event",
            "enum value `DOCUMENT_SIGNED` added",
        ),
        ("additive", "webhook POST DOCUMENT_SIGNED", "webhook added"),
    }


def test_removed_webhook_header_is_breaking(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    del new["webhooks"]["DOCUMENT_COMPLETED"]["post"]["parameters"]
    assert breaking(mini, new) == {(f"{WEBHOOK} → header X-Pacta-Secret", "parameter removed")}


# Docs


def test_docs_are_info_and_reported_where_written(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["Document"]["properties"]["title"]["description"] = "The document's title."
    new["paths"]["/documents"]["get"]["summary"] = "List documents"
    new["paths"]["/documents/{documentId}"]["parameters"][0]["description"] = "Its id."
    new["paths"]["/documents/{documentId}/send"]["post"]["deprecated"] = True
    assert changes(mini, new) == {
        ("info", "components.schemas.Document.title", "description changed"),
        ("info", "GET /documents", "summary changed"),
        ("info", "GET /documents/{documentId} → path documentId", "description changed"),
        ("info", "POST /documents/{documentId}/send", "deprecated"),
    }


# $ref cycles


def _make_recursive(spec: Spec) -> None:
    """Recipient.document → Document, whose recipients are Recipients again."""
    recipient = schemas(spec)["Recipient"]
    recipient["properties"]["document"] = {"$ref": "#/components/schemas/Document"}
    schemas(spec)["Document"]["properties"]["parent"] = {
        "anyOf": [{"$ref": "#/components/schemas/Document"}, {"type": "null"}]
    }


def test_ref_cycles_terminate_and_identical_cycles_have_no_changes(mini: Spec) -> None:
    _make_recursive(mini)
    assert diff_specs(mini, copy.deepcopy(mini)).changes == ()


def test_change_inside_a_cycle_is_reported_at_its_shortest_path(mini: Spec) -> None:
    _make_recursive(mini)
    new = copy.deepcopy(mini)
    del schemas(new)["Document"]["properties"]["title"]
    found = breaking(mini, new)
    assert (f"{GET_DOC} → Document.title", "property removed") in found
    assert not any("parent" in location or ".document." in location for location, _ in found)


def test_self_containing_union_terminates(mini: Spec) -> None:
    schemas(mini)["Node"] = {
        "anyOf": [
            {"type": "string"},
            {"$ref": "#/components/schemas/Node"},
            {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        ]
    }
    schemas(mini)["Document"]["properties"]["tree"] = {"$ref": "#/components/schemas/Node"}
    new = copy.deepcopy(mini)
    schemas(new)["Node"]["anyOf"].append({"type": "integer"})
    found = changes(mini, new)
    assert ("breaking", f"{GET_DOC} → Document.tree", "type `integer` added") in found
    assert ("breaking", f"{GET_DOC} → Document.tree<array>[]", "type `integer` added") in found


# Invalid input


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], None),
        ({"swagger": "2.0", "paths": {}}, "openapi"),
        ({"openapi": "3.1.0"}, "paths"),
    ],
)
def test_not_an_openapi_3_document(mini: Spec, document: Any, field: str | None) -> None:
    with pytest.raises(InvalidSpecError) as caught:
        diff_specs(mini, document)
    assert isinstance(caught.value, SpecError)
    assert caught.value.field == field
    assert str(caught.value).startswith("new spec: ")


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("#/components/schemas/Nowhere", "leads nowhere"),
        ("other.json#/Document", "only local"),
        ("#/components/schemas/Loop", "loop"),
    ],
)
def test_bad_refs(mini: Spec, ref: str, message: str) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["Loop"] = {"$ref": "#/components/schemas/Loop"}
    schemas(new)["Document"]["properties"]["title"] = {"$ref": ref}
    with pytest.raises(InvalidSpecError, match=message):
        diff_specs(mini, new)


def test_kinds_are_ordered_breaking_first(mini: Spec) -> None:
    new = copy.deepcopy(mini)
    schemas(new)["DocumentStatus"]["enum"] = ["DRAFT", "PENDING", "COMPLETED", "ARCHIVED"]
    new["paths"]["/documents"]["get"]["summary"] = "List"
    kinds = [c.kind for c in diff_specs(mini, new).changes]
    assert kinds == sorted(kinds, key=list(ChangeKind).index)
    assert set(kinds) == set(ChangeKind)
