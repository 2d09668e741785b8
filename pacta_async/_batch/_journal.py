"""The batch journal: a SQLite file that remembers what each item of a batch did.

A batch can stop at any moment (Ctrl-C, a crash, SIGKILL). Rerun with the same
journal, it skips what was sent and checks what was in flight before repeating
anything. That only works if an item is durably `in_flight` before its request
leaves, so every write is its own committed transaction (WAL, synchronous=FULL:
it survives a killed process and a power cut). A missing row means pending.

sqlite3 blocks, so every call runs in a worker thread, one at a time: a commit
waits for an fsync, far too long to hold up the event loop.

    CREATE TABLE batch (batch_id, kind, target, floor_document_id, created_at)  -- one row
    CREATE TABLE items (key PRIMARY KEY, fingerprint, state, document_id, error, updated_at)

`state` is ``in_flight`` (the request may have happened), ``sent`` or ``failed``
(it certainly did not happen). An item whose outcome could not be checked stays
``in_flight`` with its `error` noted, to be checked on the next run.
"""

from __future__ import annotations

import enum
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

import anyio
import anyio.to_thread
import attrs

from .._errors import JournalError

__all__ = ["BatchHeader", "ItemState", "Journal", "JournalRow", "open_journal"]

R = TypeVar("R")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    batch_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    floor_document_id INTEGER,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'sent', 'failed')),
    document_id INTEGER,
    error TEXT,
    updated_at TEXT NOT NULL
);
"""


class ItemState(enum.StrEnum):
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    FAILED = "failed"


@attrs.frozen
class BatchHeader:
    """What makes a batch the same batch on a rerun."""

    batch_id: str
    kind: str  # "send", "generate" or "create_and_send"
    target: str  # the template id for "generate", else ""
    # The newest document before the batch began: lookups by externalId stop there.
    floor_document_id: int | None


@attrs.frozen
class JournalRow:
    fingerprint: str
    state: ItemState
    document_id: int | None
    error: str | None


class Journal(Protocol):
    """Where item states go; `NoJournal` when the caller wants none."""

    async def header(self) -> BatchHeader | None: ...
    async def start(self, header: BatchHeader) -> None: ...
    async def get(self, key: str) -> JournalRow | None: ...
    async def in_flight(self, key: str, fingerprint: str, document_id: int | None) -> None: ...
    async def sent(self, key: str, document_id: int) -> None: ...
    async def failed(self, key: str, error: str) -> None: ...
    async def unknown(self, key: str, error: str) -> None: ...
    async def aclose(self) -> None: ...


class NoJournal:
    """Remembers nothing: a batch without a journal cannot be resumed."""

    async def header(self) -> BatchHeader | None:
        return None

    async def start(self, header: BatchHeader) -> None:
        pass

    async def get(self, key: str) -> JournalRow | None:
        return None

    async def in_flight(self, key: str, fingerprint: str, document_id: int | None) -> None:
        pass

    async def sent(self, key: str, document_id: int) -> None:
        pass

    async def failed(self, key: str, error: str) -> None:
        pass

    async def unknown(self, key: str, error: str) -> None:
        pass

    async def aclose(self) -> None:
        pass


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class SqliteJournal:
    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self._path = path
        self._one_at_a_time = anyio.CapacityLimiter(1)

    async def _run(self, call: Callable[[], R]) -> R:
        try:
            return await anyio.to_thread.run_sync(call, limiter=self._one_at_a_time)
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self._path}: {exc}") from exc

    def _write(self, sql: str, *args: object) -> Callable[[], None]:
        def write() -> None:
            self._db.execute(sql, args)

        return write

    async def header(self) -> BatchHeader | None:
        def read() -> BatchHeader | None:
            row = self._db.execute(
                "SELECT batch_id, kind, target, floor_document_id FROM batch"
            ).fetchone()
            return None if row is None else BatchHeader(*row)

        return await self._run(read)

    async def start(self, header: BatchHeader) -> None:
        await self._run(
            self._write(
                "INSERT INTO batch VALUES (1, ?, ?, ?, ?, ?)",
                header.batch_id,
                header.kind,
                header.target,
                header.floor_document_id,
                _now(),
            )
        )

    async def get(self, key: str) -> JournalRow | None:
        def read() -> JournalRow | None:
            row = self._db.execute(
                "SELECT fingerprint, state, document_id, error FROM items WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            return JournalRow(row[0], ItemState(row[1]), row[2], row[3])

        return await self._run(read)

    async def in_flight(self, key: str, fingerprint: str, document_id: int | None) -> None:
        await self._run(
            self._write(
                "INSERT INTO items VALUES (?, ?, 'in_flight', ?, NULL, ?) ON CONFLICT (key) DO "
                "UPDATE SET state = 'in_flight', error = NULL, updated_at = excluded.updated_at, "
                "document_id = coalesce(excluded.document_id, document_id)",
                key,
                fingerprint,
                document_id,
                _now(),
            )
        )

    async def sent(self, key: str, document_id: int) -> None:
        await self._update(key, ItemState.SENT, document_id=document_id, error=None)

    async def failed(self, key: str, error: str) -> None:
        await self._update(key, ItemState.FAILED, document_id=None, error=error)

    async def unknown(self, key: str, error: str) -> None:
        await self._update(key, ItemState.IN_FLIGHT, document_id=None, error=error)

    async def _update(
        self, key: str, state: ItemState, *, document_id: int | None, error: str | None
    ) -> None:
        await self._run(
            self._write(
                "UPDATE items SET state = ?, document_id = coalesce(?, document_id), "
                "error = ?, updated_at = ? WHERE key = ?",
                state.value,
                document_id,
                error,
                _now(),
                key,
            )
        )

    async def aclose(self) -> None:
        await self._run(self._db.close)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
    try:
        # Exclusive locking: the first write below takes a lock held until close, so a
        # second process resuming the same journal fails here instead of sending twice.
        db.execute("PRAGMA locking_mode = EXCLUSIVE")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.executescript(_SCHEMA)
    except sqlite3.Error:
        db.close()
        raise
    return db


async def open_journal(path: str | os.PathLike[str]) -> SqliteJournal:
    """Open or create the journal at `path`; `JournalError` if it cannot be used."""
    where = Path(path)
    try:
        db = await anyio.to_thread.run_sync(_connect, where)
    except sqlite3.Error as exc:
        reason = "in use by another process" if "locked" in str(exc) else str(exc)
        raise JournalError(f"cannot use {where} as a batch journal: {reason}") from exc
    return SqliteJournal(db, where)
