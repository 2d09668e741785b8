"""The `pacta-async` command line: batch sending and looking at documents."""

from ._main import main

__all__ = ["main"]
