"""What a batch takes (one item per document) and what it reports (per item, in total)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Generic, NotRequired, TypedDict, TypeVar

import attrs

from ._errors import PactaError
from ._multipart import FileInput
from ._validation import GenerateRecipientParam, RecipientParam
from .types import FieldType

__all__ = [
    "BatchSummary",
    "CreateItem",
    "FieldParam",
    "GenerateItem",
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


class GenerateItem(TypedDict):
    """One document from a template.

    `external_id` must be unique within the batch; without one, the batch derives it
    from its id and the item's position, which is stable as long as a rerun gets the
    same inputs in the same order (the journal checks that).
    """

    recipients: Sequence[GenerateRecipientParam]
    title: NotRequired[str]
    external_id: NotRequired[str]


class FieldParam(TypedDict):
    """A field to place; `recipient` is an index into the item's `recipients`."""

    recipient: int
    type: FieldType | str
    page: int
    x: float
    y: float
    width: float
    height: float


class CreateItem(TypedDict):
    """One document to upload, fill with fields and send. `external_id` as in `GenerateItem`."""

    file: FileInput
    title: str
    recipients: Sequence[RecipientParam]
    fields: Sequence[FieldParam]
    external_id: NotRequired[str]
