"""Doing a request exactly once, though Pacta has no idempotency keys.

A failed request is refused (repeating cannot help), certainly not sent (safe to
repeat), or maybe sent: its answer was lost to a timeout, a dropped connection or a
5xx. `Engine.once` repeats only the second kind and asks a check before repeating
the third, such as "is there a document with this externalId?", answered for many
items at once by `ExternalIdFinder`. A check that keeps failing ends in
`UnknownOutcomeError`, never in a guess.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from .._clock import Clock
from .._errors import (
    InvalidDocumentStatusError,
    PactaError,
    RateLimitError,
    UnknownOutcomeError,
)
from ..types import Document
from ._finder import ExternalIdFinder
from ._journal import Journal
from ._outcome import Outcome, as_pacta_error, backoff, classify

if TYPE_CHECKING:
    from .._resources import Documents, Templates

__all__ = ["Engine"]

R = TypeVar("R")

# Tries of one request (a send, an upload, a field) before the item fails.
_MAX_ATTEMPTS = 6
# How long one item may spend checking whether its send happened before it is
# reported as an unknown outcome.
_CHECK_BUDGET = 300.0


class Engine:
    """What items share while a batch runs: the client, the journal, the finder, and
    the loop that repeats a request only once it is sure the last try did not happen.
    """

    def __init__(
        self,
        documents: Documents,
        templates: Templates,
        clock: Clock,
        journal: Journal,
        floor: int | None,
    ) -> None:
        self.documents = documents
        self.templates = templates
        self.clock = clock
        self.journal = journal
        self._finder = ExternalIdFinder(documents)
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
                error = as_pacta_error(exc)
            outcome = classify(error)
            # After an attempt in doubt, "not a DRAFT any more" may be that attempt's doing.
            if outcome is Outcome.REJECTED and not (
                uncertain and isinstance(error, InvalidDocumentStatusError)
            ):
                raise error
            if outcome is Outcome.NOT_SENT:
                if attempts >= _MAX_ATTEMPTS:
                    raise error
                retry_after = error.retry_after if isinstance(error, RateLimitError) else None
                await self.clock.sleep(retry_after or backoff(attempts))
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
        deadline = self.clock.monotonic() + _CHECK_BUDGET
        tries = 0
        while True:
            tries += 1
            await self.clock.sleep(backoff(tries))
            try:
                return await check()
            except Exception as exc:
                error = as_pacta_error(exc)
            refused = classify(error) is Outcome.REJECTED  # asking again will not help
            if refused or self.clock.monotonic() >= deadline:
                what = f"after {cause}" if cause is not None else "in a run that stopped"
                how = "was refused" if refused else f"failed for {_CHECK_BUDGET:.0f}s"
                raise UnknownOutcomeError(
                    f"could not find out whether the request went through {what}: checking "
                    f"{how} (last: {error}); not reported as sent"
                ) from error
