"""The spec snapshot and the client generated from it."""

from __future__ import annotations

import importlib
import inspect
import json
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from pacta_api.models import Document, DocumentStatus, RecipientRole

ROOT = Path(__file__).resolve().parents[2]
SPEC = json.loads((ROOT / "generated" / "openapi.json").read_text())

# Every row of the endpoint tables in Pacta's API overview, plus the embed-token
# endpoint from its embedded-signing section and the spec endpoint itself.
OVERVIEW_ENDPOINTS = [
    ("GET", "/documents"),
    ("POST", "/documents"),
    ("GET", "/documents/{id}"),
    ("DELETE", "/documents/{id}"),
    ("POST", "/documents/{id}/send"),
    ("POST", "/documents/{id}/duplicate"),
    ("GET", "/documents/{id}/recipients"),
    ("POST", "/documents/{id}/recipients"),
    ("GET", "/documents/{id}/fields"),
    ("POST", "/documents/{id}/fields"),
    ("GET", "/templates"),
    ("POST", "/templates"),
    ("POST", "/templates/{id}/generate"),
    ("POST", "/templates/{id}/direct-link"),
    ("GET", "/webhooks"),
    ("POST", "/webhooks"),
    ("PATCH", "/webhooks/{id}"),
    ("DELETE", "/webhooks/{id}"),
    ("POST", "/documents/{id}/recipients/{id}/embed-token"),
    ("GET", "/openapi"),
]


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _operation(method: str, path: str) -> dict[str, object]:
    matches = [
        ops[method.lower()]
        for spec_path, ops in SPEC["paths"].items()
        if _shape(spec_path) == _shape(path) and method.lower() in ops
    ]
    assert len(matches) == 1, f"{method} {path} is not in the snapshot exactly once"
    return matches[0]


def test_snapshot_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1")
    validate(SPEC)


@pytest.mark.parametrize(("method", "path"), OVERVIEW_ENDPOINTS)
def test_every_overview_endpoint_has_a_generated_async_function(method: str, path: str) -> None:
    operation = _operation(method, path)
    tag = operation["tags"][0]  # type: ignore[index]
    module = importlib.import_module(f"pacta_api.api.{tag}.{operation['operationId']}")
    assert inspect.iscoroutinefunction(module.asyncio_detailed)
    assert inspect.iscoroutinefunction(module.asyncio)


@pytest.mark.parametrize(("method", "path"), [e for e in OVERVIEW_ENDPOINTS if e[1] != "/openapi"])
def test_every_error_status_carries_the_error_schema(method: str, path: str) -> None:
    responses = _operation(method, path)["responses"]
    for status in ("400", "401", "403", "404", "429", "5XX"):
        ref = responses[status]["$ref"]  # type: ignore[index]
        response = SPEC["components"]["responses"][ref.rsplit("/", 1)[1]]
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}
    rate_limited = SPEC["components"]["responses"]["RateLimited"]
    assert "Retry-After" in rate_limited["headers"]
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
        rate_limited["headers"]
    )


def test_api_key_security_scheme_in_authorization_header() -> None:
    assert SPEC["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": SPEC["components"]["securitySchemes"]["apiKey"]["description"],
    }
    assert SPEC["security"] == [{"apiKey": []}]
    assert _operation("GET", "/openapi")["security"] == []


def test_upload_is_multipart_with_a_binary_file() -> None:
    body = _operation("POST", "/documents")["requestBody"]["content"]  # type: ignore[index]
    schema = SPEC["components"]["schemas"]["CreateDocumentRequest"]
    assert "multipart/form-data" in body
    assert schema["properties"]["file"] == {**schema["properties"]["file"], "format": "binary"}


def test_examples_from_the_overview() -> None:
    create = _operation("POST", "/documents")["responses"]["201"]  # type: ignore[index]
    example = create["content"]["application/json"]["examples"]["example"]["value"]
    assert (example["id"], example["status"]) == (42, "DRAFT")
    send = _operation("POST", "/documents/{id}/send")["responses"]["200"]  # type: ignore[index]
    sent = send["content"]["application/json"]["examples"]["example"]["value"]
    assert sent["status"] == "PENDING"


def _document(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "id": 42,
        "title": "Q4 vendor agreement",
        "status": "DRAFT",
        "externalId": None,
        "teamId": 7,
        "createdAt": "2026-05-12T09:30:00.000Z",
        "updatedAt": "2026-05-12T09:30:00.000Z",
        "completedAt": None,
        "recipients": [],
    }
    document.update(changes)
    return document


def test_generated_models_keep_unknown_enum_values_and_fields() -> None:
    document = Document.from_dict(_document(status="SOME_FUTURE_STATUS", someFutureField={"id": 3}))
    assert document.status == "SOME_FUTURE_STATUS"
    assert isinstance(document.status, DocumentStatus)
    assert document.additional_properties == {"someFutureField": {"id": 3}}
    assert document.to_dict()["status"] == "SOME_FUTURE_STATUS"
    assert RecipientRole("SIGNER") is RecipientRole.SIGNER  # known values stay members


def test_the_snapshot_says_what_the_contract_says() -> None:
    """Error.details always present; proxies' non-JSON 5xx; the headers as described."""
    components = SPEC["components"]
    assert components["schemas"]["Error"]["required"] == ["code", "message", "details"]
    assert "text/html" in components["responses"]["ServerError"]["content"]
    headers = components["headers"]
    assert headers["Retry-After"]["required"] is True
    assert {"type": "integer", "minimum": 1} in headers["Retry-After"]["schema"]["anyOf"]
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert headers[name]["required"] is True
    assert "Retry-After" in components["responses"]["RateLimited"]["headers"]


def test_the_download_endpoint_is_in_the_snapshot() -> None:
    operation = SPEC["paths"]["/documents/{documentId}/download"]["get"]
    assert operation["operationId"] == "download_document"
    (original,) = operation["parameters"]
    assert (original["name"], original["schema"]) == (
        "original",
        {"type": "boolean", "default": False},
    )
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/DocumentDownload"}
    assert "400" in operation["responses"]


@pytest.mark.parametrize(
    ("path", "names"),
    [("/documents", {"page", "perPage", "status"}), ("/templates", {"page", "perPage"})],
)
def test_the_pagers_hand_built_queries_are_the_specs(path: str, names: set[str]) -> None:
    """`iter()` requests its pages itself (to build models lazily): a rename fails here."""
    operation = _operation("GET", path)
    query = {p["name"] for p in operation["parameters"] if p["in"] == "query"}  # type: ignore[attr-defined]
    assert names <= query
