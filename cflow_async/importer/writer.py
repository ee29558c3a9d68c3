"""Group commit: the journal writes of all workers, batched into few transactions.

The rule is that a row's ``in_flight`` is committed before its request is sent. Committing
once per row would serialise the workers on the journal; instead every worker that is
about to send in the same turn of the event loop waits on one shared commit. Outcomes
(``done``, ``failed``, ``unknown``) are not urgent: a crash before they are committed
leaves the row ``in_flight``, which is never resent by itself, so they ride along with
the next commit, or wait at most ``linger`` seconds.

SQLite runs on the event loop's thread: a WAL commit with ``synchronous=NORMAL`` is a
write without fsync, tens of microseconds, less than a thread hop would cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import Final

from .._errors import CflowError
from .journal import Journal, JournalError

__all__ = ["GroupCommitter"]

_LINGER: Final = 0.05


class GroupCommitter:
    def __init__(self, journal: Journal, *, linger: float = _LINGER) -> None:
        self._journal = journal
        self._linger = linger
        self._in_flight: list[tuple[str, asyncio.Future[None]]] = []
        self._done: list[tuple[str, str | None]] = []
        self._errors: list[tuple[str, CflowError, bool]] = []
        self._pending: list[str] = []
        self._urgent = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        #: Commits made (for tests and the benchmark).
        self.commits = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="import-journal")

    async def in_flight(self, key: str) -> None:
        """Returns once ``key`` is committed as ``in_flight``: then, and only then, send."""
        if self._failure is not None:
            raise self._failure
        future = asyncio.get_running_loop().create_future()
        self._in_flight.append((key, future))
        self._urgent.set()
        await future

    def done(self, key: str, record_id: str | None) -> None:
        self._done.append((key, record_id))

    def error(self, key: str, error: CflowError, retryable: bool) -> None:
        self._errors.append((key, error, retryable))

    def pending(self, key: str) -> None:
        """Back to ``pending``: the request was refused before the server acted."""
        self._pending.append(key)

    async def _run(self) -> None:
        while True:
            if not self._in_flight:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), self._linger)
            # One more turn of the loop lets every worker that is ready join this commit.
            await asyncio.sleep(0)
            self._urgent.clear()
            self.flush()

    def flush(self) -> None:
        """Commit everything queued now (also called at the end and on cancellation)."""
        marks, self._in_flight = self._in_flight, []
        done, self._done = self._done, []
        errors, self._errors = self._errors, []
        pending, self._pending = self._pending, []
        if not (marks or done or errors or pending):
            return
        journal = self._journal
        try:
            with journal.transaction():
                if done:
                    journal.mark_done(done)
                if errors:
                    journal.mark_error(errors)
                if pending:
                    journal.mark_pending(pending)
                if marks:
                    journal.mark_in_flight(key for key, _ in marks)
        except sqlite3.Error as exc:  # a full disk, a journal deleted under us
            error = JournalError(f"cannot write the journal {journal.path!r}: {exc}")
            self._fail(marks, error)
            raise error from exc
        except BaseException as exc:
            self._fail(marks, exc)
            raise
        self.commits += 1
        for _, future in marks:
            if not future.done():
                future.set_result(None)

    def _fail(self, marks: list[tuple[str, asyncio.Future[None]]], exc: BaseException) -> None:
        self._failure = exc
        for _, future in marks:
            if not future.done():
                future.set_exception(exc)

    async def aclose(self) -> None:
        """Stop the background task and commit what is left."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:  # already recorded in _failure  # noqa: S110
                pass
        self.flush()
