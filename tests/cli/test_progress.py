"""The batch progress display says when, and since when, Pacta cannot be reached."""

from __future__ import annotations

import datetime
import io

from pacta_async import BatchSummary
from pacta_async._cli._progress import _PlainProgress, _RichProgress

SINCE = 1_767_225_600.0 + 3_723  # an epoch time; shown in local time, as the user's clock


def waiting() -> str:
    local = datetime.datetime.fromtimestamp(SINCE)
    return f"waiting: server unreachable since {local:%H:%M:%S}"


def test_the_plain_line_says_at_once_that_the_server_is_unreachable_and_when_it_is_back() -> None:
    stream = io.StringIO()
    progress = _PlainProgress(10, "sending", stream)
    progress.update(BatchSummary("b", sent=3))
    assert stream.getvalue() == ""  # a line every few seconds, not per result
    progress.update(BatchSummary("b", sent=3, unreachable_since=SINCE))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1  # news: printed at once
    assert lines[0].startswith("sending: 3/10 (3 sent, 0 failed, 0 skipped)")
    assert lines[0].endswith(f"; {waiting()}")
    progress.update(BatchSummary("b", sent=3, unreachable_since=SINCE))  # the ticker, 1 s on
    assert len(stream.getvalue().splitlines()) == 1
    progress.update(BatchSummary("b", sent=4))  # reached again
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "waiting" not in lines[1]
    assert lines[1].startswith("sending: 4/10 (4 sent")


def test_the_rich_bar_shows_the_wait_while_it_lasts() -> None:
    stream = io.StringIO()
    progress = _RichProgress(10, "sending", stream)
    progress.update(BatchSummary("b", sent=3, unreachable_since=SINCE))
    progress.close()
    assert waiting() in stream.getvalue()

    stream = io.StringIO()
    progress = _RichProgress(10, "sending", stream)
    progress.update(BatchSummary("b", sent=3, unreachable_since=SINCE))
    progress.update(BatchSummary("b", sent=4))
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[:2] == [waiting(), "server reachable again"]  # above the bar, whole
    assert "unreachable" not in lines[-1]
