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
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import inspect
import json
import os
import secrets
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, NotRequired, Protocol, TypedDict, TypeVar

import anyio
import attrs
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from ._errors import (
    APIConnectionError,
    APIStatusError,
    InvalidDocumentStatusError,
    InvalidInputError,
    PactaError,
    RateLimitError,
)
from ._journal import (
    BatchHeader,
    ItemState,
    Journal,
    JournalError,
    JournalRow,
    NoJournal,
    open_journal,
)
from ._multipart import FileInput
from ._retry import _NOT_SENT
from ._validation import (
    MAX_PER_PAGE,
    GenerateRecipientParam,
    RecipientParam,
    check_enum,
    check_field_geometry,
    check_id,
    check_recipients,
    check_template_recipients,
    check_text,
)
from .types import Document, DocumentStatus, Field, FieldType

if TYPE_CHECKING:
    from ._client import PactaClient

__all__ = [
    "DEFAULT_CONCURRENCY",
    "Batch",
    "BatchSummary",
    "CreateItem",
    "FieldParam",
    "GenerateItem",
    "ItemResult",
    "ItemStatus",
    "UnknownOutcomeError",
]

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)
R = TypeVar("R")

DEFAULT_CONCURRENCY = 8
# Tries of one request (a send, an upload, a field) before the item fails.
_MAX_ATTEMPTS = 6
# How long one item may spend checking whether its send happened before it is
# reported as an unknown outcome.
_CHECK_BUDGET = 300.0
_BACKOFF_START = 0.25
_BACKOFF_CAP = 10.0


class UnknownOutcomeError(PactaError):
    """A send may or may not have happened, and checking kept failing.

    The item is not reported as sent. With a journal it stays in flight, so a rerun
    checks it again before anything is repeated.
    """


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


Inputs = Iterable[T] | AsyncIterable[T]
ResultCallback = Callable[[ItemResult[T]], Awaitable[None] | None]
ProgressCallback = Callable[[BatchSummary], None]


# -- failures -----------------------------------------------------------------------


class _Outcome(enum.Enum):
    REJECTED = enum.auto()  # Pacta refused it: repeating cannot help
    NOT_SENT = enum.auto()  # certainly not processed: safe to repeat
    MAYBE = enum.auto()  # may have been processed: check before repeating


def _classify(error: PactaError) -> _Outcome:
    if isinstance(error, RateLimitError):
        return _Outcome.NOT_SENT
    if isinstance(error, APIConnectionError) and isinstance(error.__cause__, _NOT_SENT):
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


# -- one item -----------------------------------------------------------------------


@attrs.frozen
class _Prepared:
    key: str  # the item's name in the journal
    fingerprint: str  # so a rerun cannot mistake a different item for this one
    external_id: str | None


def _fingerprint(data: object) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _keyed(index: int, external_id: str | None, batch_id: str) -> tuple[str, str]:
    """The journal key and the document's externalId of a generated or uploaded item."""
    if external_id is not None:
        return f"external:{external_id}", external_id
    return f"index:{index}", f"{batch_id}-{index}"


def _check_keys(item: object, required: set[str], optional: set[str], kind: str) -> None:
    if not isinstance(item, dict):
        raise InvalidInputError(f"each item must be a {kind} dict, got {type(item).__name__}")
    missing = required - set(item)
    unknown = set(item) - required - optional
    if missing or unknown:
        problem = f"missing {sorted(missing)}" if missing else f"unknown keys {sorted(unknown)}"
        raise InvalidInputError(f"{kind}: {problem}")


class _Kind(Protocol[T_contra]):
    """What one kind of batch does with an item."""

    name: str
    target: str
    finds_by_external_id: bool

    def prepare(self, index: int, item: T_contra, batch_id: str) -> _Prepared:
        """Check the item (`InvalidInputError` before anything is sent) and name it."""
        ...

    async def run(
        self, engine: _Engine, item: T_contra, prepared: _Prepared, row: JournalRow | None
    ) -> int:
        """Send the item exactly once; returns the sent document's id."""
        ...


def _maybe_sent(row: JournalRow | None) -> bool:
    return row is not None and row.state is ItemState.IN_FLIGHT


class _SendDrafts:
    name = "send"
    target = ""
    finds_by_external_id = False

    def __init__(self, send_email: bool) -> None:
        self._send_email = send_email

    def prepare(self, index: int, item: int, batch_id: str) -> _Prepared:
        return _Prepared(str(check_id(item, "document_id")), "", None)

    async def run(
        self, engine: _Engine, item: int, prepared: _Prepared, row: JournalRow | None
    ) -> int:
        document = await engine.send_draft(item, self._send_email, maybe_sent=_maybe_sent(row))
        return document.id


class _Generate:
    name = "generate"
    finds_by_external_id = True

    def __init__(self, template_id: int, send_email: bool) -> None:
        self._template_id = template_id
        self.target = str(template_id)
        self._send_email = send_email

    def prepare(self, index: int, item: GenerateItem, batch_id: str) -> _Prepared:
        _check_keys(item, {"recipients"}, {"title", "external_id"}, "GenerateItem")
        recipients = check_template_recipients(item["recipients"])
        title = item.get("title")
        if title is not None:
            check_text(title, "title")
        external_id = item.get("external_id")
        if external_id is not None:
            check_text(external_id, "external_id")
        key, external_id = _keyed(index, external_id, batch_id)
        return _Prepared(key, _fingerprint([recipients, title]), external_id)

    async def run(
        self, engine: _Engine, item: GenerateItem, prepared: _Prepared, row: JournalRow | None
    ) -> int:
        external_id = prepared.external_id
        assert external_id is not None

        async def generate() -> Document:
            return await engine.client.templates.generate(
                self._template_id,
                recipients=item["recipients"],
                title=item.get("title"),
                external_id=external_id,
                send_email=self._send_email,
            )

        document = await engine.create_once(generate, external_id, maybe_created=_maybe_sent(row))
        return document.id


class _CreateAndSend:
    name = "create_and_send"
    target = ""
    finds_by_external_id = True

    def __init__(self, send_email: bool) -> None:
        self._send_email = send_email

    def prepare(self, index: int, item: CreateItem, batch_id: str) -> _Prepared:
        _check_keys(item, {"file", "title", "recipients", "fields"}, {"external_id"}, "CreateItem")
        check_text(item["title"], "title")
        recipients = check_recipients(item["recipients"])
        fields = [_check_field(field, i, len(recipients)) for i, field in enumerate(item["fields"])]
        external_id = item.get("external_id")
        if external_id is not None:
            check_text(external_id, "external_id")
        key, external_id = _keyed(index, external_id, batch_id)
        file = item["file"]
        source = os.fspath(file) if isinstance(file, str | os.PathLike) else None
        return _Prepared(
            key, _fingerprint([item["title"], recipients, fields, source]), external_id
        )

    async def run(
        self, engine: _Engine, item: CreateItem, prepared: _Prepared, row: JournalRow | None
    ) -> int:
        external_id = prepared.external_id
        assert external_id is not None
        documents = engine.client.documents
        uploaded = False

        async def create() -> Document:
            nonlocal uploaded
            document = await documents.create(
                item["file"],
                title=item["title"],
                recipients=item["recipients"],
                external_id=external_id,
            )
            uploaded = True
            return document

        document_id = row.document_id if row is not None else None
        if document_id is None:
            document = await engine.create_once(create, external_id, maybe_created=_maybe_sent(row))
            await engine.journal.in_flight(prepared.key, prepared.fingerprint, document.id)
        else:
            # An earlier run uploaded it, and may have placed fields or even sent it.
            document = await documents.get(document_id)
            if document.status != DocumentStatus.DRAFT:
                return document.id
        existing = [] if uploaded else await documents.fields.list(document.id)
        for spec in item["fields"]:
            await engine.place_field(document, spec, existing)
        sent = await engine.send_draft(document.id, self._send_email, maybe_sent=False)
        return sent.id


def _check_field(field: object, index: int, recipients: int) -> dict[str, Any]:
    where = f"fields[{index}]"
    if not isinstance(field, dict):
        raise InvalidInputError(f"{where} must be a FieldParam dict", field=where)
    keys = {"recipient", "type", "page", "x", "y", "width", "height"}
    if set(field) != keys:
        raise InvalidInputError(f"{where} needs exactly the keys {sorted(keys)}", field=where)
    recipient = field["recipient"]
    if (
        isinstance(recipient, bool)
        or not isinstance(recipient, int)
        or not (0 <= recipient < recipients)
    ):
        raise InvalidInputError(
            f"{where}.recipient must index the item's recipients, got {recipient!r}",
            field=f"{where}.recipient",
        )
    check_field_geometry(field["page"], field["x"], field["y"], field["width"], field["height"])
    check_enum(field["type"], FieldType, f"{where}.type")
    return {**field, "type": str(field["type"])}


def _same_field(field: Field, recipient_id: int, spec: FieldParam) -> bool:
    return (
        field.recipient_id == recipient_id
        and str(field.type_) == str(spec["type"])
        and (field.page, field.x, field.y, field.width, field.height)
        == (spec["page"], spec["x"], spec["y"], spec["width"], spec["height"])
    )


# -- the engine ---------------------------------------------------------------------


class _Engine:
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

    async def send_draft(self, document_id: int, send_email: bool, *, maybe_sent: bool) -> Document:
        documents = self.client.documents

        async def send() -> Document:
            return await documents.send(document_id, send_email=send_email)

        async def sent() -> Document | None:
            document = await documents.get(document_id)
            return None if document.status == DocumentStatus.DRAFT else document

        return await self.once(send, sent, maybe_happened=maybe_sent)

    async def place_field(
        self, document: Document, spec: FieldParam, existing: list[Field]
    ) -> None:
        """Add the field unless `existing` (refreshed when in doubt) already has it."""
        fields = self.client.documents.fields
        recipient_id = document.recipients[spec["recipient"]].id
        if any(_same_field(field, recipient_id, spec) for field in existing):
            return

        async def create() -> Field:
            return await fields.create(
                document.id,
                recipient_id=recipient_id,
                type=spec["type"],
                page=spec["page"],
                x=spec["x"],
                y=spec["y"],
                width=spec["width"],
                height=spec["height"],
            )

        async def placed() -> Field | None:
            current = await fields.list(document.id)
            return next((f for f in current if _same_field(f, recipient_id, spec)), None)

        existing.append(await self.once(create, placed, maybe_happened=False))


class _Runner(Generic[T]):
    """One run of one batch: the workers, the journal bookkeeping per item, the totals."""

    def __init__(self, engine: _Engine, header: BatchHeader, kind: _Kind[T]) -> None:
        self._engine = engine
        self._journal = engine.journal
        self._header = header
        self._kind = kind
        self._clock = engine.client._clock

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

    def __init__(self, client: PactaClient) -> None:
        self._client = client

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
            _SendDrafts(send_email), document_ids, concurrency, journal, on_result, on_progress
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
            _Generate(template_id, send_email), inputs, concurrency, journal, on_result, on_progress
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
            _CreateAndSend(send_email), inputs, concurrency, journal, on_result, on_progress
        )

    async def _run(
        self,
        kind: _Kind[T],
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
            engine = _Engine(self._client, journal, header.floor_document_id)
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
        self, journal: Journal, kind: _Kind[Any], path: str | os.PathLike[str] | None
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
        listing = await self._client.documents.list(page=1, per_page=1)
        return listing.documents[0].id if listing.documents else 0


def _describe(kind: str, target: str) -> str:
    return f"{kind} from template {target}" if target else kind
