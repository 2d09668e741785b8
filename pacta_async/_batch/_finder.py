"""Finding the documents a batch made, by the externalId it gave them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from .._validation import MAX_PER_PAGE
from ..types import Document

if TYPE_CHECKING:
    from .._resources import Documents

__all__ = ["ExternalIdFinder"]


class _Lookup:
    def __init__(self, external_id: str, floor: int) -> None:
        self.external_id = external_id
        self.floor = floor  # the document, if made, is newer than this one
        self.done = False
        self.document: Document | None = None
        self.error: Exception | None = None


class ExternalIdFinder:
    """Finds documents by externalId, one scan for many lookups.

    The API cannot filter by externalId, so a lookup pages through documents newest
    first, down to a floor: the newest document known before the item's first
    request left, which its document (ids only grow) must be newer than. That is
    usually the first page. Lookups made while a scan runs wait for the next scan,
    which serves them all, so an outage that leaves a hundred items in doubt costs a
    few scans, not a hundred. A scan only answers lookups registered before it
    started: their documents, if any, existed before it read the first page, and
    newer documents can only push them to later pages, never hide them.
    """

    def __init__(self, documents: Documents) -> None:
        self._documents = documents
        self._lock = anyio.Lock()
        self._waiting: list[_Lookup] = []

    async def find(self, external_id: str, floor: int) -> Document | None:
        lookup = _Lookup(external_id, floor)
        self._waiting.append(lookup)
        async with self._lock:
            if not lookup.done:
                await self._serve_waiting()
        if lookup.error is not None:
            raise lookup.error
        return lookup.document

    async def _serve_waiting(self) -> None:
        batch, self._waiting = self._waiting, []
        wanted: dict[str, int] = {}
        for lookup in batch:
            wanted[lookup.external_id] = min(
                lookup.floor, wanted.get(lookup.external_id, lookup.floor)
            )
        try:
            found = await self._scan(wanted)
        except Exception as exc:
            for lookup in batch:
                lookup.error, lookup.done = exc, True
            return
        except BaseException:  # cancelled: the next scan serves these
            self._waiting.extend(batch)
            raise
        for lookup in batch:
            lookup.document, lookup.done = found.get(lookup.external_id), True

    async def _scan(self, missing: dict[str, int]) -> dict[str, Document]:
        found: dict[str, Document] = {}
        stop = min(missing.values())
        page = 1
        while True:
            listing = await self._documents.list(page=page, per_page=MAX_PER_PAGE)
            for document in listing.documents:
                if document.id <= stop:
                    return found
                external_id = document.external_id
                if external_id is not None and external_id in missing:
                    found[external_id] = document
                    del missing[external_id]
                    if not missing:
                        return found
                    stop = min(missing.values())
            if page >= listing.total_pages:
                return found
            page += 1
