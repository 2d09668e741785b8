"""The spec snapshot, fuzzed against the served reference server with schemathesis.

Every built-in check runs, except that schema-valid data may be refused for the
business rules a schema cannot express (a SIGNER without a SIGNATURE field, a page
the PDF lacks, a document no longer in DRAFT, ...): `business_rules_only` allows
exactly those refusals and no other 400.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from pacta_async.testing import Limits, ReferenceServer, make_pdf
from pacta_async.testing._spec import spec_bytes

pytestmark = pytest.mark.slow  # fuzzes every operation over loopback

SERVER = ReferenceServer(limits=Limits(general=1_000_000, send=1_000_000))
TOKEN = SERVER.create_token(SERVER.create_team())
# Authenticated the schemathesis way, so that cases meant to lack the token do.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {"auth": {"openapi": {"apiKey": {"api_key": TOKEN}}}}
)
schema = schemathesis.openapi.from_dict(json.loads(spec_bytes()), config=CONFIG)

# Fields whose valid values still depend on stored state, or on deliveries being HTTP.
_BUSINESS_FIELDS = re.compile(r"page|recipientId|recipients\[\d+\](\.id)?|webhookUrl")


def prepare_upload(case: Any) -> None:
    """Give schema-valid uploads a real PDF and recipients as `recipients[i][key]` parts.

    The snapshot asks for deepObject parts, which schemathesis sends as one JSON part.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if case.media_type != "multipart/form-data" or not isinstance(case.body, dict):
        return
    case.body["file"] = make_pdf()
    for index, recipient in enumerate(case.body.pop("recipients", [])):
        for key, value in recipient.items():
            case.body[f"recipients[{index}][{key}]"] = str(value)


def business_rules_only(ctx: Any, response: Any, case: Any) -> None:
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code != 400:
        return
    error = json.loads(response.content)
    if error["code"] == "INVALID_DOCUMENT_STATUS":
        return
    field = (error.get("details") or {}).get("field", "")
    assert error["code"] == "VALIDATION_ERROR"
    assert _BUSINESS_FIELDS.fullmatch(field), f"schema-valid data refused: {error}"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with SERVER.serve_in_thread() as url:
        yield url


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_server_conforms_to_the_snapshot(case: Any, base_url: str) -> None:
    prepare_upload(case)
    case.call_and_validate(
        base_url=base_url,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[business_rules_only],
    )
