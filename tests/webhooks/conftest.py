"""Fixtures for the webhook tests."""

from __future__ import annotations

from types import ModuleType

import pytest

from .support import load_example


@pytest.fixture(scope="session")
def receiver() -> ModuleType:
    """The example receiver module (examples/ is not a package)."""
    return load_example("webhook_receiver")
