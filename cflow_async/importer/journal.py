"""The import journal: one SQLite row per input row, remembering its fate across processes.

States: ``pending`` (read, not sent), ``in_flight`` (committed *before* the request is
sent), ``done`` (with the record id), ``failed`` (the server certainly did not act; with
the typed error), ``unknown`` (the server may have acted: ``outcome_unknown``).

Durability: WAL mode with ``synchronous=NORMAL``. A commit is then a write to the WAL file
without an fsync, and it survives the death of the process (``kill -9``, a crash, Ctrl-C):
the operating system holds the written pages. Only a power cut or kernel crash can lose
the last commits, and then the rows they concerned fall back to an earlier state that is
itself safe: a lost ``done`` leaves ``in_flight``, which is never resubmitted by itself.
A lost ``in_flight`` would leave ``pending`` for a row already sent; that window (a power
cut within a second of a send) is the one thing ``synchronous=FULL`` would close, at one
fsync per commit.

One process at a time: the journal is opened in exclusive locking mode, so a second
importer on the same journal is refused instead of sending the same rows again.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, ParamSpec, TypeVar

from .._errors import CflowError
from .journal_rows import COLUMNS as _COLUMNS
from .journal_rows import STATES, JournalRow, State, content_hash, key_text
from .journal_rows import from_values as _row
from .readers import SourceIdentity

__all__ = [
    "SCHEMA_VERSION",
    "STATES",
    "Journal",
    "JournalError",
    "JournalRow",
    "content_hash",
    "key_text",
]

_P = ParamSpec("_P")
_T = TypeVar("_T")

SCHEMA_VERSION: Final = 1
_MAX_MESSAGE: Final = 500
# SQLite's default limit on host parameters is 999 before 3.32; stay under it.
_CHUNK: Final = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    key TEXT PRIMARY KEY,
    row_number INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    state TEXT NOT NULL
        CHECK (state IN ('pending', 'in_flight', 'done', 'failed', 'unknown')),
    record_id TEXT,
    error_type TEXT,
    error_status INTEGER,
    error_message TEXT,
    retryable INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    run INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
) WITHOUT ROWID;
-- Without a key column a row's number is no identity (rows shift when one is deleted):
-- its content is looked up here, so content already sent is not sent again.
CREATE INDEX IF NOT EXISTS rows_by_content ON rows (content_hash);
"""


class JournalError(CflowError):
    """The journal cannot be used for this import: written for another workflow, file or
    key column, in use by another process, or unreadable."""


def _mapped(method: Callable[_P, _T]) -> Callable[_P, _T]:
    """Any SQLite failure of a journal method (a full disk, a journal deleted or corrupted
    under us) reaches the caller as a typed ``JournalError``."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            path = getattr(args[0], "path", "") if args else ""
            raise JournalError(f"cannot use the journal {path!r}: {exc}") from exc

    return wrapper


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class Journal:
    """An open journal. Use :meth:`open`; call :meth:`close` (or use ``with``)."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._db = connection
        self.path = path
        #: This run's number: rows it adds carry it, so a key seen twice in one input is
        #: told apart from a key an earlier run sent.
        self.run = 1

    # -- opening ------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        workflow: str,
        key_column: str | None,
        source: SourceIdentity | None,
        readonly: bool = False,
    ) -> Journal:
        """Open or create the journal at ``path`` and check it belongs to this import.

        ``readonly`` (for ``--dry-run``) never creates a file; a missing journal reads as
        an empty one."""
        where = os.fspath(path)
        try:
            if readonly:
                if not os.path.exists(where):
                    db = sqlite3.connect(":memory:", isolation_level=None)
                else:
                    uri = "file:" + os.path.abspath(where) + "?mode=ro"
                    db = sqlite3.connect(uri, uri=True, isolation_level=None)
            else:
                # A short busy timeout: a journal locked by another importer stays locked.
                db = sqlite3.connect(where, isolation_level=None, timeout=0.2)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open the journal {where!r}: {exc}") from None
        journal = cls(db, where)
        try:
            journal._prepare(readonly)
            journal._check_meta(workflow, key_column, source, readonly)
        except BaseException:
            db.close()
            raise
        return journal

    def _prepare(self, readonly: bool) -> None:
        db = self._db
        try:
            if not readonly:
                db.execute("PRAGMA locking_mode=EXCLUSIVE")
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                # Take the lock now, so a second importer is refused before it reads a row.
                db.execute("BEGIN EXCLUSIVE")
                db.execute("COMMIT")
                db.executescript(_SCHEMA)
            elif self.path and os.path.exists(self.path):
                db.execute("SELECT count(*) FROM meta").fetchone()
            else:
                db.executescript(_SCHEMA)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise JournalError(
                    f"the journal {self.path!r} is in use by another import: wait for it to"
                    " finish (two importers on one journal could send a row twice)"
                ) from None
            raise JournalError(f"the journal {self.path!r} is unusable: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise JournalError(
                f"{self.path!r} is not an import journal (SQLite says: {exc})"
            ) from None

    @_mapped
    def _check_meta(
        self,
        workflow: str,
        key_column: str | None,
        source: SourceIdentity | None,
        readonly: bool,
    ) -> None:
        meta = dict(self._db.execute("SELECT name, value FROM meta").fetchall())
        expected = {
            "schema_version": str(SCHEMA_VERSION),
            "workflow": workflow,
            "key_column": key_column or "",
        }
        if source is not None:
            expected["source_fingerprint"] = source.fingerprint
        if not meta:
            if readonly:
                return
            stored = {**expected, "created_at": repr(time.time())}
            if source is not None:
                stored["source_path"] = source.path
                stored["source_name"] = source.name
                stored["source_size"] = str(source.size)
            with self.transaction():
                self._db.executemany("INSERT INTO meta VALUES (?, ?)", stored.items())
                self._db.execute("INSERT INTO meta VALUES ('runs', '1')")
            return
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise JournalError(
                f"the journal {self.path!r} has schema version {meta.get('schema_version')},"
                f" this version of cflow-async reads {SCHEMA_VERSION}"
            )
        if meta.get("workflow") != workflow:
            raise JournalError(
                f"the journal {self.path!r} belongs to an import into workflow"
                f" {meta.get('workflow')!r}, not {workflow!r}: give another --journal"
            )
        if meta.get("key_column", "") != (key_column or ""):
            was = meta.get("key_column") or "row number + content"
            raise JournalError(
                f"the journal {self.path!r} identifies rows by {was!r}, not"
                f" {key_column or 'row number + content'!r}: use the same --key, or another"
                " --journal"
            )
        stored_print = meta.get("source_fingerprint")
        if source is not None and stored_print is not None:
            other_name = meta.get("source_name") != source.name
            if other_name or stored_print != source.fingerprint:
                what = "is named differently" if other_name else "has other columns"
                raise JournalError(
                    f"the journal {self.path!r} belongs to the file"
                    f" {meta.get('source_path')!r}; {source.path!r} {what}, so it is another"
                    " import: give another --journal"
                )
        self.run = int(meta.get("runs", "0")) + 1
        if not readonly:
            with self.transaction():
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('runs', ?)", (str(self.run),))

    @_mapped
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise JournalError(f"cannot use the journal {self.path!r}: {exc}") from exc
        try:
            yield
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):  # the first failure is the one to tell
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise JournalError(f"cannot use the journal {self.path!r}: {exc}") from exc
            raise
        try:
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise JournalError(f"cannot use the journal {self.path!r}: {exc}") from exc

    # -- reading ------------------------------------------------------------------------

    @_mapped
    def lookup(self, keys: Sequence[str]) -> dict[str, JournalRow]:
        found: dict[str, JournalRow] = {}
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            query = f"SELECT {_COLUMNS} FROM rows WHERE key IN ({marks})"  # noqa: S608 (marks only)
            for values in self._db.execute(query, tuple(chunk)):
                row = _row(values)
                found[row.key] = row
        return found

    @_mapped
    def rows_in(self, states: Iterable[State], limit: int = -1) -> list[JournalRow]:
        wanted = tuple(states)
        marks = ",".join("?" * len(wanted))
        query = (
            f"SELECT {_COLUMNS} FROM rows WHERE state IN ({marks})"  # noqa: S608 (marks only)
            " ORDER BY row_number LIMIT ?"
        )
        return [_row(values) for values in self._db.execute(query, (*wanted, limit))]

    @_mapped
    def sent_with(self, digests: Sequence[str]) -> dict[str, JournalRow]:
        """Rows of earlier runs with these contents that may be in Cflow (``done``,
        ``in_flight``, ``unknown``), by content hash: without a key, the only sign that a
        row was already sent under another row number."""
        found: dict[str, JournalRow] = {}
        for chunk in _chunks(sorted(set(digests))):
            marks = ",".join("?" * len(chunk))
            query = (
                f"SELECT {_COLUMNS} FROM rows WHERE content_hash IN ({marks})"  # noqa: S608
                " AND state IN ('done', 'in_flight', 'unknown') AND run < ?"
            )
            for values in self._db.execute(query, (*chunk, self.run)):
                row = _row(values)
                found.setdefault(row.content_hash, row)
        return found

    @_mapped
    def latest_done(self, limit: int) -> list[JournalRow]:
        """The ``limit`` rows most recently confirmed ``done``."""
        query = (
            f"SELECT {_COLUMNS} FROM rows WHERE state = 'done'"  # noqa: S608 (no values)
            " ORDER BY updated_at DESC LIMIT ?"
        )
        return [_row(values) for values in self._db.execute(query, (limit,))]

    @_mapped
    def counts(self) -> dict[State, int]:
        counts: dict[State, int] = dict.fromkeys(STATES, 0)
        for state, count in self._db.execute("SELECT state, count(*) FROM rows GROUP BY state"):
            counts[state] = count
        return counts

    @_mapped
    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT name, value FROM meta").fetchall())

    # -- writing (call inside ``transaction()``) -----------------------------------------

    @_mapped
    def add_pending(self, rows: Iterable[tuple[str, int, str]]) -> None:
        """New rows, or rows to send again, as ``pending`` with their current content."""
        now = time.time()
        self._db.executemany(
            "INSERT INTO rows (key, row_number, content_hash, state, run, updated_at)"
            " VALUES (?, ?, ?, 'pending', ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET row_number = excluded.row_number,"
            " content_hash = excluded.content_hash, state = 'pending', error_type = NULL,"
            " error_status = NULL, error_message = NULL, retryable = 0, run = excluded.run,"
            " updated_at = excluded.updated_at",
            ((key, number, digest, self.run, now) for key, number, digest in rows),
        )

    @_mapped
    def mark_in_flight(self, keys: Iterable[str]) -> None:
        now = time.time()
        self._db.executemany(
            "UPDATE rows SET state = 'in_flight', attempts = attempts + 1, updated_at = ?"
            " WHERE key = ?",
            ((now, key) for key in keys),
        )

    @_mapped
    def mark_pending(self, keys: Iterable[str]) -> None:
        """Back to ``pending``: the server certainly has nothing for these rows."""
        now = time.time()
        self._db.executemany(
            "UPDATE rows SET state = 'pending', updated_at = ? WHERE key = ?",
            ((now, key) for key in keys),
        )

    @_mapped
    def mark_done(self, done: Iterable[tuple[str, str | None]]) -> None:
        now = time.time()
        self._db.executemany(
            "UPDATE rows SET state = 'done', record_id = ?, error_type = NULL,"
            " error_status = NULL, error_message = NULL, retryable = 0, updated_at = ?"
            " WHERE key = ?",
            ((record_id, now, key) for key, record_id in done),
        )

    @_mapped
    def mark_error(self, errors: Iterable[tuple[str, CflowError, bool]]) -> None:
        """``failed`` (with whether a later run may retry it) or ``unknown``, by the
        error's ``outcome_unknown``."""
        now = time.time()
        self._db.executemany(
            "UPDATE rows SET state = ?, error_type = ?, error_status = ?, error_message = ?,"
            " retryable = ?, updated_at = ? WHERE key = ?",
            (
                (
                    "unknown" if error.outcome_unknown else "failed",
                    type(error).__name__,
                    getattr(error, "status_code", None),
                    error.message[:_MAX_MESSAGE],
                    int(retryable and not error.outcome_unknown),
                    now,
                    key,
                )
                for key, error, retryable in errors
            ),
        )
