"""The README's quickstart, run as a user would: a script, environment variables, HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pacta_async.testing import ReferenceServer, make_pdf

README = Path(__file__).resolve().parents[1] / "README.md"


def quickstart() -> str:
    section = README.read_text().split("## Quickstart", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the Quickstart section has no python block"
    return match.group(1)


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
