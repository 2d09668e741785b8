"""Wall time of `make regenerate`, in a scratch copy of the project.

`make regenerate` replaces generated/pacta_api, so it must never run on the real
tree during a benchmark. As tests/spec/test_pipeline.py does, the generation inputs
(Makefile, config, templates, the committed spec) are copied to a temporary folder
and `make` runs there with this project's venv, told that the venv is up to date.
No target: the figure is reported so that a slow generator shows up.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, log, row

INPUTS = ("Makefile", "generator-config.yaml", "pyproject.toml", "uv.lock")
FOLDERS = ("generator-templates", "generated")


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def main() -> int:
    venv = ROOT / ".venv"
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        for name in INPUTS:
            shutil.copy2(ROOT / name, project / name)
        for name in FOLDERS:
            shutil.copytree(
                ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        log("make regenerate (scratch copy)")
        started = time.perf_counter()
        result = subprocess.run(
            [
                "make",
                "--no-print-directory",
                "-C",
                str(project),
                f"VENV={venv}",
                "-o",
                f"{venv}/.synced",
                "regenerate",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        elapsed = time.perf_counter() - started
        same = _tree(project / "generated" / "pacta_api") == _tree(ROOT / "generated" / "pacta_api")
    if result.returncode != 0:
        print(result.stdout, result.stderr, file=sys.stderr, sep="\n")
        row("make regenerate", f"failed (exit {result.returncode})", "", False)
        return 1
    log(result.stdout.strip())
    verdict = "identical to" if same else "differs from"
    row("make regenerate (wall time)", f"{elapsed:.1f} s (output {verdict} generated/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
