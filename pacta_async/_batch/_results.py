"""What a batch reports: per item, and in total.

One vocabulary for an item's fate, shared with the journal (`_journal.ItemState`
uses the same strings): ``sent``, ``skipped`` (an earlier run sent it), ``failed``
(certainly not sent) and ``unknown`` (may have been sent; a rerun checks it).
"""

from __future__ import annotations

import enum
from typing import Generic, TypeVar

import attrs

from .._errors import PactaError

__all__ = [
    "BatchSummary",
    "Duplicate",
    "ItemResult",
    "ItemStatus",
]

T = TypeVar("T")


class ItemStatus(enum.StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"  # already sent, by an earlier run (the journal or the server says so)
    FAILED = "failed"  # certainly not sent
    UNKNOWN = "unknown"  # may have been sent: checking kept failing; a rerun checks again


@attrs.frozen
class ItemResult(Generic[T]):
    """What became of one input: `document_id` is the sent document's, when there is one."""

    index: int  # the item's position in the input, from 0
    item: T
    status: ItemStatus
    document_id: int | None = None
    external_id: str | None = None
    error: PactaError | None = None


@attrs.frozen
class Duplicate:
    """An item Pacta holds more than one document for, found by the final reconciliation.

    Pacta has no idempotency keys: a request processed long after its answer was lost
    can still make a second document. It is reported, never hidden.
    """

    index: int
    external_id: str
    document_ids: tuple[int, ...]


@attrs.frozen
class BatchSummary:
    """Totals so far (for a progress callback) or of the whole batch (returned)."""

    batch_id: str
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    unknown: int = 0
    elapsed: float = 0.0  # seconds since the batch started
    duplicates: tuple[Duplicate, ...] = ()
    # Epoch seconds since which no request has reached Pacta, while that lasts.
    unreachable_since: float | None = None

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.skipped + self.unknown

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.unknown == 0 and not self.duplicates
