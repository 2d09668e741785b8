"""`make spec-update` end to end, in scratch projects, against a loopback spec server.

The additive case is the issue's done-when: the client regenerated from a spec with a
new optional field, a new endpoint and a new enum value passes the full client test
suite (`tests/client`, copied unchanged), and a check beside it proves that the suite
imported the regenerated package, not the repository's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import (
    ADDITIVE,
    ROOT,
    SNAPSHOT_BYTES,
    SpecServer,
    dangling_ref,
    make_spec_update,
    mutated,
    project_copy,
    renamed_operation,
    spec_bytes,
    step_outputs,
    tree,
)

pytestmark = pytest.mark.slow  # each case regenerates a project and runs its suite

CLIENT_UNDER_TEST = """\
from pathlib import Path

import attrs
import pacta_api
from pacta_api.api.documents import probe_document
from pacta_api.models import Document, DocumentStatus


def test_the_suite_runs_against_the_regenerated_client() -> None:
    project = Path(__file__).resolve().parents[1]
    assert Path(pacta_api.__file__).resolve().parent == project / "generated" / "pacta_api"
    assert "probe_note" in attrs.fields_dict(Document)
    assert DocumentStatus("PROBE") is DocumentStatus.PROBE
    assert callable(probe_document.asyncio_detailed)
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


def test_additive_changes_regenerate_and_pass_the_client_suite(
    tmp_path: Path, server: SpecServer, outputs: Path
) -> None:
    repository_client = tree(ROOT / "generated")
    project = project_copy(
        tmp_path / "project",
        tests=["client"],
        extra_tests={"test_client_under_test.py": CLIENT_UNDER_TEST},
    )
    live = spec_bytes(mutated(*ADDITIVE))
    url = server.serve("additive", live)

    result = make_spec_update(project, url, outputs)

    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "generated" / "openapi.json").read_bytes() == live
    assert (
        project / "generated" / "pacta_api" / "api" / "documents" / "probe_document.py"
    ).exists()
    assert step_outputs(outputs) == {"change": "additive", "tests": "passed"}
    assert "No breaking changes, and the tests pass" in result.stdout
    assert "Tests: passed (" in result.stdout
    report = (project / "spec-report.md").read_text()
    assert report.startswith("# Spec update: additive\n")
    assert "POST /documents/{documentId}/probe`: operation added" in report
    assert "The tests pass against the regenerated client" in report
    assert tree(ROOT / "generated") == repository_client

    # Idempotent: the same live spec again changes nothing and runs no tests.
    regenerated = tree(project / "generated")
    outputs.unlink()
    again = make_spec_update(project, url, outputs)
    assert again.returncode == 0, again.stdout + again.stderr
    assert tree(project / "generated") == regenerated
    assert step_outputs(outputs) == {"change": "unchanged", "tests": "skipped"}


def test_a_breaking_change_is_regenerated_for_review(
    tmp_path: Path, server: SpecServer, outputs: Path
) -> None:
    """The wrapper calls send_document: the renamed client fails the suite, and says why."""
    project = project_copy(tmp_path / "project", tests=["client"])
    url = server.serve("renamed", spec_bytes(mutated(renamed_operation)))

    result = make_spec_update(project, url, outputs)

    assert result.returncode != 0
    assert "spec-update] Error 1" in result.stderr
    documents = project / "generated" / "pacta_api" / "api" / "documents"
    assert (documents / "send_document_renamed.py").exists()
    assert not (documents / "send_document.py").exists()
    assert step_outputs(outputs) == {"change": "breaking", "tests": "failed"}
    report = (project / "spec-report.md").read_text()
    assert report.startswith("# Spec update: breaking\n")
    assert "Breaking changes: the client was regenerated anyway" in report
    assert "operationId renamed `send_document` → `send_document_renamed`" in report
    assert "**The tests fail against the regenerated client:**" in report
    assert "send_document" in report.split("## Tests", 1)[1]


def test_failing_tests_without_a_breaking_change_have_their_own_status(
    tmp_path: Path, server: SpecServer, outputs: Path
) -> None:
    project = project_copy(tmp_path / "project", extra_tests={"test_fails.py": FAILING_TEST})
    url = server.serve("additive-but-failing", spec_bytes(mutated(*ADDITIVE)))

    result = make_spec_update(project, url, outputs)

    assert result.returncode != 0
    assert "spec-update] Error 3" in result.stderr
    assert step_outputs(outputs) == {"change": "additive", "tests": "failed"}
    assert "Tests: FAILED (1 failed" in result.stdout
    report = (project / "spec-report.md").read_text()
    assert "No breaking changes, but the tests fail" in report
    assert "the wrapper needs work" in report


def test_an_unchanged_spec_changes_nothing(
    tmp_path: Path, server: SpecServer, outputs: Path
) -> None:
    """The failing test in the copy proves that no tests run when nothing changed."""
    project = project_copy(tmp_path / "project", extra_tests={"test_fails.py": FAILING_TEST})
    before = tree(project / "generated")

    result = make_spec_update(project, server.serve("unchanged", SNAPSHOT_BYTES), outputs)

    assert result.returncode == 0, result.stdout + result.stderr
    assert tree(project / "generated") == before
    assert step_outputs(outputs) == {"change": "unchanged", "tests": "skipped"}
    assert "The live spec matches the snapshot: nothing changed." in result.stdout
    assert "Tests: not run" in result.stdout
    assert "No changes." in (project / "spec-report.md").read_text()


@pytest.mark.parametrize(
    ("status", "content_type", "body", "message"),
    [
        (200, "text/html", b"<html>Maintenance</html>", "the body is not JSON"),
        (404, "application/json", b'{"code":"NOT_FOUND"}', "HTTP 404, expected 2xx"),
    ],
    ids=["html", "404"],
)
def test_a_bad_answer_changes_nothing(
    tmp_path: Path,
    server: SpecServer,
    outputs: Path,
    status: int,
    content_type: str,
    body: bytes,
    message: str,
) -> None:
    project = project_copy(tmp_path / "project")
    before = tree(project)
    url = server.serve(f"bad-{status}", body, status=status, content_type=content_type)

    result = make_spec_update(project, url, outputs)

    assert result.returncode != 0
    assert "spec-update] Error 2" in result.stderr
    assert f"spec pull failed: {url}/api/v1/openapi: {message}" in result.stderr
    assert tree(project) == before  # no new snapshot, client or report
    assert not outputs.exists()


def test_a_spec_the_generator_refuses_changes_nothing(
    tmp_path: Path, server: SpecServer, outputs: Path
) -> None:
    project = project_copy(tmp_path / "project")
    before = tree(project)
    url = server.serve("refused", spec_bytes(mutated(dangling_ref)))

    result = make_spec_update(project, url, outputs)

    assert result.returncode != 0
    assert "spec-update] Error 2" in result.stderr
    assert "the generator refused the spec" in result.stderr
    assert "Could not find reference" in result.stderr  # the generator's own reason
    assert tree(project) == before
    assert not outputs.exists()
