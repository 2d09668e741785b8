"""The OpenAPI snapshot that the reference server serves at `GET /openapi`."""

from __future__ import annotations

import functools
from pathlib import Path

import pacta_api

__all__ = ["spec_bytes"]


@functools.cache
def spec_bytes() -> bytes:
    """The snapshot, byte for byte: a wheel ships it inside `pacta_api`, the repo beside it."""
    package = Path(pacta_api.__file__).parent
    path = package / "openapi.json"
    if not path.exists():
        path = package.parent / "openapi.json"
    return path.read_bytes()
