"""`client.batch`: send to many, as fast as the rate limits allow, each exactly once.

Items flow from the caller's iterable through a bounded stream to a fixed set of
workers, and results flow back one at a time, so neither inputs nor results pile up
in memory. Pacing is the rate limiter's job (in the transport): workers just send.

Pacta has no idempotency keys, so a send whose answer was lost (a timeout, a
dropped connection, a 5xx) may or may not have happened. Such an item is checked
before it is repeated: a sent document is no longer DRAFT, and a document generated
from a template carries the externalId the batch gave it. Only a send that certainly
did not happen is repeated; when the check itself keeps failing, the item is
reported failed with `UnknownOutcomeError`, never as sent. A journal extends the
same checks across processes, for an item that was in flight when one died.

Here: the `Batch` facade and the runner (workers, journal bookkeeping, totals).
"""

from __future__ import annotations

import contextlib
import inspect
import os
import secrets
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from .._clock import Clock
from .._errors import InvalidInputError, JournalError, PactaError, UnknownOutcomeError
from .._params import CreateItem, GenerateItem
from .._validation import check_id
from ._engine import Engine
from ._journal import BatchHeader, ItemState, Journal, NoJournal, open_journal
from ._kinds import CreateAndSend, Generate, Kind, SendDrafts
from ._results import BatchSummary, ItemResult, ItemStatus

if TYPE_CHECKING:
    from .._resources import Documents, Templates

__all__ = ["DEFAULT_CONCURRENCY", "Batch"]

T = TypeVar("T")

DEFAULT_CONCURRENCY = 8

Inputs = Iterable[T] | AsyncIterable[T]
ResultCallback = Callable[[ItemResult[T]], Awaitable[None] | None]
ProgressCallback = Callable[[BatchSummary], None]


class _Runner(Generic[T]):
    """One run of one batch: the workers, the journal bookkeeping per item, the totals."""

    def __init__(self, engine: Engine, header: BatchHeader, kind: Kind[T]) -> None:
        self._engine = engine
        self._journal = engine.journal
        self._header = header
        self._kind = kind
        self._clock = engine.clock

    async def process(self, index: int, item: T) -> ItemResult[T]:
        try:
            prepared = self._kind.prepare(index, item, self._header.batch_id)
        except InvalidInputError as exc:
            return ItemResult(index, item, ItemStatus.FAILED, error=exc)
        key, external_id = prepared.key, prepared.external_id
        row = await self._journal.get(key)
        if row is not None and row.fingerprint != prepared.fingerprint:
            error = JournalError(
                f"item {index} ({key}) differs from the item the journal recorded under that "
                "key: were the inputs changed or reordered since the first run?"
            )
            return ItemResult(index, item, ItemStatus.FAILED, external_id=external_id, error=error)
        if row is not None and row.state is ItemState.SENT:
            return ItemResult(index, item, ItemStatus.SKIPPED, row.document_id, external_id)
        if row is None or row.state is not ItemState.IN_FLIGHT:
            await self._journal.in_flight(key, prepared.fingerprint, None)
        try:
            document_id = await self._kind.run(self._engine, item, prepared, row)
        except JournalError:
            raise
        except UnknownOutcomeError as exc:
            await self._journal.unknown(key, str(exc))
            return ItemResult(index, item, ItemStatus.FAILED, external_id=external_id, error=exc)
        except PactaError as exc:
            await self._journal.failed(key, str(exc))
            return ItemResult(index, item, ItemStatus.FAILED, external_id=external_id, error=exc)
        with anyio.CancelScope(shield=True):  # sent: worth recording even when cancelled
            await self._journal.sent(key, document_id)
        return ItemResult(index, item, ItemStatus.SUCCEEDED, document_id, external_id)

    async def run(
        self,
        inputs: Inputs[T],
        concurrency: int,
        on_result: ResultCallback[T] | None,
        on_progress: ProgressCallback | None,
    ) -> BatchSummary:
        started = self._clock.monotonic()
        totals = {status: 0 for status in ItemStatus}
        send_items, receive_items = anyio.create_memory_object_stream[tuple[int, T]](concurrency)
        send_results, receive_results = anyio.create_memory_object_stream[ItemResult[T]](
            concurrency
        )

        def summary() -> BatchSummary:
            return BatchSummary(
                self._header.batch_id,
                totals[ItemStatus.SUCCEEDED],
                totals[ItemStatus.FAILED],
                totals[ItemStatus.SKIPPED],
                self._clock.monotonic() - started,
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(_feed, inputs, send_items)
            async with send_results:
                for _ in range(concurrency):
                    tg.start_soon(self._work, receive_items.clone(), send_results.clone())
            receive_items.close()
            async with receive_results:
                async for result in receive_results:
                    totals[result.status] += 1
                    if on_result is not None:
                        returned = on_result(result)
                        if inspect.isawaitable(returned):
                            await returned
                    if on_progress is not None:
                        on_progress(summary())
        return summary()

    async def _work(
        self,
        items: ObjectReceiveStream[tuple[int, T]],
        results: ObjectSendStream[ItemResult[T]],
    ) -> None:
        # A broken stream means the other side died, and its error is the one to report.
        with contextlib.suppress(anyio.BrokenResourceError):
            async with items, results:
                async for index, item in items:
                    await results.send(await self.process(index, item))


async def _feed(inputs: Inputs[T], items: ObjectSendStream[tuple[int, T]]) -> None:
    with contextlib.suppress(anyio.BrokenResourceError):  # as in `_work`
        async with items:
            if isinstance(inputs, AsyncIterable):
                index = 0
                async for item in inputs:
                    await items.send((index, item))
                    index += 1
            else:
                for index, item in enumerate(inputs):
                    await items.send((index, item))


def _check_inputs(inputs: object, what: str) -> None:
    iterable = isinstance(inputs, Iterable | AsyncIterable)
    if not iterable or isinstance(inputs, str | bytes | dict):
        raise InvalidInputError(
            f"{what} must be an iterable or async iterable of items, got {type(inputs).__name__}",
            field=what,
        )


def _check_concurrency(concurrency: object) -> int:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidInputError(
            f"concurrency must be a positive integer, got {concurrency!r}", field="concurrency"
        )
    return concurrency


def _single(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one error inside (nested) groups, or None when there are several."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop()
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
        else:
            leaves.append(error)
    return leaves[0] if len(leaves) == 1 else None


class Batch:
    """`client.batch`: many sends at once, each exactly once, optionally resumable.

    Every method takes the inputs as an iterable or async iterable and consumes them
    as it goes; per-item results go to `on_result` (sync or async) as they finish,
    and running totals to `on_progress`. It returns the totals. A failing item never
    stops the others; errors about the batch as a whole (bad arguments, an unusable
    journal) are raised before anything is sent.

    `journal`: a SQLite file. Rerunning the same batch with it skips what was sent,
    checks what was in flight, and retries what failed.
    """

    def __init__(self, documents: Documents, templates: Templates, clock: Clock) -> None:
        self._documents = documents
        self._templates = templates
        self._clock = clock

    async def send_many(
        self,
        document_ids: Inputs[int],
        *,
        send_email: bool = True,
        concurrency: int = DEFAULT_CONCURRENCY,
        journal: str | os.PathLike[str] | None = None,
        on_result: ResultCallback[int] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BatchSummary:
        """Send existing DRAFT documents for signature."""
        _check_inputs(document_ids, "document_ids")
        return await self._run(
            SendDrafts(send_email), document_ids, concurrency, journal, on_result, on_progress
        )

    async def generate_many(
        self,
        template_id: int,
        inputs: Inputs[GenerateItem],
        *,
        send_email: bool = True,
        concurrency: int = DEFAULT_CONCURRENCY,
        journal: str | os.PathLike[str] | None = None,
        on_result: ResultCallback[GenerateItem] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BatchSummary:
        """Generate and send one document from the template per item."""
        check_id(template_id, "template_id")
        _check_inputs(inputs, "inputs")
        return await self._run(
            Generate(template_id, send_email), inputs, concurrency, journal, on_result, on_progress
        )

    async def create_and_send_many(
        self,
        inputs: Inputs[CreateItem],
        *,
        send_email: bool = True,
        concurrency: int = DEFAULT_CONCURRENCY,
        journal: str | os.PathLike[str] | None = None,
        on_result: ResultCallback[CreateItem] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BatchSummary:
        """Upload each item's PDF, place its fields, and send it."""
        _check_inputs(inputs, "inputs")
        return await self._run(
            CreateAndSend(send_email), inputs, concurrency, journal, on_result, on_progress
        )

    async def _run(
        self,
        kind: Kind[T],
        inputs: Inputs[T],
        concurrency: int,
        journal_path: str | os.PathLike[str] | None,
        on_result: ResultCallback[T] | None,
        on_progress: ProgressCallback | None,
    ) -> BatchSummary:
        concurrency = _check_concurrency(concurrency)
        journal: Journal = NoJournal() if journal_path is None else await open_journal(journal_path)
        try:
            header = await self._header(journal, kind, journal_path)
            engine = Engine(
                self._documents, self._templates, self._clock, journal, header.floor_document_id
            )
            try:
                return await _Runner(engine, header, kind).run(
                    inputs, concurrency, on_result, on_progress
                )
            except BaseExceptionGroup as group:
                single = _single(group)
                if single is None:
                    raise
                raise single from None
        finally:
            with anyio.CancelScope(shield=True):
                await journal.aclose()

    async def _header(
        self, journal: Journal, kind: Kind[Any], path: str | os.PathLike[str] | None
    ) -> BatchHeader:
        header = await journal.header()
        if header is not None:
            if (header.kind, header.target) != (kind.name, kind.target):
                theirs = _describe(header.kind, header.target)
                raise JournalError(
                    f"{path} is the journal of another batch ({theirs}), not of this one "
                    f"({_describe(kind.name, kind.target)}); use a new journal file for a new batch"
                )
            return header
        floor = await self._newest_document_id() if kind.finds_by_external_id else None
        header = BatchHeader(f"batch-{secrets.token_hex(6)}", kind.name, kind.target, floor)
        await journal.start(header)
        return header

    async def _newest_document_id(self) -> int:
        listing = await self._documents.list(page=1, per_page=1)
        return listing.documents[0].id if listing.documents else 0


def _describe(kind: str, target: str) -> str:
    return f"{kind} from template {target}" if target else kind
