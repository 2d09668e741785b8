"""Finding the documents a batch made, by the externalId it gave them."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio

from .._clock import Clock
from .._errors import PactaError, RateLimiterUnavailableError
from .._validation import MAX_PER_PAGE
from ..types import Document
from ._outcome import Outcome, as_pacta_error, backoff, classify
from ._reachability import Reachability

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

    A page that fails is asked again (the scan resumes there, it does not start
    over) until `budget` seconds pass without one page succeeding: at 50% 5xx a
    scan of 20 pages still finishes, at about twice its cost. Each page's fate goes to
    `reachability`, if given, so a scan that cannot reach Pacta counts toward its
    deadline as it goes.
    """

    def __init__(
        self,
        documents: Documents,
        clock: Clock,
        budget: float,
        reachability: Reachability | None = None,
    ) -> None:
        self._documents = documents
        self._clock = clock
        self._budget = budget
        self._reachability = reachability
        self._lock = anyio.Lock()
        self._waiting: list[_Lookup] = []
        self.requests = 0  # list pages asked for, failures included

    async def find(self, external_id: str, floor: int) -> Document | None:
        lookup = _Lookup(external_id, floor)
        self._waiting.append(lookup)
        async with self._lock:
            if not lookup.done:
                await self._serve_waiting()
        if lookup.error is not None:
            raise lookup.error
        return lookup.document

    async def index(self, floor: int = 0) -> tuple[dict[str, Document], int | None]:
        """Every document newer than `floor` that has an externalId (the oldest of each),
        and the team seen on the way: what the server already holds, before a batch
        that no journal vouches for sends anything."""
        held: dict[str, Document] = {}
        team_id: int | None = None
        async for document in self._newest_first(floor):
            team_id = document.team_id if team_id is None else team_id
            if document.external_id is not None:
                held[document.external_id] = document  # newest first: the oldest wins
        return held, team_id

    async def duplicates(self, external_ids: set[str], floor: int) -> dict[str, list[int]]:
        """The externalIds among `external_ids` that more than one document carries."""
        seen: collections.defaultdict[str, list[int]] = collections.defaultdict(list)
        async for document in self._newest_first(floor):
            if document.external_id in external_ids:
                seen[document.external_id].append(document.id)
        return {key: sorted(ids) for key, ids in seen.items() if len(ids) > 1}

    async def newest(self) -> Document | None:
        """The team's newest document, its page retried as any other."""
        documents, _ = await self._page(1, per_page=1)
        return documents[0] if documents else None

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
        async for document in self._newest_first(stop):
            if document.id <= stop:
                break
            external_id = document.external_id
            if external_id is not None and external_id in missing:
                found[external_id] = document
                del missing[external_id]
                if not missing:
                    break
                stop = min(missing.values())
        return found

    async def _newest_first(self, floor: int) -> AsyncIterator[Document]:
        """Documents newer than `floor`, newest first (ids only grow)."""
        page = 1
        while True:
            documents, total_pages = await self._page(page)
            for document in documents:
                if document.id <= floor:
                    return
                yield document
            if page >= total_pages:
                return
            page += 1

    async def _page(self, page: int, per_page: int = MAX_PER_PAGE) -> tuple[list[Document], int]:
        deadline = self._clock.monotonic() + self._budget
        tries = 0
        while True:
            tries += 1
            if self._reachability is not None:
                self._reachability.check()
            self.requests += 1
            started = self._clock.monotonic()
            try:
                listing = await self._documents.list(page=page, per_page=per_page)
            except Exception as exc:
                error: PactaError = as_pacta_error(exc)
            else:
                if self._reachability is not None:
                    self._reachability.reached()
                return listing.documents, listing.total_pages
            if self._reachability is not None:
                self._reachability.failed(error, started)
            # A fail-closed limiter lets no page out until it is fixed: asking again is no use.
            hopeless = isinstance(error, RateLimiterUnavailableError)
            if hopeless or classify(error) is Outcome.REJECTED:
                raise error
            if self._clock.monotonic() >= deadline:
                raise error
            if self._reachability is None:
                await self._clock.sleep(backoff(tries))
            else:
                await self._reachability.pause(backoff(tries))
