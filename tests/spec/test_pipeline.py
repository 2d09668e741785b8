"""`make generate` and the spec pull: a bad pull never replaces the snapshot."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from tools.specpull import SpecError, pull_spec

pytestmark = pytest.mark.slow  # runs the generator through make

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = (ROOT / "generated" / "openapi.json").read_bytes()


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, str, bytes]]] = {
        "/good/api/v1/openapi": (200, "application/json", SNAPSHOT),
        "/missing/api/v1/openapi": (404, "application/json", b'{"code":"NOT_FOUND"}'),
        "/html/api/v1/openapi": (200, "text/html", b"<html>Maintenance</html>"),
        "/notspec/api/v1/openapi": (200, "application/json", b'{"hello": "world"}'),
        "/truncated/api/v1/openapi": (200, "application/json", SNAPSHOT[:1000]),
    }

    def do_GET(self) -> None:
        status, content_type, body = self.routes.get(self.path, (404, "text/plain", b"no"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def spec_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_pull_accepts_an_openapi_document(spec_server: str) -> None:
    assert pull_spec(f"{spec_server}/good/api/v1/openapi") == json.loads(SNAPSHOT)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing", "HTTP 404"),
        ("html", "not JSON"),
        ("notspec", "not an OpenAPI 3.x document"),
        ("truncated", "not JSON"),
    ],
)
def test_pull_refuses_anything_else(spec_server: str, name: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        pull_spec(f"{spec_server}/{name}/api/v1/openapi")


def test_pull_reports_an_unreachable_server() -> None:
    with pytest.raises(SpecError, match="request failed"):
        pull_spec("http://127.0.0.1:9/api/v1/openapi", timeout=2)


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The generation inputs and outputs, in a scratch folder `make` can work in."""
    for name in ("Makefile", "generator-config.yaml", "pyproject.toml", "uv.lock"):
        shutil.copy2(ROOT / name, tmp_path / name)
    for name in ("generator-templates", "generated"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _make(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    venv = ROOT / ".venv"
    return subprocess.run(
        ["make", "-C", str(project), f"VENV={venv}", "-o", f"{venv}/.synced", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.parametrize("name", ["missing", "html", "notspec", "truncated"])
def test_make_generate_leaves_generated_untouched_on_a_bad_pull(
    project_copy: Path, spec_server: str, name: str
) -> None:
    before = _tree(project_copy / "generated")
    result = _make(project_copy, "generate", f"PACTA_BASE_URL={spec_server}/{name}")
    assert result.returncode != 0
    assert "spec pull failed" in result.stderr
    assert _tree(project_copy / "generated") == before


def test_make_generate_from_the_same_spec_changes_nothing(
    project_copy: Path, spec_server: str
) -> None:
    before = _tree(project_copy / "generated")
    result = _make(project_copy, "generate", f"PACTA_BASE_URL={spec_server}/good")
    assert result.returncode == 0, result.stderr
    assert _tree(project_copy / "generated") == before


def test_check_generated_catches_a_hand_edit(project_copy: Path) -> None:
    assert _make(project_copy, "check-generated").returncode == 0
    client = project_copy / "generated" / "pacta_api" / "client.py"
    client.write_text(client.read_text() + "\n# edited by hand\n")
    result = _make(project_copy, "check-generated")
    assert result.returncode != 0
    assert "edited by hand" in result.stdout
    assert "make regenerate" in result.stderr
