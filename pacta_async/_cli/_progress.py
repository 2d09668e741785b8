"""The command line's live progress: a rich bar on a terminal, plain lines elsewhere.

A batch at Pacta's default limits runs for minutes, so the user wants a rate and an
ETA. Both come from the last few seconds rather than from the start: on a rerun the
skipped items go by at once and would make the average meaningless.

While no request reaches Pacta the counts stand still, so the display says why:
``waiting: server unreachable since HH:MM:SS`` (local time).
"""

from __future__ import annotations

import collections
import datetime
import sys
import time
from typing import Protocol, TextIO

from .._batch import BatchSummary

__all__ = ["Progress", "progress_display"]

_WINDOW = 10.0  # seconds of history behind the rate
_PLAIN_EVERY = 2.0  # seconds between plain lines


class Progress(Protocol):
    def update(self, summary: BatchSummary) -> None: ...
    def close(self) -> None: ...


class _Rate:
    """Items per second over the last `_WINDOW` seconds."""

    def __init__(self) -> None:
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    def add(self, now: float, done: int) -> float | None:
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[1][0] >= _WINDOW:
            self._samples.popleft()
        then, before = self._samples[0]
        return (done - before) / (now - then) if now > then else None


def _waiting(summary: BatchSummary) -> str:
    if summary.unreachable_since is None:
        return ""
    since = datetime.datetime.fromtimestamp(summary.unreachable_since)
    return f"waiting: server unreachable since {since:%H:%M:%S}"


def _eta(remaining: int, rate: float | None) -> str:
    if not rate:
        return "-:--:--"
    seconds = int(remaining / rate)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class _PlainProgress:
    """A line every few seconds (and at the end), for logs and pipes."""

    def __init__(self, total: int, label: str, stream: TextIO, done_word: str = "sent") -> None:
        self._total = total
        self._label = label
        self._done_word = done_word
        self._stream = stream
        self._rate = _Rate()
        self._printed_at = time.monotonic()
        self._line = ""
        self._waiting = ""

    def update(self, summary: BatchSummary) -> None:
        now = time.monotonic()
        rate = self._rate.add(now, summary.done)
        waiting = _waiting(summary)
        self._line = (
            f"{self._label}: {summary.done}/{self._total} ({summary.sent} {self._done_word}, "
            f"{summary.failed} failed, {summary.skipped} skipped) "
            f"{rate or 0:.1f}/s ETA {_eta(self._total - summary.done, rate)}"
        ) + (f"; {waiting}" if waiting else "")
        # Losing the server, or getting it back, is news: it is printed at once.
        changed, self._waiting = waiting != self._waiting, waiting
        if changed or now - self._printed_at >= _PLAIN_EVERY:
            self._print()
            self._printed_at = now

    def _print(self) -> None:
        print(self._line, file=self._stream, flush=True)

    def close(self) -> None:
        if self._line:
            self._print()


class _RichProgress:
    def __init__(self, total: int, label: str, stream: TextIO, done_word: str = "sent") -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as RichProgress

        self._rate = _Rate()
        self._total = total
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("ETA {task.fields[eta]}"),
            TimeElapsedColumn(),
            TextColumn(
                f"[green]{{task.fields[sent]}} {done_word}[/] "
                "[red]{task.fields[failed]} failed[/] [dim]{task.fields[skipped]} skipped[/]"
            ),
            TextColumn("[yellow]{task.fields[waiting]}"),
            console=Console(file=stream),
            refresh_per_second=8,
        )
        self._waiting = ""
        self._task = self._bar.add_task(
            label, total=total, rate="", eta="-:--:--", sent=0, failed=0, skipped=0, waiting=""
        )
        self._bar.start()

    def update(self, summary: BatchSummary) -> None:
        rate = self._rate.add(time.monotonic(), summary.done)
        waiting = _waiting(summary)
        if waiting != self._waiting:
            # Also a line above the bar: on a narrow terminal the bar's own column is cut.
            self._bar.console.print(waiting or "server reachable again", style="yellow")
            self._waiting = waiting
        self._bar.update(
            self._task,
            completed=summary.done,
            rate=f"{rate:.1f}/s" if rate else "",
            eta=_eta(self._total - summary.done, rate),
            sent=summary.sent,
            failed=summary.failed,
            skipped=summary.skipped,
            waiting=waiting,
        )

    def close(self) -> None:
        self._bar.stop()


def progress_display(
    total: int, label: str, stream: TextIO | None = None, *, done_word: str = "sent"
) -> Progress:
    """A live bar when `stream` (stderr) is a terminal and rich is installed, else lines.
    `done_word` names what `summary.sent` counts (an export's "downloaded")."""
    stream = stream or sys.stderr
    if stream.isatty():
        try:
            return _RichProgress(total, label, stream, done_word)
        except ImportError:  # rich comes with the `cli` extra
            pass
    return _PlainProgress(total, label, stream, done_word)
