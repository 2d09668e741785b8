"""Modified copies of the snapshot, a loopback server for them, and a scratch project.

Every mutation is one change a live spec could bring. What they add has synthetic
names (`probe`): `make spec-update` runs this suite after a real update too, and a real
spec must not already contain them. What they remove or tighten is what the wrapper
itself uses, so it only goes away with a breaking change the report shows anyway.

The scratch project holds only what `make spec-update` reads and writes, so no run ever
touches the repository's own `generated/`.
"""

from __future__ import annotations

import copy
import http.server
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tools.specupdate import _test_environment

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
SNAPSHOT_BYTES = (ROOT / "generated" / "openapi.json").read_bytes()
SNAPSHOT: dict[str, Any] = json.loads(SNAPSHOT_BYTES)

Spec = dict[str, Any]
Mutation = Callable[[Spec], None]


def _schemas(spec: Spec) -> dict[str, Any]:
    schemas: dict[str, Any] = spec["components"]["schemas"]
    return schemas


def new_optional_field(spec: Spec) -> None:
    _schemas(spec)["Document"]["properties"]["probeNote"] = {
        "anyOf": [{"type": "string"}, {"type": "null"}]
    }


def new_endpoint(spec: Spec) -> None:
    """POST /documents/{documentId}/probe, shaped like send_document without a body."""
    path = copy.deepcopy(spec["paths"]["/documents/{documentId}/send"])
    operation = path["post"]
    operation.update(operationId="probe_document", summary="Probe a document")
    operation.pop("requestBody")
    spec["paths"]["/documents/{documentId}/probe"] = path


def new_enum_value(spec: Spec) -> None:
    _schemas(spec)["DocumentStatus"]["enum"].append("PROBE")


def removed_field(spec: Spec) -> None:
    document = _schemas(spec)["Document"]
    del document["properties"]["externalId"]
    document["required"].remove("externalId")


def parameter_now_required(spec: Spec) -> None:
    for parameter in spec["paths"]["/documents"]["get"]["parameters"]:
        if parameter["name"] == "status":
            parameter["required"] = True


def new_required_parameter(spec: Spec) -> None:
    spec["paths"]["/templates"]["get"]["parameters"].append(
        {"name": "probe", "in": "query", "required": True, "schema": {"type": "integer"}}
    )


def renamed_operation(spec: Spec) -> None:
    spec["paths"]["/documents/{documentId}/send"]["post"]["operationId"] = "send_document_renamed"


def dangling_ref(spec: Spec) -> None:
    """Still an OpenAPI document (the pull accepts it), but the generator refuses it."""
    response = spec["paths"]["/documents"]["get"]["responses"]["200"]
    response["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/Nope"}


def removed_endpoint(spec: Spec) -> None:
    """The wrapper calls duplicate_document."""
    del spec["paths"]["/documents/{documentId}/duplicate"]


def new_pdf_endpoint(spec: Spec) -> None:
    """GET /documents/{documentId}/probe.pdf answering the file itself."""
    path = copy.deepcopy(spec["paths"]["/documents/{documentId}"])
    operation = path.pop("get")
    path.pop("delete", None)
    operation.update(operationId="probe_pdf", summary="The PDF")
    operation["responses"]["200"] = {
        "description": "The file.",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
    path["get"] = operation
    spec["paths"]["/documents/{documentId}/probe.pdf"] = path


def duplicate_operation_id(spec: Spec) -> None:
    spec["paths"]["/openapi"]["get"]["operationId"] = "get_document"


def dangling_webhook_ref(spec: Spec) -> None:
    delivery = next(iter(spec["webhooks"].values()))["post"]
    delivery["requestBody"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Nope"
    }


def reordered_keys(spec: Spec) -> None:
    """Only key order changes: Field's properties reversed."""
    field = _schemas(spec)["Field"]
    field["properties"] = dict(reversed(list(field["properties"].items())))


def moved_server(spec: Spec) -> None:
    spec["servers"][0]["url"] = "https://sign.pacta.ink/api/v2"


def removed_error_code(spec: Spec) -> None:
    error = _schemas(spec)["Error"]
    del error["properties"]["code"]
    error["required"].remove("code")


ADDITIVE = (new_optional_field, new_endpoint, new_enum_value)


def mutated(*mutations: Mutation) -> Spec:
    spec = copy.deepcopy(SNAPSHOT)
    for mutation in mutations:
        mutation(spec)
    return spec


def spec_bytes(spec: Spec) -> bytes:
    """The bytes `tools.specpull.write_spec` would write, as the snapshot's own are."""
    return (json.dumps(spec, indent=2, ensure_ascii=False) + "\n").encode()


class SpecServer:
    """A stdlib HTTP server on a free loopback port answering from `routes`.

    A route holds a list of answers, given in turn, the last one from then on; a path
    in `trickle` sends its body 64 bytes at a time, `trickle_delay` seconds apart.
    """

    def __init__(self) -> None:
        self.routes: dict[str, list[tuple[int, str, bytes]]] = {}
        self.trickle: set[str] = set()
        self.trickle_delay = 2.0
        routes, server = self.routes, self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                answers = routes.get(self.path, [(404, "text/plain", b"no")])
                status, content_type, body = answers.pop(0) if len(answers) > 1 else answers[0]
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path not in server.trickle:
                    self.wfile.write(body)
                    return
                for start in range(0, len(body), 64):
                    try:
                        self.wfile.write(body[start : start + 64])
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(server.trickle_delay)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def serve(self, name: str, body: bytes, status: int = 200, content_type: str = "") -> str:
        """Answer `<name>/api/v1/openapi`; returns the PACTA_BASE_URL that reaches it."""
        return self.serve_in_turn(name, [(status, content_type or "application/json", body)])

    def serve_in_turn(self, name: str, answers: list[tuple[int, str, bytes]]) -> str:
        self.routes[f"/{name}/api/v1/openapi"] = list(answers)
        return f"{self.url}/{name}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def project_copy(
    folder: Path,
    tests: Iterable[str] = (),
    extra_tests: dict[str, str] | None = None,
    *,
    clone: bool = False,
) -> Path:
    """A scratch project: the generation inputs and outputs, the shared fixtures
    (`tests/conftest.py`) and the given test files.

    `tests` are paths under the repository's `tests/` to copy unchanged; `extra_tests`
    maps file names under the copy's `tests/` to their source. `clone` also copies
    `pacta_async/` and `tools/`, as in a real checkout: the suite and mypy then import
    the wrapper from the copy, against the new client.
    """
    folder.mkdir()
    if clone:
        for name in ("pacta_async", "tools"):
            shutil.copytree(
                ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__")
            )
    for name in ("Makefile", "generator-config.yaml", "pyproject.toml", "uv.lock"):
        shutil.copy2(ROOT / name, folder / name)
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("generator-templates", "generated"):
        shutil.copytree(ROOT / name, folder / name, ignore=ignore)
    (folder / "tests").mkdir()
    (folder / "tests" / "__init__.py").touch()
    shutil.copy2(ROOT / "tests" / "conftest.py", folder / "tests" / "conftest.py")
    for name in tests:
        shutil.copytree(ROOT / "tests" / name, folder / "tests" / name, ignore=ignore)
    for name, source in (extra_tests or {}).items():
        (folder / "tests" / name).write_text(source)
    return folder


def make_spec_update(
    project: Path, base_url: str, outputs: Path, *make_args: str
) -> subprocess.CompletedProcess[str]:
    """`make spec-update` in `project`, with the repository's venv and `outputs` as GITHUB_OUTPUT.

    When the suite itself runs under make (`make spec-update` in CI), the outer make's
    variables and step outputs must not leak in.
    """
    env = {**_test_environment(), "GITHUB_OUTPUT": str(outputs)}
    return subprocess.run(
        [
            "make",
            "-C",
            str(project),
            f"VENV={VENV}",
            "-o",
            f"{VENV}/.synced",
            "spec-update",
            f"PACTA_BASE_URL={base_url}",
            *make_args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def step_outputs(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
