"""The batch journal: a SQLite file that remembers what each item of a batch did.

A batch can stop at any moment (Ctrl-C, a crash, SIGKILL). Rerun with the same
journal, it skips what was sent and checks what was in flight before repeating
anything. That only works if an item is durably `in_flight` before its request
leaves, so every write is committed before it returns, with a rollback journal and
synchronous=FULL: the file itself holds everything committed, so copying it
alone after a crash loses nothing (with WAL, committed rows can live only in the
`-wal` file). A missing row means pending.

The journal is an accelerator, not the source of truth: a batch whose journal is
new, empty or lost looks on the server for what was already sent. It is bound to
the account it was written for (base URL, team, a hash of the token), and
refuses another: a staging journal must not make production skip every item.

sqlite3 blocks, so every call runs in a worker thread, one at a time: a commit
waits for an fsync, far too long to hold up the event loop. Writes that arrive while
a commit runs share the next one (group commit): one fsync for many workers' rows,
not one each, which would cap a batch at a few dozen items a second.

    CREATE TABLE batch (batch_id, kind, target, floor_document_id, base_url, team_id,
                        token_hash, created_at)  -- one row
    CREATE TABLE items (key PRIMARY KEY, fingerprint, state, document_id, error, updated_at)

`state` uses the results' words: ``in_flight`` (a request may be on its way),
``sent``, ``failed`` (certainly not sent) or ``unknown`` (may have been sent:
checking failed; the next run checks again).
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
from ._results import ItemStatus

__all__ = ["Account", "BatchHeader", "ItemState", "Journal", "JournalRow", "open_journal"]

R = TypeVar("R")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    batch_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    floor_document_id INTEGER,
    base_url TEXT NOT NULL,
    team_id INTEGER,
    token_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'sent', 'failed', 'unknown')),
    document_id INTEGER,
    error TEXT,
    updated_at TEXT NOT NULL
);
"""


class ItemState(enum.StrEnum):
    """An item's state in the journal: the `ItemStatus` words, plus ``in_flight``."""

    IN_FLIGHT = "in_flight"
    SENT = ItemStatus.SENT.value
    FAILED = ItemStatus.FAILED.value
    UNKNOWN = ItemStatus.UNKNOWN.value


# "PcTa": marks a SQLite file as a batch journal, so any other file is refused.
_APPLICATION_ID = 0x50635461
_SQLITE_MAGIC = b"SQLite format 3\x00"


@attrs.frozen
class Account:
    """Whom a batch sends as: a journal written for one account refuses another."""

    base_url: str
    token_hash: str  # sha256 of the token, never the token
    team_id: int | None = None  # None until the team is known (a team with no documents)

    def describe(self) -> str:
        team = "an unknown team" if self.team_id is None else f"team {self.team_id}"
        return f"{team} at {self.base_url} (token sha256 {self.token_hash[:12]})"

    def same(self, other: Account) -> bool:
        """One account: same server and, where both teams are known, the same team
        (a rotated token is fine); with a team unknown, the same token."""
        if self.base_url != other.base_url:
            return False
        if self.team_id is not None and other.team_id is not None:
            return self.team_id == other.team_id
        return self.token_hash == other.token_hash


@attrs.frozen
class BatchHeader:
    """What makes a batch the same batch on a rerun."""

    batch_id: str
    kind: str  # "send", "generate" or "create_and_send"
    target: str  # the template id for "generate", else ""
    # The newest document before the batch began: lookups by externalId stop there.
    floor_document_id: int | None
    account: Account


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
    async def pending(self, key: str) -> None: ...
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

    async def pending(self, key: str) -> None:
        pass

    async def aclose(self) -> None:
        pass


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class _Write:
    """One statement waiting for a commit, and what became of it."""

    def __init__(self, sql: str, args: tuple[object, ...]) -> None:
        self.sql = sql
        self.args = args
        self.committed = False
        self.error: JournalError | None = None


class SqliteJournal:
    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self._path = path
        self._file = _identity(path)
        self._one_at_a_time = anyio.CapacityLimiter(1)
        self._queued: list[_Write] = []
        self._committing = anyio.Lock()

    async def _run(self, call: Callable[[], R]) -> R:
        def checked() -> R:
            result = call()
            # Writes to a deleted file succeed and vanish with it at close: say so now.
            if _identity(self._path) != self._file:
                raise JournalError(
                    f"journal {self._path} was deleted or replaced while the batch ran; "
                    "what this run did is no longer recorded. Stopped: rerun (a new journal "
                    "is fine) and the server is checked for what was already sent"
                )
            return result

        try:
            return await anyio.to_thread.run_sync(checked, limiter=self._one_at_a_time)
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self._path}: {exc}") from exc

    async def _write(self, sql: str, *args: object) -> None:
        """Run one write, returning once it is committed. Writes queued while another
        commit runs are committed together by the first of them to get its turn."""
        write = _Write(sql, args)
        self._queued.append(write)
        async with self._committing:
            if not write.committed and write.error is None:
                batch, self._queued = self._queued, []
                try:
                    await self._run(lambda: self._commit(batch))
                except JournalError as exc:
                    for queued in batch:
                        queued.error = exc
                except BaseException:  # cancelled: what was not committed waits for the next
                    self._queued[:0] = [queued for queued in batch if not queued.committed]
                    raise
        if write.error is not None:
            raise write.error

    def _commit(self, batch: list[_Write]) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for write in batch:
                self._db.execute(write.sql, write.args)
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        for write in batch:
            write.committed = True

    async def header(self) -> BatchHeader | None:
        def read() -> BatchHeader | None:
            row = self._db.execute(
                "SELECT batch_id, kind, target, floor_document_id, base_url, token_hash, team_id "
                "FROM batch"
            ).fetchone()
            if row is None:
                return None
            batch_id, kind, target, floor, base_url, token_hash, team_id = row
            return BatchHeader(
                batch_id, kind, target, floor, Account(base_url, token_hash, team_id)
            )

        return await self._run(read)

    async def start(self, header: BatchHeader) -> None:
        await self._write(
            "INSERT INTO batch VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
            header.batch_id,
            header.kind,
            header.target,
            header.floor_document_id,
            header.account.base_url,
            header.account.team_id,
            header.account.token_hash,
            _now(),
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

    async def rows(self) -> list[tuple[str, JournalRow]]:
        """Every item recorded, in the order first recorded (for `batch status`)."""

        def read() -> list[tuple[str, JournalRow]]:
            found = self._db.execute(
                "SELECT key, fingerprint, state, document_id, error FROM items ORDER BY rowid"
            ).fetchall()
            return [(r[0], JournalRow(r[1], ItemState(r[2]), r[3], r[4])) for r in found]

        return await self._run(read)

    async def in_flight(self, key: str, fingerprint: str, document_id: int | None) -> None:
        await self._write(
            "INSERT INTO items VALUES (?, ?, 'in_flight', ?, NULL, ?) ON CONFLICT (key) DO "
            "UPDATE SET state = 'in_flight', error = NULL, updated_at = excluded.updated_at, "
            "document_id = coalesce(excluded.document_id, document_id)",
            key,
            fingerprint,
            document_id,
            _now(),
        )

    async def sent(self, key: str, document_id: int) -> None:
        await self._update(key, ItemState.SENT, document_id=document_id, error=None)

    async def failed(self, key: str, error: str) -> None:
        await self._update(key, ItemState.FAILED, document_id=None, error=error)

    async def unknown(self, key: str, error: str) -> None:
        await self._update(key, ItemState.UNKNOWN, document_id=None, error=error)

    async def pending(self, key: str) -> None:
        """Forget the item: none of its requests reached Pacta (no row is pending)."""
        await self._write("DELETE FROM items WHERE key = ?", key)

    async def _update(
        self, key: str, state: ItemState, *, document_id: int | None, error: str | None
    ) -> None:
        await self._write(
            "UPDATE items SET state = ?, document_id = coalesce(?, document_id), "
            "error = ?, updated_at = ? WHERE key = ?",
            state.value,
            document_id,
            error,
            _now(),
            key,
        )

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._db.close, limiter=self._one_at_a_time)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _refuse_foreign(path: Path) -> None:
    """`JournalError` for an existing file that is not a journal (an empty one is fine)."""
    try:
        with path.open("rb") as file:
            start = file.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise JournalError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if start and start != _SQLITE_MAGIC:
        raise JournalError(f"{path} exists and is not a batch journal; refusing to overwrite it")


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
    try:
        # Exclusive locking: the first write below takes a lock held until close, so a
        # second process resuming the same journal fails here instead of sending twice.
        db.execute("PRAGMA locking_mode = EXCLUSIVE")
        db.execute("PRAGMA journal_mode = TRUNCATE")
        db.execute("PRAGMA synchronous = FULL")
        (application_id,) = db.execute("PRAGMA application_id").fetchone()
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if application_id != _APPLICATION_ID and tables:
            raise JournalError(f"{path} is an SQLite file but not a batch journal; refusing it")
        db.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
        db.executescript(_SCHEMA)
    except (sqlite3.Error, JournalError):
        db.close()
        raise
    return db


async def open_journal(path: str | os.PathLike[str]) -> SqliteJournal:
    """Open or create the journal at `path`; `JournalError` if it cannot be used."""
    where = Path(path)
    await anyio.to_thread.run_sync(_refuse_foreign, where)
    try:
        db = await anyio.to_thread.run_sync(_connect, where)
    except sqlite3.Error as exc:
        reason = "in use by another process" if "locked" in str(exc) else str(exc)
        raise JournalError(f"cannot use {where} as a batch journal: {reason}") from exc
    return SqliteJournal(db, where)
