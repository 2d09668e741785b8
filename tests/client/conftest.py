"""Combinations of parameters that cannot exist are left out, not skipped."""

from __future__ import annotations

import pytest


def _impossible(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return False
    params = callspec.params
    mode = params.get("mode")
    if mode == "aiohttp" and params.get("anyio_backend") == "trio":
        return True  # aiohttp runs on asyncio only
    # A timeout belongs to the network transport; the in-process one has none.
    return mode == "in-process" and getattr(item, "originalname", "") == "test_timeout_error"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    left_out = [item for item in items if _impossible(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not _impossible(item)]
