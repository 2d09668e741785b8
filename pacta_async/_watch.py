"""Following documents after sending: status changes found by listing, not by GETs.

Pacta has no "get many by id", and one GET per document per poll would spend the
100-a-minute limit on a batch of a hundred. Each round instead lists the PENDING
documents (100 a page), which is where every change starts; a watched document
that has left that list is looked up once in the unfiltered list, newest first,
which stops as soon as it reaches documents older than the oldest one looked for.
Rounds are spaced so that the watch uses at most `requests_per_minute`.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Final

import attrs
from pacta_api.models import Document, DocumentStatus

from ._clock import Clock
from ._errors import InvalidInputError
from ._validation import check_id

if TYPE_CHECKING:
    from ._resources.documents import Documents

__all__ = ["FINAL_STATUSES", "StatusChange", "look_up", "watch"]

FINAL_STATUSES: Final = frozenset({"COMPLETED", "REJECTED", "CANCELLED"})
_PER_PAGE: Final = 100


@attrs.frozen
class StatusChange:
    """A watched document's new state: its status, or who has signed, changed.
    `previous` is None the first time the document is seen."""

    document: Document
    previous: str | None

    @property
    def status(self) -> str:
        return str(self.document.status)


def _signed(document: Document) -> frozenset[int]:
    return frozenset(r.id for r in document.recipients if str(r.signing_status) == "SIGNED")


def check_ids(document_ids: Iterable[int]) -> list[int]:
    ids = list(dict.fromkeys(check_id(i, "document_ids") for i in document_ids))
    if not ids:
        raise InvalidInputError("document_ids is empty", field="document_ids")
    return ids


def check_rate(requests_per_minute: float, interval: float) -> None:
    if not requests_per_minute > 0 or requests_per_minute > 100:
        raise InvalidInputError(
            f"requests_per_minute must be in (0, 100], got {requests_per_minute!r}",
            field="requests_per_minute",
        )
    if not interval >= 0:
        raise InvalidInputError(f"interval must be >= 0, got {interval!r}", field="interval")


async def watch(
    documents: Documents,
    document_ids: list[int],
    clock: Clock,
    *,
    interval: float,
    requests_per_minute: float,
) -> AsyncIterator[StatusChange]:
    """Yield each change of the watched documents until every one is in a final status."""
    known: dict[int, Document] = {}
    open_ids = set(document_ids)
    while open_ids:
        started = clock.monotonic()
        requests = 0
        found: dict[int, Document] = {}
        page = 1
        while True:  # every PENDING document: where all change starts
            result = await documents.list(page=page, per_page=_PER_PAGE, status="PENDING")
            requests += 1
            found.update((d.id, d) for d in result.documents if d.id in open_ids)
            if page >= result.total_pages or not result.documents:
                break
            page += 1
        left = open_ids - found.keys()
        if left:
            seen, used = await look_up(documents, left, known)
            found.update(seen)
            requests += used
        for document_id in sorted(found):
            document = found[document_id]
            before = known.get(document_id)
            if (
                before is None
                or before.status != document.status
                or _signed(before) != _signed(document)
            ):
                yield StatusChange(document, None if before is None else str(before.status))
            known[document_id] = document
            if str(document.status) in FINAL_STATUSES:
                open_ids.discard(document_id)
        if not open_ids:
            return
        spacing = max(interval, requests * 60.0 / requests_per_minute)
        await clock.sleep(max(0.0, spacing - (clock.monotonic() - started)))


async def look_up(
    documents: Documents, wanted: set[int], known: Mapping[int, Document] | None = None
) -> tuple[dict[int, Document], int]:
    """The wanted documents, and the requests it took: from the unfiltered list, newest
    first, 100 a page, not one GET each. It stops when all are found, or at the first
    page older than all of them when `known` (an earlier look) gives their creation
    times. A document the list never shows (deleted, another team's) is fetched, so
    its typed error surfaces. The watch uses it each round; `batch status` once."""
    known = known or {}
    oldest: datetime.datetime | None = None
    if wanted and all(i in known for i in wanted):
        oldest = min(known[i].created_at for i in wanted)
    found: dict[int, Document] = {}
    requests = 0
    page = 1
    while len(found) < len(wanted):
        result = await documents.list(page=page, per_page=_PER_PAGE)
        requests += 1
        found.update((d.id, d) for d in result.documents if d.id in wanted)
        past_oldest = (
            oldest is not None
            and bool(result.documents)
            and all(d.created_at < oldest for d in result.documents)
        )
        if past_oldest or page >= result.total_pages or not result.documents:
            break
        page += 1
    for document_id in sorted(wanted - found.keys()):
        found[document_id] = await documents.get(document_id)
        requests += 1
    return found, requests


def until_statuses(until: Iterable[DocumentStatus | str]) -> frozenset[str]:
    statuses = frozenset(str(s) for s in until)
    if not statuses:
        raise InvalidInputError("until is empty", field="until")
    return statuses
