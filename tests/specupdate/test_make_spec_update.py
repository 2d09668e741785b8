"""`make spec-update` end to end, in scratch projects, against a loopback spec server.

The cases that need the wrapper run in a real clone (`pacta_async/` and `tools/`
copied): the suite and mypy import the copy's wrapper against the new client, as in CI.
The additive case also calls the new endpoint through the public API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .support import (
    ADDITIVE,
    ROOT,
    SNAPSHOT_BYTES,
    SpecServer,
    dangling_ref,
    dangling_webhook_ref,
    duplicate_operation_id,
    make_spec_update,
    mutated,
    new_pdf_endpoint,
    project_copy,
    removed_endpoint,
    renamed_operation,
    reordered_keys,
    spec_bytes,
    step_outputs,
    tree,
)

pytestmark = pytest.mark.slow  # each case regenerates a project and runs its suite

CLIENT_UNDER_TEST = """\
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import pacta_api
import pacta_async
from pacta_api.api.documents import probe_document
from pacta_api.models import Document, DocumentStatus

from pacta_async import NotFoundError, PactaClient, TokenBucketLimiter
from pacta_async.testing import FakeClock

DOC = {"id": 1, "title": "t", "status": "PROBE", "externalId": None, "teamId": 7,
       "createdAt": "2026-05-12T09:30:00.000Z", "updatedAt": "2026-05-12T09:30:00.000Z",
       "completedAt": None, "recipients": [], "probeNote": "new"}


def test_the_suite_runs_against_the_new_client_and_the_clone_s_wrapper() -> None:
    project = Path(__file__).resolve().parents[1]
    assert Path(pacta_api.__file__).resolve().parent.name == "pacta_api"
    assert Path(pacta_async.__file__).resolve().parent == project / "pacta_async"
    assert "probe_note" in attrs.fields_dict(Document)
    assert DocumentStatus("PROBE") is DocumentStatus.PROBE


@pytest.mark.anyio
async def test_the_new_endpoint_through_the_public_api() -> None:
    limited = {"code": "RATE_LIMITED", "message": "slow down", "details": {"scope": "send"}}
    replies = [httpx.Response(429, json=limited, headers={"Retry-After": "1"}),
               httpx.Response(200, json=DOC),
               httpx.Response(200, json=DOC),
               httpx.Response(404, json={"code": "NOT_FOUND", "message": "no", "details": None})]
    seen = []

    def answer(request):
        seen.append(request)
        return replies.pop(0)

    sends = []

    class Recording(TokenBucketLimiter):
        async def acquire(self, *, send, place=None, timeout=None):
            sends.append(send)
            return await super().acquire(send=send, place=place, timeout=timeout)

    clock = FakeClock()
    client = PactaClient("api_test_0123456789", base_url="https://sign.pacta.ink/api/v1",
                         transport=httpx.MockTransport(answer), clock=clock,
                         rate_limiter=Recording(clock=clock),
                         send_routes=[*pacta_async.DEFAULT_SEND_ROUTES,
                                      "POST /documents/{documentId}/probe"])
    async with client:
        import anyio
        async with anyio.create_task_group() as tg:
            tg.start_soon(clock.autojump)
            detailed = await probe_document.asyncio_detailed(1, client=client.generated_client)
            parsed = await client.post("/documents/1/probe", cast_to=Document)
            with pytest.raises(NotFoundError):
                await client.post("/documents/2/probe")
            tg.cancel_scope.cancel()
    assert isinstance(detailed.parsed, Document)
    assert parsed.probe_note == "new"
    assert len(seen) == 4  # the 429 was retried
    assert sends == [True, True, True, True]  # paced as sends
    assert all(r.headers["authorization"] == "api_test_0123456789" for r in seen)


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""

PASSING_TEST = """\
def test_passes() -> None:
    assert True
"""

FAILING_TEST = """\
def test_the_wrapper_needs_work() -> None:
    assert False, "the wrapper needs work"
"""


@pytest.fixture(scope="module")
def server() -> Iterator[SpecServer]:
    spec_server = SpecServer()
    yield spec_server
    spec_server.stop()


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    """Stands in for GitHub's GITHUB_OUTPUT file."""
    return tmp_path / "github-output"


def _report(project: Path) -> str:
    return (project / "spec-report.md").read_text()


def test_additive_changes_pass_and_the_new_endpoint_works_through_the_public_api(
    tmp_path: Path, server: SpecServer, outputs: Path
) -> None:
    repository_client = tree(ROOT / "generated")
    project = project_copy(
        tmp_path / "project",
        tests=["client"],
        extra_tests={"test_client_under_test.py": CLIENT_UNDER_TEST},
        clone=True,
    )
    live = spec_bytes(mutated(*ADDITIVE))
    url = server.serve("additive", live)

    result = make_spec_update(project, url, outputs)

    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "generated" / "openapi.json").read_bytes() == live
    documents = project / "generated" / "pacta_api" / "api" / "documents"
    assert (documents / "probe_document.py").exists()
    assert step_outputs(outputs) == {"change": "additive", "tests": "passed", "status": "0"}
    report = _report(project)
    assert report.startswith("# Spec update: additive\n\nNo breaking changes; every check passes.")
    assert "- ✅ **client tests**:" in report
    assert "- ✅ **mypy --strict pacta_async**:" in report
    assert "POST /documents/{documentId}/probe`: operation added" in report
    assert tree(ROOT / "generated") == repository_client

    # Idempotent: the same live spec again changes nothing and runs no checks.
    regenerated = tree(project / "generated")
    outputs.unlink()
    again = make_spec_update(project, url, outputs)
    assert again.returncode == 0, again.stdout + again.stderr
    assert tree(project / "generated") == regenerated
    assert step_outputs(outputs) == {"change": "unchanged", "tests": "skipped", "status": "0"}


@pytest.mark.parametrize(
    ("mutation", "message", "missing"),
    [
        (renamed_operation, "operationId renamed `send_document`", "send_document"),
        (removed_endpoint, "operation removed", "duplicate_document"),
    ],
    ids=["renamed-operation", "removed-endpoint"],
)
def test_a_breaking_change_the_wrapper_uses_is_judged_in_a_real_clone(
    tmp_path: Path, server: SpecServer, outputs: Path, mutation: object, message: str, missing: str
) -> None:
    """The clone's wrapper imports the gone function: the judging must not crash on it."""
    project = project_copy(tmp_path / "project", tests=["client"], clone=True)
    url = server.serve(f"breaking-{missing}", spec_bytes(mutated(mutation)))  # type: ignore[arg-type]

    result = make_spec_update(project, url, outputs)

    assert "spec-update] Error 1" in result.stderr, result.stdout + result.stderr
    assert "nothing was changed" not in result.stdout + result.stderr
    assert not (
        project / "generated" / "pacta_api" / "api" / "documents" / f"{missing}.py"
    ).exists()
    assert step_outputs(outputs) == {"change": "breaking", "tests": "failed", "status": "1"}
    report = _report(project)
    assert report.startswith("# Spec update: breaking\n\nBreaking changes: review before merging;")
    assert "- ❌ **client tests**:" in report
    assert f"cannot import name '{missing}'" in report
    assert message in report
    assert "`generated/` now holds the new snapshot and client" in report


def test_failing_checks_without_a_breaking_change_have_their_own_status(
    tmp_path: Path, server: SpecServer, outputs: Path
) -> None:
    project = project_copy(tmp_path / "project", extra_tests={"test_fails.py": FAILING_TEST})
    url = server.serve("additive-but-failing", spec_bytes(mutated(*ADDITIVE)))

    result = make_spec_update(project, url, outputs)

    assert "spec-update] Error 3" in result.stderr
    assert step_outputs(outputs) == {"change": "additive", "tests": "failed", "status": "3"}
    report = _report(project)
    assert "No breaking changes; these checks fail: client tests." in report
    assert "the wrapper needs work" in report


def test_an_unchanged_spec_changes_nothing(
    tmp_path: Path, server: SpecServer, outputs: Path
) -> None:
    """The failing test in the copy proves that no checks run when nothing changed."""
    project = project_copy(tmp_path / "project", extra_tests={"test_fails.py": FAILING_TEST})
    before = tree(project / "generated")

    result = make_spec_update(project, server.serve("unchanged", SNAPSHOT_BYTES), outputs)

    assert result.returncode == 0, result.stdout + result.stderr
    assert tree(project / "generated") == before
    assert step_outputs(outputs) == {"change": "unchanged", "tests": "skipped", "status": "0"}
    assert "nothing changed" in result.stdout
    assert "`generated/` is unchanged." in _report(project)


def test_a_generator_config_change_with_the_same_spec_is_tested_and_reported(
    tmp_path: Path, server: SpecServer, outputs: Path
) -> None:
    project = project_copy(tmp_path / "project", extra_tests={"test_passes.py": PASSING_TEST})
    config = project / "generator-config.yaml"
    config.write_text(
        config.read_text().replace(
            "docstrings_on_attributes: true", "docstrings_on_attributes: false"
        )
    )

    result = make_spec_update(project, server.serve("same", SNAPSHOT_BYTES), outputs)

    assert result.returncode == 0, result.stdout + result.stderr
    assert step_outputs(outputs) == {"change": "generator", "tests": "passed", "status": "0"}
    report = _report(project)
    assert "The spec did not change, but the generated code did" in report
    assert "## Generated code changed although the spec did not" in report
    assert "- ✅ **client tests**: 1 passed" in report


def test_a_key_order_change_that_reorders_constructor_arguments_is_breaking(
    tmp_path: Path, server: SpecServer, outputs: Path
) -> None:
    project = project_copy(tmp_path / "project", extra_tests={"test_passes.py": PASSING_TEST})
    url = server.serve("reordered", spec_bytes(mutated(reordered_keys)))

    result = make_spec_update(project, url, outputs)

    assert "spec-update] Error 1" in result.stderr
    report = _report(project)
    assert "constructor arguments reordered (id, documentId" in report
    assert "`models/field.py`" in report


def test_a_new_pdf_endpoint_is_generated(tmp_path: Path, server: SpecServer, outputs: Path) -> None:
    project = project_copy(tmp_path / "project", extra_tests={"test_passes.py": PASSING_TEST})
    url = server.serve("pdf", spec_bytes(mutated(new_pdf_endpoint)))

    result = make_spec_update(project, url, outputs)

    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "generated" / "pacta_api" / "api" / "documents" / "probe_pdf.py").exists()
    assert step_outputs(outputs)["change"] == "additive"


@pytest.mark.parametrize(
    ("name", "body", "status", "content_type", "message"),
    [
        ("html", b"<html>Maintenance</html>", 200, "text/html", "the body is not JSON"),
        ("404", b'{"code":"NOT_FOUND"}', 404, "", "HTTP 404, expected 2xx"),
        ("nan", SNAPSHOT_BYTES.replace(b'"minimum": 1,', b'"minimum": NaN,', 1), 200, "", "NaN"),
        ("dup-id", spec_bytes(mutated(duplicate_operation_id)), 200, "", "duplicate operationId"),
        ("webhook-ref", spec_bytes(mutated(dangling_webhook_ref)), 200, "", "leads nowhere"),
        ("ref", spec_bytes(mutated(dangling_ref)), 200, "", "leads nowhere"),
    ],
)
def test_a_refused_spec_changes_nothing_and_says_so(
    tmp_path: Path,
    server: SpecServer,
    outputs: Path,
    name: str,
    body: bytes,
    status: int,
    content_type: str,
    message: str,
) -> None:
    project = project_copy(tmp_path / "project")
    before = tree(project / "generated")
    url = server.serve(f"refused-{name}", body, status=status, content_type=content_type)

    result = make_spec_update(project, url, outputs)

    assert "spec-update] Error 4" in result.stderr, result.stdout + result.stderr
    assert message in result.stderr
    assert "generated/ is unchanged" in result.stderr
    assert tree(project / "generated") == before
    assert step_outputs(outputs) == {"change": "refused", "tests": "skipped", "status": "4"}
    report = _report(project)
    assert report.startswith("# Spec update: refused\n")
    assert message in report


def test_mypy_catches_what_the_tests_miss(
    tmp_path: Path, server: SpecServer, outputs: Path
) -> None:
    """Ids that become strings: a passing suite, but mypy --strict fails on the wrapper."""

    def string_ids(spec: dict[str, Any]) -> None:
        for name in ("Document", "Recipient", "Field", "Template"):
            spec["components"]["schemas"][name]["properties"]["id"] = {"type": "string"}

    project = project_copy(
        tmp_path / "project", extra_tests={"test_passes.py": PASSING_TEST}, clone=True
    )
    url = server.serve("string-ids", spec_bytes(mutated(string_ids)))

    result = make_spec_update(project, url, outputs)

    assert "spec-update] Error 1" in result.stderr
    report = _report(project)
    assert "- ✅ **client tests**: 1 passed" in report
    assert "- ❌ **mypy --strict pacta_async**: Found " in report
    assert "these checks fail: mypy --strict pacta_async" in report


def test_a_trickling_server_meets_the_pull_deadline(
    tmp_path: Path, server: SpecServer, outputs: Path
) -> None:
    """64 bytes every 2 s never trips a read timeout; the overall deadline ends the pull."""
    project = project_copy(tmp_path / "project")
    before = tree(project / "generated")
    url = server.serve("trickle", SNAPSHOT_BYTES)
    server.trickle.add("/trickle/api/v1/openapi")

    result = make_spec_update(project, url, outputs, "SPEC_PULL_DEADLINE=3")

    assert "spec-update] Error 4" in result.stderr
    assert "the pull took over 3 s" in _report(project)
    assert tree(project / "generated") == before
    assert step_outputs(outputs)["change"] == "refused"
