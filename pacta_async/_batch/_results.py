"""What a batch reports: per item, and in total."""

from __future__ import annotations

import enum
from typing import Generic, TypeVar

import attrs

from .._errors import PactaError

__all__ = [
    "BatchSummary",
    "ItemResult",
    "ItemStatus",
]

T = TypeVar("T")


class ItemStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # the journal says an earlier run already sent it


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
class BatchSummary:
    """Totals so far (for a progress callback) or of the whole batch (returned)."""

    batch_id: str
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    elapsed: float = 0.0  # seconds since the batch started

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.skipped

    @property
    def ok(self) -> bool:
        return self.failed == 0
