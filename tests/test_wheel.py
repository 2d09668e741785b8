"""What `pip install pacta-async` gets: the SDK and the generated client, nothing else.

Built for real with the project's pinned uv (hatchling, as `uv build` in a release), so
a change to the layout or to the hatch settings that drops a module, or ships the
maintainers' tooling, fails here rather than on a user's machine.
"""

from __future__ import annotations

import configparser
import importlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UV = ROOT / ".tools" / "bin" / "uv"
# What may never be shipped, wherever it sits: spec tooling, the demo, tests, benchmarks.
UNSHIPPED = {"tools", "tests", "benchmarks", "examples", "demo", "specpull", "specdiff"}
UNSHIPPED |= {"specupdate", "conftest"}


def tracked(folder: str) -> set[str]:
    """The repository's files under `folder`, as git has them."""
    listing = subprocess.run(
        ["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(listing.stdout.split())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    build = subprocess.run(
        [str(UV), "build", "--wheel", "--python", sys.executable, "-o", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    [path] = out.glob("pacta_async-*.whl")
    return zipfile.ZipFile(path)


def installed(wheel: zipfile.ZipFile) -> set[str]:
    """The files the wheel installs, but its own metadata."""
    return {name for name in wheel.namelist() if ".dist-info/" not in name}


def test_only_the_two_packages_are_installed(wheel: zipfile.ZipFile) -> None:
    assert {name.split("/")[0] for name in installed(wheel)} == {"pacta_async", "pacta_api"}


def test_every_module_of_the_sdk_is_shipped(wheel: zipfile.ZipFile) -> None:
    expected = {name for name in tracked("pacta_async") if name.endswith((".py", "py.typed"))}
    assert "pacta_async/_ratelimit/_redis.py" in expected  # the listing is not empty
    assert expected - installed(wheel) == set()


def test_the_generated_client_is_shipped_as_pacta_api(wheel: zipfile.ZipFile) -> None:
    expected = {
        name.removeprefix("generated/")
        for name in tracked("generated/pacta_api")
        if name.endswith((".py", "py.typed"))
    }
    assert "pacta_api/models/document.py" in expected
    assert expected - installed(wheel) == set()


def test_the_spec_snapshot_sits_beside_the_generated_client(wheel: zipfile.ZipFile) -> None:
    """The reference server serves it from there once installed."""
    snapshot = (ROOT / "generated" / "openapi.json").read_bytes()
    assert wheel.read("pacta_api/openapi.json") == snapshot


def test_no_tooling_tests_or_caches_are_shipped(wheel: zipfile.ZipFile) -> None:
    unwanted = [
        name
        for name in wheel.namelist()
        if UNSHIPPED & {Path(part).stem for part in name.split("/")}
        or "__pycache__" in name
        or name.endswith(".pyc")
    ]
    assert unwanted == []


def test_the_console_scripts_point_at_shipped_callables(wheel: zipfile.ZipFile) -> None:
    [entry_points] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(entry_points).decode())
    scripts = dict(parser["console_scripts"])
    assert set(scripts) == {"pacta-async", "pacta-reference-server"}
    for target in scripts.values():
        module, _, attribute = target.partition(":")
        path = module.replace(".", "/")
        assert {f"{path}.py", f"{path}/__init__.py"} & installed(wheel), target
        assert callable(getattr(importlib.import_module(module), attribute))
