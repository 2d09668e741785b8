"""`client.batch`: send to many, as fast as the rate limits allow, each exactly once.

Items flow from the caller's iterable through a bounded stream to a fixed set of
workers, and results flow back one at a time, so neither inputs nor results pile up
in memory. Pacing is the rate limiter's job (in the transport): workers just send.

Pacta has no idempotency keys, so a send whose answer was lost (a timeout, a
dropped connection, a 5xx) may or may not have happened. Such an item is checked
before it is repeated: a sent document is no longer DRAFT, and a document generated
from a template carries the externalId the batch gave it, one made from the batch
identity and the item's content. Only a send that certainly did not happen is
repeated; when the check itself keeps failing, the item is reported `unknown`
(`UnknownOutcomeError`), never as sent.

The server is the source of truth, the journal an accelerator: a batch that no
journal vouches for (none given, a new, empty or lost one) first lists what Pacta
already holds, and skips it.

Here: the `Batch` facade and the runner (workers, journal bookkeeping, totals).
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
import os
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar, Unpack

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from .._clock import Clock
from .._errors import (
    InvalidInputError,
    JournalError,
    PactaError,
    UnknownOutcomeError,
)
from .._params import CreateItem, GenerateItem
from .._validation import check_id, check_text
from ..types import Document, DocumentStatus
from ._engine import Engine, traced
from ._export import (
    DEFAULT_EXPORT_CONCURRENCY,
    ExportSummary,
    check_concurrency,
    check_folder,
    check_ids,
    check_status,
    export,
)
from ._export import ProgressCallback as ExportProgressCallback
from ._export import ResultCallback as ExportResultCallback
from ._finder import ExternalIdFinder
from ._journal import Account, BatchHeader, ItemState, Journal, NoJournal, open_journal
from ._kinds import CreateAndSend, Generate, Kind, SendDrafts
from ._reachability import Reachability, Stopping
from ._results import BatchSummary, Duplicate, ItemResult, ItemStatus

if TYPE_CHECKING:
    from .._resources import Documents, Templates

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_UNREACHABLE_TIMEOUT",
    "Batch",
    "BatchOptions",
    "token_hash",
]

T = TypeVar("T")

DEFAULT_CONCURRENCY = 8
# Added to the longest a request can take: Pacta may still be working on it then.
SETTLE_MARGIN = 10.0
DEFAULT_UNREACHABLE_TIMEOUT = 300.0
_TICK = 1.0  # seconds between progress updates while Pacta is unreachable

Inputs = Iterable[T] | AsyncIterable[T]
ResultCallback = Callable[[ItemResult[T]], Awaitable[None] | None]
ProgressCallback = Callable[[BatchSummary], None]


class BatchOptions(TypedDict, Generic[T], total=False):
    """The keywords of `send_many`, `generate_many` and `create_and_send_many`
    (each optional): see `Batch`."""

    send_email: bool  # email the recipients (default True)
    concurrency: int  # items in flight at once (default 8)
    journal: str | os.PathLike[str] | None  # a SQLite file that makes reruns cheap
    batch_id: str | None  # names the batch: each item's externalId derives from it
    settle_window: float | None  # seconds Pacta may still process a lost request
    unreachable_timeout: float  # stop (resumably) after this long without Pacta (300)
    on_result: ResultCallback[T] | None  # each item's result, sync or async
    on_progress: ProgressCallback | None  # running totals


def _checked(options: BatchOptions[Any], method: str) -> bool:
    """`send_email`, once every keyword is known to be one (as Python checks them)."""
    for name in options:
        if name not in BatchOptions.__optional_keys__:
            raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")
    return options.get("send_email", True)


log = logging.getLogger("pacta_async.batch")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class _Runner(Generic[T]):
    """One run of one batch: the workers, the journal bookkeeping per item, the totals."""

    def __init__(
        self, engine: Engine, header: BatchHeader, kind: Kind[T], held: dict[str, Document]
    ) -> None:
        self._engine = engine
        self._journal = engine.journal
        self._header = header
        self._kind = kind
        self._clock = engine.clock
        self._held = held  # what the server held before this run, when no journal vouches
        self._seen: dict[str, int] = {}  # content key -> the first item with it, this run

    async def process(self, index: int, item: T) -> ItemResult[T] | None:
        """The item's result; None when the batch stopped it."""
        try:
            prepared = self._kind.prepare(item, self._header.batch_id)
        except InvalidInputError as exc:
            return ItemResult(index, item, ItemStatus.FAILED, error=exc)
        key, external_id = prepared.key, prepared.external_id
        if external_id is not None:
            first = self._seen.setdefault(external_id, index)
            if first != index:
                error = InvalidInputError(
                    f"item {index} is the same as item {first} (externalId {external_id}); "
                    "it is sent once"
                )
                return ItemResult(
                    index, item, ItemStatus.FAILED, external_id=external_id, error=error
                )
        row = await self._journal.get(key)
        if row is not None and row.fingerprint != prepared.fingerprint:
            error = InvalidInputError(
                f"item {index} has externalId {external_id or key}, which an earlier run of "
                "this batch sent with different content; give a changed item a new externalId"
            )
            return ItemResult(index, item, ItemStatus.FAILED, external_id=external_id, error=error)
        if row is not None and row.state is ItemState.SENT:
            return ItemResult(index, item, ItemStatus.SKIPPED, row.document_id, external_id)
        document_id = None if row is None else row.document_id
        held = None if external_id is None or row is not None else self._held.get(external_id)
        if held is not None:
            document_id = held.id
            if held.status != DocumentStatus.DRAFT or self._kind.name != "create_and_send":
                await self._journal.in_flight(key, prepared.fingerprint, held.id)
                await self._journal.sent(key, held.id)
                return ItemResult(index, item, ItemStatus.SKIPPED, held.id, external_id)
        maybe_sent = row is not None and row.state in {ItemState.IN_FLIGHT, ItemState.UNKNOWN}
        if row is None or row.state is not ItemState.IN_FLIGHT:
            await self._journal.in_flight(key, prepared.fingerprint, document_id)
        # Pending again if the batch stops it before any of its requests arrived.
        untouched = document_id is None and (row is None or row.state is ItemState.FAILED)
        with traced() as trace:
            try:
                document_id, before = await self._kind.run(
                    self._engine, item, prepared, maybe_sent=maybe_sent, document_id=document_id
                )
            except UnknownOutcomeError as exc:
                await self._journal.unknown(key, str(exc))
                return ItemResult(
                    index, item, ItemStatus.UNKNOWN, external_id=external_id, error=exc
                )
            except Stopping:
                await self._stopped(key, untouched and not trace.maybe_processed)
                return None  # the batch is stopping: `Reachability.enforce` raises why
            except PactaError as exc:
                if isinstance(exc, JournalError):
                    raise  # the item stays in flight: a rerun checks it before anything else
                if self._kind.fatal(exc):
                    # Every item would meet it: stop them all, letting requests on their
                    # way come back, rather than cancelling them where they are.
                    self._engine.reachability.stop(exc)
                    await self._stopped(key, untouched and not trace.maybe_processed)
                    return None
                await self._journal.failed(key, str(exc))
                return ItemResult(
                    index, item, ItemStatus.FAILED, external_id=external_id, error=exc
                )
            except anyio.get_cancelled_exc_class():  # the batch stopped (a signal, a deadline)
                with anyio.CancelScope(shield=True):
                    await self._stopped(key, untouched and not trace.maybe_processed)
                raise
        with anyio.CancelScope(shield=True):  # sent: worth recording even when cancelled
            await self._journal.sent(key, document_id)
        status = ItemStatus.SKIPPED if before else ItemStatus.SENT
        return ItemResult(index, item, status, document_id, external_id)

    async def _stopped(self, key: str, not_sent: bool) -> None:
        """An item the batch stopped: pending again if nothing of it reached Pacta, else
        left in flight, for a rerun to check before anything else."""
        if not_sent:
            # Failing here leaves it in flight, which is safe; the stop's cause is the news.
            with contextlib.suppress(JournalError):
                await self._journal.pending(key)

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

        def summary(duplicates: tuple[Duplicate, ...] = ()) -> BatchSummary:
            return BatchSummary(
                self._header.batch_id,
                sent=totals[ItemStatus.SENT],
                failed=totals[ItemStatus.FAILED],
                skipped=totals[ItemStatus.SKIPPED],
                unknown=totals[ItemStatus.UNKNOWN],
                elapsed=self._clock.monotonic() - started,
                duplicates=duplicates,
                unreachable_since=self._engine.reachability.since_wall,
            )

        async def tick() -> None:
            while on_progress is not None:
                await self._clock.sleep(_TICK)
                if self._engine.reachability.since_wall is not None:
                    on_progress(summary())

        async with anyio.create_task_group() as tg:
            tg.start_soon(_feed, inputs, send_items)
            tg.start_soon(tick)
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
            tg.cancel_scope.cancel()  # the ticker
        return summary(await self._reconcile())

    async def _reconcile(self) -> tuple[Duplicate, ...]:
        """Look for items Pacta made twice (a request processed after every check)."""
        if not self._engine.doubted and not self._held:
            return ()
        found = await self._engine.finder.duplicates(set(self._seen), self._engine.floor)
        duplicates = tuple(
            Duplicate(self._seen[external_id], external_id, tuple(ids))
            for external_id, ids in sorted(found.items(), key=lambda pair: self._seen[pair[0]])
        )
        for duplicate in duplicates:
            log.warning(
                "item %d (externalId %s) has %d documents on Pacta: %s",
                duplicate.index,
                duplicate.external_id,
                len(duplicate.document_ids),
                ", ".join(map(str, duplicate.document_ids)),
            )
        return duplicates

    async def _work(
        self,
        items: ObjectReceiveStream[tuple[int, T]],
        results: ObjectSendStream[ItemResult[T]],
    ) -> None:
        # A broken stream means the other side died, and its error is the one to report.
        with contextlib.suppress(anyio.BrokenResourceError):
            async with items, results:
                async for index, item in items:
                    result = await self.process(index, item)
                    if result is None:
                        return  # stopping: the items not started stay pending
                    await results.send(result)


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


def _check_seconds(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise InvalidInputError(f"{what} must be a number of seconds >= 0, got {value!r}")
    return float(value)


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The error to raise for (nested) groups of batch errors: a journal failure first,
    then the first `PactaError`; None when something else is inside."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop()
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
        else:
            leaves.append(error)
    if len(leaves) == 1:
        return leaves[0]
    if not all(isinstance(leaf, PactaError) for leaf in leaves):
        return None
    journal = [leaf for leaf in leaves if isinstance(leaf, JournalError)]
    return (journal or leaves)[0]


class Batch:
    """`client.batch`: many sends at once, each exactly once, optionally resumable.

    Every method takes the inputs as an iterable or async iterable and consumes them
    as it goes; per-item results go to `on_result` (sync or async) as they finish,
    and running totals to `on_progress`. It returns the totals. A failing item never
    stops the others; errors about the batch as a whole (bad arguments, an unusable
    journal, a refused token, a missing template, Pacta unreachable for
    `unreachable_timeout` seconds) stop it with that one error.

    `batch_id` names the batch; each item's document gets an externalId made from it
    and the item's content (or the item's own `external_id`). It defaults to the kind
    of batch and its template: give a new one to send the same content again.
    `journal`: a SQLite file. Rerunning the same batch with it skips what was sent,
    checks what was in flight, and retries what failed; without one (or with a new
    one) a rerun first lists the team's documents to find what was sent.
    `settle_window`: how long after a create whose answer was lost Pacta may still
    process it; the item is repeated only after that (default: the request timeout
    plus 10 s).
    """

    def __init__(
        self,
        documents: Documents,
        templates: Templates,
        clock: Clock,
        *,
        account: Account,
        request_time: float,
    ) -> None:
        self._documents = documents
        self._templates = templates
        self._clock = clock
        self._account = account
        self._settle_window = request_time + SETTLE_MARGIN

    async def send_many(
        self, document_ids: Inputs[int], **options: Unpack[BatchOptions[int]]
    ) -> BatchSummary:
        """Send existing DRAFT documents for signature."""
        _check_inputs(document_ids, "document_ids")
        send_email = _checked(options, "send_many")
        return await self._run(SendDrafts(send_email), document_ids, options)

    async def generate_many(
        self,
        template_id: int,
        inputs: Inputs[GenerateItem],
        **options: Unpack[BatchOptions[GenerateItem]],
    ) -> BatchSummary:
        """Generate and send one document from the template per item."""
        check_id(template_id, "template_id")
        _check_inputs(inputs, "inputs")
        send_email = _checked(options, "generate_many")
        return await self._run(Generate(template_id, send_email), inputs, options)

    async def create_and_send_many(
        self, inputs: Inputs[CreateItem], **options: Unpack[BatchOptions[CreateItem]]
    ) -> BatchSummary:
        """Upload each item's PDF, place its fields, and send it."""
        _check_inputs(inputs, "inputs")
        send_email = _checked(options, "create_and_send_many")
        return await self._run(CreateAndSend(send_email), inputs, options)

    async def download_many(
        self,
        out: str | os.PathLike[str],
        document_ids: Inputs[int] | None = None,
        *,
        status: DocumentStatus | str = DocumentStatus.COMPLETED,
        original: bool = False,
        concurrency: int = DEFAULT_EXPORT_CONCURRENCY,
        on_result: ExportResultCallback | None = None,
        on_progress: ExportProgressCallback | None = None,
    ) -> ExportSummary:
        """Download these documents' signed PDFs (or, without ids, every document with
        `status`, found by listing) into the folder `out`, with ``out/manifest.csv``
        (id, title, externalId, status, completedAt, path, sha256, size), a row per
        file as soon as it is on disk. Rerun into the same folder, it skips every file
        the manifest lists whose size and SHA-256 still match, and downloads the rest.
        A failing document is reported to `on_result` and the others go on."""
        folder = check_folder(out)
        ids = None if document_ids is None else check_ids(document_ids)
        checked_status = check_status(status)
        if not isinstance(original, bool):
            raise InvalidInputError(
                f"original must be True or False, got {original!r}", field="original"
            )
        return await export(
            self._documents,
            self._clock,
            folder,
            document_ids=ids,
            status=checked_status,
            original=original,
            concurrency=check_concurrency(concurrency),
            on_result=on_result,
            on_progress=on_progress,
        )

    async def _run(
        self, kind: Kind[T], inputs: Inputs[T], options: BatchOptions[T]
    ) -> BatchSummary:
        concurrency = _check_concurrency(options.get("concurrency", DEFAULT_CONCURRENCY))
        batch_id = options.get("batch_id")
        if batch_id is not None:
            check_text(batch_id, "batch_id")
        settle_window = options.get("settle_window")
        settle = (
            self._settle_window
            if settle_window is None
            else _check_seconds(settle_window, "settle_window")
        )
        unreachable = options.get("unreachable_timeout", DEFAULT_UNREACHABLE_TIMEOUT)
        reachability = Reachability(self._clock, _check_seconds(unreachable, "unreachable_timeout"))
        journal_path = options.get("journal")
        on_result, on_progress = options.get("on_result"), options.get("on_progress")
        journal: Journal = NoJournal() if journal_path is None else await open_journal(journal_path)
        try:
            engine = Engine(
                self._documents,
                self._templates,
                self._clock,
                journal,
                None,
                settle=settle,
                reachability=reachability,
            )

            async def run() -> BatchSummary:
                header, held = await self._header(engine, kind, journal_path, batch_id)
                engine.floor = header.floor_document_id or 0
                return await _Runner(engine, header, kind, held).run(
                    inputs, concurrency, on_result, on_progress
                )

            try:
                return await reachability.enforce(run)
            except BaseExceptionGroup as group:
                first = _first_error(group)
                if first is None:
                    raise
                raise first from None
        finally:
            with anyio.CancelScope(shield=True):
                await journal.aclose()

    async def _header(
        self,
        engine: Engine,
        kind: Kind[Any],
        path: str | os.PathLike[str] | None,
        batch_id: str | None,
    ) -> tuple[BatchHeader, dict[str, Document]]:
        """The batch's header from the journal (checked), or a new one; and, when no
        journal vouches for the batch, what the server already holds of it."""
        header = await engine.journal.header()
        if header is not None:
            if (header.kind, header.target) != (kind.name, kind.target):
                theirs = _describe(header.kind, header.target)
                raise JournalError(
                    f"{path} is the journal of another batch ({theirs}), not of this one "
                    f"({_describe(kind.name, kind.target)}); use a new journal file for a new batch"
                )
            if batch_id is not None and batch_id != header.batch_id:
                raise JournalError(
                    f"{path} is the journal of batch {header.batch_id!r}, not {batch_id!r}"
                )
            await self._check_account(engine.finder, header.account, path)
            return header, {}
        batch_id = batch_id or _describe_id(kind)
        held: dict[str, Document] = {}
        if kind.finds_by_external_id:
            log.warning(
                "batch %s: no journal records it, so Pacta is checked first for items "
                "already sent: one request per 100 documents in the team",
                batch_id,
            )
            held, team_id = await engine.finder.index()
            log.warning(
                "batch %s: checked %d list pages; %d documents carry an externalId",
                batch_id,
                engine.finder.requests,
                len(held),
            )
            floor = max((document.id for document in held.values()), default=0)
            newest, team_id = await _newest(engine.finder, team_id)
            floor = max(floor, newest)
        else:
            floor, team_id = await _newest(engine.finder, None)
        account = _with_team(self._account, team_id)
        header = BatchHeader(batch_id, kind.name, kind.target, floor, account)
        await engine.journal.start(header)
        return header, held

    async def _check_account(
        self, finder: ExternalIdFinder, recorded: Account, path: str | os.PathLike[str] | None
    ) -> None:
        ours = self._account
        if recorded.base_url == ours.base_url and recorded.token_hash == ours.token_hash:
            return
        if recorded.base_url == ours.base_url:
            _, team_id = await _newest(finder, None)
            ours = _with_team(ours, team_id)
        if not recorded.same(ours):
            raise JournalError(
                f"{path} was written for {recorded.describe()}, not for {ours.describe()}; "
                "use a new journal file for another account"
            )


async def _newest(finder: ExternalIdFinder, team_id: int | None) -> tuple[int, int | None]:
    """The newest document's id (0 for none), and the team (when it has a document)."""
    newest = await finder.newest()
    if newest is None:
        return 0, team_id
    return newest.id, newest.team_id if team_id is None else team_id


def _with_team(account: Account, team_id: int | None) -> Account:
    return Account(account.base_url, account.token_hash, team_id)


def _describe(kind: str, target: str) -> str:
    return f"{kind} from template {target}" if target else kind


def _describe_id(kind: Kind[Any]) -> str:
    return f"{kind.name}-{kind.target}" if kind.target else kind.name
