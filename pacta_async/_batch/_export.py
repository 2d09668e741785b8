"""`client.batch.download_many`: many signed PDFs into one folder, resumable.

The folder holds one file per document and ``manifest.csv``, a row per file written
(and flushed) the moment the file is complete on disk. A rerun trusts a file only
if the manifest lists it and its size and SHA-256 still match; anything else is
downloaded again. Files are written atomically (see `_download`), so a kill at any
moment leaves either a complete file or none under its name, and at most a torn
last manifest line, which the next run drops.

Link requests go through the client, so they are paced under the token's limits
like every other call; a failing document is reported and the others go on.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import hashlib
import inspect
import os
import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

import anyio
import anyio.to_thread
import attrs
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from .._clock import Clock
from .._errors import (
    AuthenticationError,
    ClientClosedError,
    InvalidInputError,
    PactaError,
    RateLimiterUnavailableError,
)
from .._validation import check_id
from ..types import Document, DocumentStatus
from ._outcome import as_pacta_error

if TYPE_CHECKING:
    from .._resources import Documents

__all__ = [
    "DEFAULT_EXPORT_CONCURRENCY",
    "MANIFEST_COLUMNS",
    "ExportResult",
    "ExportStatus",
    "ExportSummary",
    "export",
]

DEFAULT_EXPORT_CONCURRENCY: Final = 4
MANIFEST_NAME: Final = "manifest.csv"
MANIFEST_COLUMNS: Final = (
    "id",
    "title",
    "externalId",
    "status",
    "completedAt",
    "path",
    "sha256",
    "size",
)
_HASH_CHUNK: Final = 1024 * 1024
_SLUG_LENGTH: Final = 60


class ExportStatus(enum.StrEnum):
    DOWNLOADED = "downloaded"
    SKIPPED = "skipped"  # already in the folder, complete: an earlier run wrote it
    FAILED = "failed"


@attrs.frozen
class ExportResult:
    """One document's fate; `path` is the file's (absolute), when there is one."""

    index: int  # position among the documents exported, from 0
    document_id: int
    status: ExportStatus
    path: Path | None = None
    sha256: str | None = None
    size: int | None = None
    error: PactaError | None = None


@attrs.frozen
class ExportSummary:
    """Totals so far (for a progress callback) or of the whole export (returned)."""

    downloaded: int = 0
    skipped: int = 0
    failed: int = 0
    elapsed: float = 0.0
    manifest: Path | None = None

    @property
    def done(self) -> int:
        return self.downloaded + self.skipped + self.failed

    @property
    def ok(self) -> bool:
        return self.failed == 0


ResultCallback = Callable[[ExportResult], Awaitable[None] | None]
ProgressCallback = Callable[[ExportSummary], None]
# What a worker is handed: a listed document, or an id to look up.
_Work = Document | int


@attrs.frozen
class _Row:
    path: str
    sha256: str
    size: int


def _fatal(error: PactaError) -> bool:
    """Errors every document would meet alike: the export stops at the first."""
    return isinstance(error, AuthenticationError | RateLimiterUnavailableError | ClientClosedError)


def _slug(title: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", title).strip("-._")[:_SLUG_LENGTH].rstrip("-._")
    return slug or "document"


def file_name(document: Document) -> str:
    """``<id>-<title>.pdf``: the id keeps names unique, the title makes them readable."""
    return f"{document.id}-{_slug(document.title)}.pdf"


def _read_manifest(path: Path) -> dict[int, _Row]:
    """The manifest's rows by id (the last row wins); a torn last line (a kill mid-write)
    is cut off so that appending goes on from a whole line."""
    if not path.exists():
        return {}
    with path.open("rb+") as raw:
        content = raw.read()
        if content and not content.endswith(b"\n"):
            raw.truncate(content.rfind(b"\n") + 1)
            content = content[: content.rfind(b"\n") + 1]
    rows: dict[int, _Row] = {}
    try:
        lines = content.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path} is not a UTF-8 manifest", field="manifest") from exc
    reader = csv.DictReader(lines)
    if lines and tuple(reader.fieldnames or ()) != MANIFEST_COLUMNS:
        raise InvalidInputError(
            f"{path} is not an export manifest (columns {', '.join(MANIFEST_COLUMNS)})",
            field="manifest",
        )
    for row in reader:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            rows[int(row["id"])] = _Row(row["path"], row["sha256"], int(row["size"]))
    return rows


def _remove_leftovers(folder: Path) -> None:
    """Temporary files of a killed run's downloads (never under a final name)."""
    for leftover in folder.glob(".*.pdf.*.part"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def _intact(folder: Path, row: _Row) -> bool:
    """Whether the listed file is there, of the listed size and SHA-256."""
    path = folder / row.path
    try:
        if path.stat().st_size != row.size:
            return False
        digest = hashlib.sha256()
        with path.open("rb") as file:
            while chunk := file.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError:
        return False
    return digest.hexdigest() == row.sha256


class _Manifest:
    """Appends a row per file, flushed and fsynced: a kill loses no completed file's row."""

    def __init__(self, path: Path, file: IO[str]) -> None:
        self.path = path
        self._file = file
        self._writer = csv.writer(file)
        if file.tell() == 0:
            self._write(MANIFEST_COLUMNS)

    def _write(self, cells: Iterable[object]) -> None:
        self._writer.writerow(cells)
        self._file.flush()
        os.fsync(self._file.fileno())

    async def add(self, document: Document, relative: str, sha256: str, size: int) -> None:
        completed = "" if document.completed_at is None else document.completed_at.isoformat()
        cells = (
            document.id,
            document.title,
            document.external_id or "",
            str(document.status),
            completed,
            relative,
            sha256,
            size,
        )
        await anyio.to_thread.run_sync(self._write, cells)

    def close(self) -> None:
        self._file.close()


class _Exporter:
    def __init__(
        self,
        documents: Documents,
        folder: Path,
        manifest: _Manifest,
        known: dict[int, _Row],
        original: bool,
    ) -> None:
        self._documents = documents
        self._folder = folder
        self._manifest = manifest
        self._known = known
        self._original = original
        self._seen: set[int] = set()

    async def process(self, index: int, work: _Work) -> ExportResult:
        document_id = work if isinstance(work, int) else work.id
        try:
            return await self._export(index, work, document_id)
        except Exception as exc:
            error = as_pacta_error(exc)
            if _fatal(error):
                raise error from None
            return ExportResult(index, document_id, ExportStatus.FAILED, error=error)

    async def _export(self, index: int, work: _Work, document_id: int) -> ExportResult:
        if document_id in self._seen:
            error = InvalidInputError(f"document {document_id} is given twice; exported once")
            return ExportResult(index, document_id, ExportStatus.FAILED, error=error)
        self._seen.add(document_id)
        row = self._known.get(document_id)
        if row is not None and await anyio.to_thread.run_sync(_intact, self._folder, row):
            return ExportResult(
                index,
                document_id,
                ExportStatus.SKIPPED,
                self._folder / row.path,
                row.sha256,
                row.size,
            )
        document = await self._documents.get(work) if isinstance(work, int) else work
        relative = file_name(document)
        downloaded = await self._documents.download(
            document.id, self._folder / relative, original=self._original
        )
        with anyio.CancelScope(shield=True):  # on disk: worth its row even when cancelled
            await self._manifest.add(document, relative, downloaded.sha256, downloaded.size)
        return ExportResult(
            index,
            document_id,
            ExportStatus.DOWNLOADED,
            downloaded.path,
            downloaded.sha256,
            downloaded.size,
        )

    async def work(
        self,
        items: ObjectReceiveStream[tuple[int, _Work]],
        results: ObjectSendStream[ExportResult],
    ) -> None:
        # A broken stream means the other side died, and its error is the one to report.
        with contextlib.suppress(anyio.BrokenResourceError):
            async with items, results:
                async for index, work in items:
                    await results.send(await self.process(index, work))


async def _feed(
    source: AsyncIterator[_Work] | Iterable[_Work], items: ObjectSendStream[tuple[int, _Work]]
) -> None:
    with contextlib.suppress(anyio.BrokenResourceError):
        async with items:
            index = 0
            if isinstance(source, AsyncIterator):
                async for work in source:
                    await items.send((index, work))
                    index += 1
            else:
                for work in source:
                    await items.send((index, work))
                    index += 1


async def _checked_ids(ids: Iterable[int] | AsyncIterable[int]) -> AsyncIterator[_Work]:
    """Ids checked as they come: a bad one fails the export before it is looked up."""
    if isinstance(ids, AsyncIterable):
        async for document_id in ids:
            yield check_id(document_id, "document_ids")
    else:
        for document_id in ids:
            yield check_id(document_id, "document_ids")


def check_folder(out: str | os.PathLike[str]) -> Path:
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"{str(folder)!r} is not a folder", field="out")
    if not folder.parent.is_dir():
        raise InvalidInputError(
            f"the folder of {str(folder)!r} does not exist; create it first", field="out"
        )
    return folder


def check_concurrency(concurrency: object) -> int:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidInputError(
            f"concurrency must be a positive integer, got {concurrency!r}", field="concurrency"
        )
    return concurrency


def check_status(status: DocumentStatus | str) -> str:
    known = {str(s) for s in DocumentStatus}
    if str(status) not in known:
        raise InvalidInputError(
            f"status must be one of {', '.join(sorted(known))}, got {status!r}", field="status"
        )
    return str(status)


def _first_error(group: BaseExceptionGroup[BaseException]) -> PactaError | None:
    """The error to raise for (nested) groups of workers' errors, when all are ours."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop()
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
        else:
            leaves.append(error)
    if not leaves or not all(isinstance(leaf, PactaError) for leaf in leaves):
        return None
    first = leaves[-1]  # popped last-in first, so the group's first is the last leaf
    assert isinstance(first, PactaError)
    return first


def check_ids(
    ids: Iterable[int] | AsyncIterable[int],
) -> Iterable[int] | AsyncIterable[int]:
    """A list or tuple is checked whole before anything is sent; other iterables (maybe
    endless, or async) as they are consumed."""
    if isinstance(ids, str | bytes | dict) or not isinstance(ids, Iterable | AsyncIterable):
        raise InvalidInputError(
            f"document_ids must be an iterable of ids, got {type(ids).__name__}",
            field="document_ids",
        )
    if isinstance(ids, list | tuple):
        for document_id in ids:
            check_id(document_id, "document_ids")
    return ids


async def export(
    documents: Documents,
    clock: Clock,
    out: Path,
    *,
    document_ids: Iterable[int] | AsyncIterable[int] | None,
    status: str,
    original: bool,
    concurrency: int,
    on_result: ResultCallback | None,
    on_progress: ProgressCallback | None,
) -> ExportSummary:
    """Export into `out` (created if missing); see `Batch.download_many`."""
    await anyio.to_thread.run_sync(lambda: out.mkdir(exist_ok=True))
    await anyio.to_thread.run_sync(_remove_leftovers, out)
    manifest_path = out / MANIFEST_NAME
    known = await anyio.to_thread.run_sync(_read_manifest, manifest_path)
    file = await anyio.to_thread.run_sync(
        lambda: manifest_path.open("a", encoding="utf-8", newline="")
    )
    manifest = _Manifest(manifest_path, file)
    exporter = _Exporter(documents, out, manifest, known, original)
    source: AsyncIterator[_Work] | Iterable[_Work]
    if document_ids is None:
        source = aiter(documents.iter(status=status))
    else:
        source = _checked_ids(document_ids)
    started = clock.monotonic()
    totals = {s: 0 for s in ExportStatus}

    def summary() -> ExportSummary:
        return ExportSummary(
            downloaded=totals[ExportStatus.DOWNLOADED],
            skipped=totals[ExportStatus.SKIPPED],
            failed=totals[ExportStatus.FAILED],
            elapsed=clock.monotonic() - started,
            manifest=manifest_path,
        )

    send_items, receive_items = anyio.create_memory_object_stream[tuple[int, _Work]](concurrency)
    send_results, receive_results = anyio.create_memory_object_stream[ExportResult](concurrency)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_feed, source, send_items)
            async with send_results:
                for _ in range(concurrency):
                    tg.start_soon(exporter.work, receive_items.clone(), send_results.clone())
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
    except BaseExceptionGroup as group:
        first = _first_error(group)
        if first is None:
            raise
        raise first from None
    finally:
        manifest.close()
    return summary()
