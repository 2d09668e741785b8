"""Doing a request exactly once, though Pacta has no idempotency keys.

A failed request is refused (repeating cannot help), certainly not sent (safe to
repeat), or maybe sent: its answer was lost to a timeout, a dropped connection or a
5xx. `Engine.once` repeats only the second kind and asks a check before repeating
the third, such as "is there a document with this externalId?", answered for many
items at once by `ExternalIdFinder`. A check that keeps failing ends in
`UnknownOutcomeError`, never in a guess.

Pacta keeps processing a request its client gave up on, seconds later. So a create
in doubt is repeated only once a settle window (longer than the request could have
lasted) has passed since it left, and a check made after that finds nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, TypeVar

from .._clock import Clock
from .._errors import (
    APIConnectionError,
    ConfigurationError,
    InvalidDocumentStatusError,
    PactaError,
    RateLimitError,
    RateLimiterUnavailableError,
    UnknownOutcomeError,
)
from ..types import Document
from ._finder import ExternalIdFinder
from ._journal import Journal
from ._outcome import Outcome, as_pacta_error, backoff, classify
from ._reachability import Reachability, Stopping

if TYPE_CHECKING:
    from .._resources import Documents, Templates

__all__ = ["CHECK_BUDGET", "Engine", "Trace", "in_engine", "traced"]

R = TypeVar("R")

# Tries of one request (a send, an upload, a field) before the item fails.
_MAX_ATTEMPTS = 6
# How long one item may spend checking whether its send happened before it is
# reported as an unknown outcome.
CHECK_BUDGET = 300.0
# Set while an engine makes a request: a create with an externalId made inside one is
# already exactly once, and must not check and settle on its own besides.
in_engine: ContextVar[bool] = ContextVar("pacta_in_engine", default=False)


class Trace:
    """Whether a request of one item may have been processed by Pacta, in this run: an
    item stopped before any was goes back to pending, not to be checked on a rerun."""

    def __init__(self) -> None:
        self.maybe_processed = False


_trace: ContextVar[Trace | None] = ContextVar("pacta_batch_item", default=None)


@contextlib.contextmanager
def traced() -> Iterator[Trace]:
    """Trace the requests `Engine` makes for one item (in this task) while inside."""
    trace = Trace()
    token = _trace.set(trace)
    try:
        yield trace
    finally:
        _trace.reset(token)


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
        *,
        settle: float,
        reachability: Reachability,
    ) -> None:
        self.documents = documents
        self.templates = templates
        self.clock = clock
        self.journal = journal
        self.finder = ExternalIdFinder(documents, clock, CHECK_BUDGET, reachability)
        self.reachability = reachability
        self._settle = settle
        # The newest document before the batch began, and the newest it has made since.
        self.floor = floor or 0
        self._newest = self.floor
        self.doubted = False  # some create went into doubt: reconcile at the end

    async def create_once(
        self, create: Callable[[], Awaitable[Document]], external_id: str, *, maybe_created: bool
    ) -> Document:
        """Make the document that carries `external_id`, exactly once."""
        # An item in flight in a run that died may have made its document any time since
        # the batch began; otherwise, only after the newest document seen so far.
        floor = self.floor if maybe_created else self._newest

        async def attempt() -> Document:
            # Every earlier attempt is ruled out by now (found absent after its settle
            # window): only this one can make the document, after the newest known now.
            nonlocal floor
            floor = self._newest
            inside = in_engine.set(True)
            try:
                document = await create()
            finally:
                in_engine.reset(inside)
            self._newest = max(self._newest, document.id)
            return document

        async def made() -> Document | None:
            return await self.finder.find(external_id, floor)

        return await self.once(attempt, made, maybe_happened=maybe_created, settle=True)

    async def once(
        self,
        attempt: Callable[[], Awaitable[R]],
        check: Callable[[], Awaitable[R | None]],
        *,
        maybe_happened: bool,
        settle: bool = False,
    ) -> R:
        """Run `attempt` until it succeeds, asking `check` (what it made, or None) before
        repeating one that may have gone through. Raises the last error once it certainly
        did not happen, or `UnknownOutcomeError` when that cannot be found out.

        With `settle`, an attempt in doubt is repeated only after the settle window.
        """
        attempts = 0
        uncertain = maybe_happened  # some attempt, in this run or a dead one, may have worked
        error: PactaError | None = None
        # When the attempt in doubt left (a dead run's: at the latest, now).
        doubt_since = self.clock.monotonic()
        while True:
            if maybe_happened:
                asked = self.clock.monotonic()
                found = await self._check(check, error)
                settled = doubt_since + self._settle
                self.doubted = self.doubted or settle  # a late one may land: reconcile
                # Only a check that began after the window can rule the attempt out (one
                # that began before may have read its pages before the late one landed).
                if found is None and settle and asked < settled:
                    await self.reachability.pause(max(0.0, settled - self.clock.monotonic()))
                    found = await self._check(check, error)
                if found is not None:
                    return found
                maybe_happened = False
                if error is not None and attempts >= _MAX_ATTEMPTS:
                    raise error
            self.reachability.check()
            attempts += 1
            started = self.clock.monotonic()
            trace = _trace.get()
            processed_before = trace is not None and trace.maybe_processed
            if trace is not None:  # until its outcome says otherwise: it may arrive
                trace.maybe_processed = True
            try:
                result = await attempt()
            except Exception as exc:
                error = as_pacta_error(exc)
            else:
                self.reachability.reached()
                return result
            self.reachability.failed(error, started)
            outcome = classify(error)
            if trace is not None and outcome is not Outcome.MAYBE:
                trace.maybe_processed = processed_before
            # After an attempt in doubt, "not a DRAFT any more" may be that attempt's doing.
            if outcome is Outcome.REJECTED and not (
                uncertain and isinstance(error, InvalidDocumentStatusError)
            ):
                raise error
            if outcome is Outcome.NOT_SENT:
                # A fail-closed limiter lets nothing out until it is repaired: no retry
                # helps. While Pacta is unreachable, `reachability` decides when to stop.
                unreachable = isinstance(error, APIConnectionError)
                hopeless = isinstance(error, RateLimiterUnavailableError)
                if hopeless or (attempts >= _MAX_ATTEMPTS and not unreachable):
                    raise error
                retry_after = error.retry_after if isinstance(error, RateLimitError) else None
                await self.reachability.pause(retry_after or backoff(min(attempts, _MAX_ATTEMPTS)))
            else:
                uncertain = maybe_happened = True
                doubt_since = started

    async def _check(
        self, check: Callable[[], Awaitable[R | None]], cause: PactaError | None
    ) -> R | None:
        """`check()`, retried with backoff; `UnknownOutcomeError` once that is hopeless."""
        deadline = self.clock.monotonic() + CHECK_BUDGET
        tries = 0
        while True:
            tries += 1
            await self.reachability.pause(backoff(tries))
            started = self.clock.monotonic()
            try:
                found = await check()
            except Stopping:
                raise
            except Exception as exc:
                error = as_pacta_error(exc)
            else:
                self.reachability.reached()
                return found
            if isinstance(error, ConfigurationError | RateLimiterUnavailableError):
                raise error  # no check leaves until that changes: it stops the batch
            self.reachability.failed(error, started)
            refused = classify(error) is Outcome.REJECTED  # asking again will not help
            if refused or self.clock.monotonic() >= deadline:
                what = f"after {cause}" if cause is not None else "in a run that stopped"
                how = "was refused" if refused else f"failed for {CHECK_BUDGET:.0f}s"
                raise UnknownOutcomeError(
                    f"could not find out whether the request went through {what}: checking "
                    f"{how} (last: {error}); not reported as sent"
                ) from error
