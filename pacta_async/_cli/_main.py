"""The `pacta-async` command line.

Each command group is a module with an `add_commands` function that adds its parsers
to the top-level subparsers and sets a ``run`` default: a callable taking the parsed
arguments and returning the exit status. `main` only dispatches.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

from .._version import __version__
from . import _batch, _documents
from ._output import PROG, Subparsers, fail

__all__ = ["main"]

_COMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    _batch.add_commands,
    _documents.add_commands,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status instead of exiting."""
    parser = argparse.ArgumentParser(prog=PROG, description="Tools for the Pacta API.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(sigterm_status=130)  # batch commands set their own
    commands = parser.add_subparsers(metavar="COMMAND", required=True)
    for add_commands in _COMMANDS:
        add_commands(commands)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # usage errors and --help
        return int(exit_.code or 0)
    run: Callable[[argparse.Namespace], int] = args.run
    terminated = threading.Event()
    try:
        with _sigterm_as_interrupt(terminated):
            return run(args)
    except KeyboardInterrupt:  # a command with nothing of its own to say about it
        if terminated.is_set():
            return fail("terminated", args.sigterm_status)
        return fail("interrupted", 130)


@contextlib.contextmanager
def _sigterm_as_interrupt(terminated: threading.Event) -> Iterator[None]:
    """SIGTERM (a service manager, `kill`, a container stopping) ends a command the way
    Ctrl-C does: cleanly, with its message, instead of a silent death. Its status is
    130 as for Ctrl-C, but batch commands answer SIGTERM with 143 (`sigterm_status`)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread (tests call main())
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        terminated.set()
        # Through SIGINT, so the event loop cancels the running command as on Ctrl-C
        # (asyncio's runner handles SIGINT; an exception raised here could land anywhere).
        signal.raise_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
