"""A missing `server` extra named as such, with the command that installs it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["is_server_extra_missing", "require_server_extra"]

# The top-level modules of the `server` extra's distributions.
SERVER_EXTRA_MODULES = frozenset({"starlette", "uvicorn", "multipart", "python_multipart"})
INSTALL_HINT = "pip install 'pacta-async[server]'"


def is_server_extra_missing(exc: ModuleNotFoundError) -> bool:
    return (exc.name or "").partition(".")[0] in SERVER_EXTRA_MODULES


@contextlib.contextmanager
def require_server_extra() -> Iterator[None]:
    """Turn the import error of a missing `server` extra module into one that says so."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if not is_server_extra_missing(exc):
            raise
        module = (exc.name or "").partition(".")[0]
        raise ModuleNotFoundError(
            f"pacta_async.testing (the reference server) needs the 'server' extra, "
            f"and {module} is not installed: {INSTALL_HINT}",
            name=exc.name,
        ) from exc
