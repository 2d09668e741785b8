"""The README's quickstart, run as a user would: a script, environment variables, HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pacta_async.testing import ReferenceServer, make_pdf

README = Path(__file__).resolve().parents[1] / "README.md"


def python_block(heading: str) -> str:
    section = README.read_text().split(f"## {heading}\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, f"the {heading} section has no python block"
    return match.group(1)


def quickstart() -> str:
    return python_block("Quickstart")


def test_readme_quickstart_creates_and_sends(tmp_path: Path) -> None:
    (tmp_path / "contract.pdf").write_bytes(make_pdf())
    (tmp_path / "quickstart.py").write_text(quickstart())
    server = ReferenceServer()
    token = server.create_token(server.create_team())
    with server.serve_in_thread() as base_url:
        env = {**os.environ, "PACTA_API_TOKEN": token, "PACTA_BASE_URL": base_url}
        result = subprocess.run(
            [sys.executable, "quickstart.py"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    document_id, status = result.stdout.split()
    assert status == "PENDING"
    assert server.document(int(document_id))["title"] == "Q4 vendor agreement"
    assert server.send_count(int(document_id)) == 1


WEBHOOK_SCRIPT = """
import anyio

from pacta_async.testing import build_webhook_delivery, sample_document
from readme_webhooks import receive


async def main() -> None:
    completed = sample_document(status="COMPLETED", completedAt="2026-05-12T09:40:00.000Z")
    old = build_webhook_delivery("DOCUMENT_COMPLETED", secret="whsec_old", document=completed)
    new = build_webhook_delivery("DOCUMENT_SIGNED", secret="whsec_new")
    answers = [await receive(old.body, old.headers)]
    answers.append(await receive(old.retried().body, old.headers))  # a retry: new createdAt
    answers.append(await receive(new.body, new.headers))
    print(*answers)


anyio.run(main)
"""


def test_readme_webhook_snippet_type_checks_and_runs(tmp_path: Path) -> None:
    (tmp_path / "readme_webhooks.py").write_text(python_block("Webhooks"))
    (tmp_path / "run.py").write_text(WEBHOOK_SCRIPT)
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "readme_webhooks.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    env = {**os.environ, "PACTA_WEBHOOK_SECRET": "whsec_new,whsec_old"}
    result = subprocess.run(
        [sys.executable, "run.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # Archived once although delivered twice; the signed event is handled, not archived.
    assert result.stdout.splitlines() == ["archived document 42", "200 200 200"]


def test_readme_raw_access_calls_a_newly_generated_endpoint(tmp_path: Path) -> None:
    section = README.read_text().split("## Raw access", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the Raw access section has no python block"
    (tmp_path / "contract.pdf").write_bytes(make_pdf())
    (tmp_path / "raw.py").write_text(match.group(1))
    server = ReferenceServer()
    token = server.create_token(server.create_team())
    with server.serve_in_thread() as base_url:
        env = {**os.environ, "PACTA_API_TOKEN": token, "PACTA_BASE_URL": base_url}
        result = subprocess.run(
            [sys.executable, "raw.py"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    link, again, status, remaining = result.stdout.split()
    assert (link, again, status) == ("DocumentDownload", "DocumentDownload", "200")
    assert int(remaining) >= 0
