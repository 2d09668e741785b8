"""One document looked up, or made exactly once, by its externalId, outside a batch;
and one read done under a batch's rules, before the batch starts.

`client.documents.find` and a `create` or `generate` given an `external_id` use the
batch's own machinery: the finder's scan, which retries a failed page and resumes
there, and the engine's loop, which after an ambiguous failure checks the server,
waits out the settle window (Pacta keeps processing a request its client gave up
on) and repeats the request only when a fresh check finds nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from .._clock import Clock
from .._errors import PactaError, UnknownOutcomeError
from ..types import Document
from ._batch import DEFAULT_UNREACHABLE_TIMEOUT
from ._engine import CHECK_BUDGET, Engine, in_engine
from ._finder import ExternalIdFinder
from ._journal import NoJournal
from ._reachability import Reachability

if TYPE_CHECKING:
    from .._resources import Documents, Templates

__all__ = ["create_once", "find_by_external_id", "read_like_a_batch"]

T = TypeVar("T")


async def find_by_external_id(
    documents: Documents, clock: Clock, external_id: str
) -> Document | None:
    """The document carrying `external_id` (the newest, should there be several)."""
    finder = ExternalIdFinder(documents, clock, CHECK_BUDGET)
    return await finder.find(external_id, 0)


async def create_once(
    documents: Documents,
    templates: Templates,
    clock: Clock,
    create: Callable[[], Awaitable[Document]],
    external_id: str,
    *,
    settle: float,
) -> Document:
    """`create()`, whose document carries `external_id`, made exactly once.

    No floor is known without asking first, so a check scans down to the team's
    oldest document; the document it looks for is the newest, on the first page,
    when it exists.
    """
    if in_engine.get():  # a batch's request: its engine checks and settles it
        return await create()
    reachability = Reachability(clock, DEFAULT_UNREACHABLE_TIMEOUT)
    engine = Engine(
        documents, templates, clock, NoJournal(), None, settle=settle, reachability=reachability
    )
    return await reachability.enforce(
        lambda: engine.create_once(create, external_id, maybe_created=False)
    )


async def read_like_a_batch(
    documents: Documents,
    templates: Templates,
    clock: Clock,
    read: Callable[[], Awaitable[T]],
    *,
    unreachable_timeout: float,
) -> T:
    """`read()` through 429s, 5xx and outages, as the batch it comes before would ride
    them out, until the batch's unreachable deadline (then `ServerUnreachableError`).

    A run whose batch would have held up must not end on what its first read met.
    """
    reachability = Reachability(clock, unreachable_timeout)
    engine = Engine(
        documents, templates, clock, NoJournal(), None, settle=0.0, reachability=reachability
    )
    try:
        # A read changes nothing: reading again is the check after a failure in doubt.
        return await reachability.enforce(lambda: engine.once(read, read, maybe_happened=False))
    except UnknownOutcomeError as exc:  # a read leaves no outcome in doubt: its last error
        last = exc.__cause__
        if not isinstance(last, PactaError):
            raise
        raise last from last.__cause__
