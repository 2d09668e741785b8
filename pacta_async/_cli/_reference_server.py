"""The `pacta-reference-server` script: installed by the base install, it needs the
`server` extra to run, and says so in one line when it is missing."""

from __future__ import annotations

import sys

from .._extras import is_server_extra_missing
from ._output import fail

__all__ = ["main"]


def main() -> int:
    try:
        from ..testing.__main__ import main as serve
    except ModuleNotFoundError as exc:
        if not is_server_extra_missing(exc):
            raise
        return fail(str(exc), 2)
    serve(sys.argv[1:])
    return 0
