from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
SNAPSHOT = HERE.parents[1] / "generated" / "openapi.json"

_MINI = json.loads((HERE / "pacta_mini.json").read_text(encoding="utf-8"))


@pytest.fixture
def mini() -> dict[str, Any]:
    """A small hand-written spec in Pacta's style; each test gets its own copy."""
    return copy.deepcopy(_MINI)


@pytest.fixture(scope="session")
def _snapshot() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return spec


@pytest.fixture
def snapshot(_snapshot: dict[str, Any]) -> dict[str, Any]:
    """The project's spec snapshot (generated/openapi.json); each test gets its own copy."""
    return copy.deepcopy(_snapshot)
