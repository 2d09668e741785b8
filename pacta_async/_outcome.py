"""Doing a request exactly once, though Pacta has no idempotency keys.

A failed request is refused (repeating cannot help), certainly not sent (safe to
repeat), or maybe sent: its answer was lost to a timeout, a dropped connection or a
5xx. `Engine.once` repeats only the second kind and asks a check before repeating
the third, such as "is there a document with this externalId?", answered for many
items at once by `_ExternalIdFinder`. A check that keeps failing ends in
`UnknownOutcomeError`, never in a guess.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import anyio

from ._errors import (
    APIConnectionError,
    APIStatusError,
    InvalidDocumentStatusError,
    InvalidInputError,
    PactaError,
    RateLimitError,
    UnknownOutcomeError,
)
from ._journal import Journal
from ._retry import NOT_SENT_ERRORS
from ._validation import MAX_PER_PAGE
from .types import Document

if TYPE_CHECKING:
    from ._client import PactaClient

__all__ = ["Engine"]

R = TypeVar("R")

# Tries of one request (a send, an upload, a field) before the item fails.
_MAX_ATTEMPTS = 6
# How long one item may spend checking whether its send happened before it is
# reported as an unknown outcome.
_CHECK_BUDGET = 300.0
_BACKOFF_START = 0.25
_BACKOFF_CAP = 10.0


# -- failures -----------------------------------------------------------------------


class _Outcome(enum.Enum):
    REJECTED = enum.auto()  # Pacta refused it: repeating cannot help
    NOT_SENT = enum.auto()  # certainly not processed: safe to repeat
    MAYBE = enum.auto()  # may have been processed: check before repeating


def _classify(error: PactaError) -> _Outcome:
    if isinstance(error, RateLimitError):
        return _Outcome.NOT_SENT
    if isinstance(error, APIConnectionError) and isinstance(error.__cause__, NOT_SENT_ERRORS):
        return _Outcome.NOT_SENT
    if isinstance(error, InvalidInputError) or (
        isinstance(error, APIStatusError) and error.status_code < 500
    ):
        return _Outcome.REJECTED
    # 5xx, timeouts, dropped connections, and anything unexpected after the request left.
    return _Outcome.MAYBE


def _as_pacta_error(exc: Exception) -> PactaError:
    """Errors outside the transport (a body cut off while read) become PactaErrors."""
    if isinstance(exc, PactaError):
        return exc
    error = PactaError(f"{type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def _backoff(attempt: int) -> float:
    return min(_BACKOFF_CAP, _BACKOFF_START * 2.0 ** (attempt - 1))


# -- finding generated documents ----------------------------------------------------


class _Lookup:
    def __init__(self, external_id: str, floor: int) -> None:
        self.external_id = external_id
        self.floor = floor  # the document, if made, is newer than this one
        self.done = False
        self.document: Document | None = None
        self.error: Exception | None = None


class _ExternalIdFinder:
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

    def __init__(self, client: PactaClient) -> None:
        self._client = client
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
            listing = await self._client.documents.list(page=page, per_page=MAX_PER_PAGE)
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


# -- the engine ---------------------------------------------------------------------


class Engine:
    """What items share while a batch runs: the client, the journal, the finder, and
    the loop that repeats a request only once it is sure the last try did not happen.
    """

    def __init__(self, client: PactaClient, journal: Journal, floor: int | None) -> None:
        self.client = client
        self.journal = journal
        self._clock = client._clock
        self._finder = _ExternalIdFinder(client)
        # The newest document before the batch began, and the newest it has made since.
        self._floor = self._newest = floor or 0

    async def create_once(
        self, create: Callable[[], Awaitable[Document]], external_id: str, *, maybe_created: bool
    ) -> Document:
        """Make the document that carries `external_id`, exactly once."""
        # An item in flight in a run that died may have made its document any time since
        # the batch began; otherwise, only after the newest document seen so far.
        floor = self._floor if maybe_created else self._newest

        async def attempt() -> Document:
            document = await create()
            self._newest = max(self._newest, document.id)
            return document

        async def made() -> Document | None:
            return await self._finder.find(external_id, floor)

        return await self.once(attempt, made, maybe_happened=maybe_created)

    async def once(
        self,
        attempt: Callable[[], Awaitable[R]],
        check: Callable[[], Awaitable[R | None]],
        *,
        maybe_happened: bool,
    ) -> R:
        """Run `attempt` until it succeeds, asking `check` (what it made, or None) before
        repeating one that may have gone through. Raises the last error once it certainly
        did not happen, or `UnknownOutcomeError` when that cannot be found out.
        """
        attempts = 0
        uncertain = maybe_happened  # some attempt, in this run or a dead one, may have worked
        error: PactaError | None = None
        while True:
            if maybe_happened:
                found = await self._check(check, error)
                if found is not None:
                    return found
                maybe_happened = False
                if error is not None and attempts >= _MAX_ATTEMPTS:
                    raise error
            attempts += 1
            try:
                return await attempt()
            except Exception as exc:
                error = _as_pacta_error(exc)
            outcome = _classify(error)
            # After an attempt in doubt, "not a DRAFT any more" may be that attempt's doing.
            if outcome is _Outcome.REJECTED and not (
                uncertain and isinstance(error, InvalidDocumentStatusError)
            ):
                raise error
            if outcome is _Outcome.NOT_SENT:
                if attempts >= _MAX_ATTEMPTS:
                    raise error
                retry_after = error.retry_after if isinstance(error, RateLimitError) else None
                await self._clock.sleep(retry_after or _backoff(attempts))
            else:
                uncertain = maybe_happened = True

    async def _check(
        self, check: Callable[[], Awaitable[R | None]], cause: PactaError | None
    ) -> R | None:
        """`check()`, retried with backoff; `UnknownOutcomeError` once that is hopeless.

        It waits before each try: a request whose answer was lost may still be in
        Pacta's hands for a moment. (One Pacta processes only after the check has
        looked cannot be caught; waiting makes that unlikely.)
        """
        deadline = self._clock.monotonic() + _CHECK_BUDGET
        tries = 0
        while True:
            tries += 1
            await self._clock.sleep(_backoff(tries))
            try:
                return await check()
            except Exception as exc:
                error = _as_pacta_error(exc)
            refused = _classify(error) is _Outcome.REJECTED  # asking again will not help
            if refused or self._clock.monotonic() >= deadline:
                what = f"after {cause}" if cause is not None else "in a run that stopped"
                how = "was refused" if refused else f"failed for {_CHECK_BUDGET:.0f}s"
                raise UnknownOutcomeError(
                    f"could not find out whether the request went through {what}: checking "
                    f"{how} (last: {error}); not reported as sent"
                ) from error
