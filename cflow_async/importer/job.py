"""The import job: read, map, validate, journal, send; resume and reconcile.

Each row goes: read -> mapped to fields -> checked (with a record schema) -> looked up in
the journal -> ``pending`` -> ``in_flight`` (committed) -> ``submit_record`` -> ``done``,
``failed`` or ``unknown``. The rules that keep a record from being created twice:

* a row is sent only from ``pending``: new, a ``failed`` row the server certainly did not
  act on, or a row reconciliation did not find in Cflow;
* ``in_flight`` is committed before the request leaves, so a crash at any point leaves
  every row that may be in Cflow as ``in_flight`` or ``unknown``;
* those are never resent by themselves: only ``reconcile`` (which looks them up first) or
  ``resubmit_unknown`` (the caller accepting duplicates) makes them ``pending`` again.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import time
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from .._errors import (
    CflowError,
    InvalidArgumentError,
    RateLimitError,
)
from .items import Item, Prepared, problem_text
from .journal import Journal, JournalRow, content_hash, key_text
from .options import ImportOptions, RecordSchema, retryable, stops_job
from .rate import AdaptiveRate, wait_too_long
from .reconcile import settle_open_rows
from .rejects import RejectsFile
from .summary import ImportAbortedError, ImportCounts, ImportSummary
from .writer import GroupCommitter

if TYPE_CHECKING:
    from .._client import CflowClient
    from .progress import ProgressDisplay

__all__ = ["ImportJob", "ImportOptions", "RecordSchema"]

logger = logging.getLogger("cflow_async.importer")

_BATCH: Final = 256  # rows looked up and journaled per transaction by the reader
_STOP = object()


class ImportJob:
    """One run of an import. ``await run()`` returns the summary; after an interruption
    ``summary(interrupted=True)`` tells how far it got."""

    def __init__(
        self,
        cflow: CflowClient,
        workflow: str,
        rows: Iterable[tuple[int, Mapping[str, Any]]],
        journal: Journal,
        options: ImportOptions,
        *,
        schema: RecordSchema | None = None,
        rejects: RejectsFile | None = None,
        display: ProgressDisplay | None = None,
    ) -> None:
        self._cflow = cflow
        # The job owns the retries of its submissions: it must see every 429 to slow down.
        # The copy shares the client's pool and retry budget.
        self._sender = cflow.with_options(retry=attrs.evolve(cflow.retry, max_retries=0))
        self._workflow = workflow
        self._rows = rows
        self._journal = journal
        self._options = options
        self._schema = schema
        self._rejects = rejects
        self._display = display
        self.counts = ImportCounts()
        self.rate = AdaptiveRate(options.rate, max_pause=cflow.retry.max_retry_after)
        self._failures: Counter[str] = Counter()
        self._reconciled: set[str] = set()
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=2 * options.concurrency)
        self._writer = GroupCommitter(journal)
        self._stop_error: CflowError | None = None
        self._feed_failure: Exception | None = None
        self._consecutive = 0
        self._started = time.monotonic()
        self._interrupted = False

    def close(self) -> None:
        """Close the journal (after ``run``, or instead of it)."""
        self._journal.close()

    # -- the whole run ------------------------------------------------------------------

    async def run(self) -> ImportSummary:
        self._started = time.monotonic()
        reporter: asyncio.Task[None] | None = None
        try:
            await self._settle_open_rows()
            if self._display is not None:
                reporter = asyncio.create_task(self._report())
            if self._options.dry_run:
                await self._feed_and_stop()  # nothing consumes the queue: it holds the stops
                if self._feed_failure is not None:
                    raise self._feed_failure
            else:
                self._writer.start()
                await self._pump()
        except asyncio.CancelledError:
            self._interrupted = True
            raise
        finally:
            if not self._options.dry_run:
                await self._writer.aclose()
            if reporter is not None:
                reporter.cancel()
            if self._display is not None:
                self._display.update(self.counts)
                self._display.close()
            if self._rejects is not None:
                self._rejects.close()
        if self._stop_error is not None:
            error = self._stop_error
            raise ImportAbortedError(
                f"import stopped: {error.message}", self.summary(), error
            ) from error
        return self.summary()

    def summary(self, *, interrupted: bool | None = None) -> ImportSummary:
        counts = self.counts
        elapsed = time.monotonic() - self._started
        return ImportSummary(
            workflow=self._workflow,
            journal=self._journal.path,
            read=counts.read,
            submitted=counts.submitted,
            skipped=counts.skipped,
            reconciled=counts.reconciled,
            rejected=counts.rejected,
            failed=counts.failed,
            unknown=counts.unknown,
            changed=counts.changed,
            duplicates=counts.duplicates,
            would_submit=counts.would_submit,
            dry_run=self._options.dry_run,
            interrupted=self._interrupted if interrupted is None else interrupted,
            elapsed=elapsed,
            rows_per_second=counts.settled / elapsed if elapsed > 0 else 0.0,
            settled_rate=self.rate.rate,
            throttled=self.rate.throttled,
            rejects_path=None if self._rejects is None else self._rejects.path,
            journal_counts={str(state): n for state, n in self._journal.counts().items()},
            failures_by_type=dict(self._failures),
        )

    async def _report(self) -> None:
        assert self._display is not None
        while True:
            self._display.update(self.counts)
            await asyncio.sleep(0.25)

    def _note(self, message: str) -> None:
        if self._display is not None:
            self._display.note(message)
        else:
            logger.warning("%s", message)

    # -- rows an earlier run left open --------------------------------------------------

    async def _settle_open_rows(self) -> None:
        options = self._options
        if not (options.reconcile or options.resubmit_unknown) or options.dry_run:
            return
        self._reconciled = await settle_open_rows(
            self._cflow, self._workflow, self._journal, options, self._note, self.summary
        )

    # -- reading ------------------------------------------------------------------------

    async def _pump(self) -> None:
        workers = [asyncio.create_task(self._work()) for _ in range(self._options.concurrency)]
        feeder = asyncio.create_task(self._feed_and_stop())
        try:
            await asyncio.gather(*workers)
            if self._feed_failure is not None:
                raise self._feed_failure
        finally:
            for task in (feeder, *workers):
                task.cancel()
            await asyncio.gather(feeder, *workers, return_exceptions=True)

    async def _feed_and_stop(self) -> None:
        try:
            await self._feed()
        except CflowError as exc:  # an unreadable input: stop after what was queued
            self._stop_error = self._stop_error or exc
        except (OSError, UnicodeError, ValueError, KeyError, csv.Error, zipfile.BadZipFile) as exc:
            # A file that is not what its name says (not UTF-8, a corrupt workbook).
            error = InvalidArgumentError(f"cannot read the input: {type(exc).__name__}: {exc}")
            self._stop_error = self._stop_error or error
        except Exception as exc:  # a bug: stop the workers, then let _pump raise it
            self._feed_failure = exc
        for _ in range(self._options.concurrency):
            await self._queue.put(_STOP)

    async def _feed(self) -> None:
        batch: list[tuple[int, Mapping[str, Any]]] = []
        for number, raw in self._rows:
            if self._stop_error is not None:
                return
            self.counts.read += 1
            batch.append((number, raw))
            if len(batch) >= _BATCH:
                await self._admit(batch)
                batch = []
        if batch:
            await self._admit(batch)

    def _prepare(self, batch: Sequence[tuple[int, Mapping[str, Any]]]) -> Iterator[Prepared]:
        mapping = self._options.mapping
        key_column = self._options.key
        for number, raw in batch:
            values = {mapping.get(column, column): value for column, value in raw.items()}
            if key_column is None:
                key = f"#{number}"
            else:
                key = key_text(raw.get(key_column))
                if not key:
                    self._reject(number, key, "invalid", [f"no value in key column {key_column!r}"])
                    continue
            digest = content_hash(values)
            if self._schema is not None:
                try:
                    problems = list(self._schema.check(values))
                    if not problems:
                        values = self._schema.prepare(values)
                except CflowError as exc:
                    problems = list(getattr(exc, "problems", None) or [exc.message])
                if problems:
                    self._reject(number, key, "invalid", [problem_text(p) for p in problems])
                    continue
            # The key as sent (what Cflow stores and reconciliation finds), not the cell.
            sent = key_text(values.get(mapping.get(key_column, key_column))) if key_column else ""
            if sent and sent != key:
                yield Prepared(Item(sent, number, values), digest, cell_key=key)
            else:
                yield Prepared(Item(key, number, values), digest)

    async def _admit(self, batch: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
        journal = self._journal
        prepared = list(self._prepare(batch))
        keys = [p.item.key for p in prepared] + [p.cell_key for p in prepared if p.cell_key]
        known = journal.lookup(keys)
        prepared = [p.journal_form(known) for p in prepared]
        # Without a key, content sent under another row number is the same record.
        twins = journal.sent_with([p.digest for p in prepared]) if self._options.key is None else {}
        this_batch: dict[str, str] = {}
        to_send: list[Prepared] = []
        for entry in prepared:
            item = entry.item
            prior = known.get(item.key)
            if item.key in this_batch or (prior is not None and prior.run == journal.run):
                first = this_batch.get(item.key) or (prior.content_hash if prior else "")
                self._same_key_twice(item, same=first == entry.digest)
            elif self._send_again(entry, prior, twins.get(entry.digest)):
                to_send.append(entry)
            this_batch.setdefault(item.key, entry.digest)
        if self._options.dry_run:
            self.counts.would_submit += len(to_send)
            return
        if to_send:
            with journal.transaction():
                journal.add_pending((p.item.key, p.item.number, p.digest) for p in to_send)
        for entry in to_send:
            await self._queue.put(entry.item)

    def _send_again(
        self, entry: Prepared, prior: JournalRow | None, twin: JournalRow | None
    ) -> bool:
        """Whether to send this row; if not, count it by what the journal says of it."""
        item, counts = entry.item, self.counts
        same = prior is not None and prior.content_hash == entry.digest
        if twin is not None and not same:
            counts.duplicates += 1
            self._reject(
                item.number,
                item.key,
                "duplicate",
                [f"same values as row {twin.row_number} of an earlier run ({twin.state})"],
            )
            return False
        if prior is None or prior.state == "pending":
            return True  # pending: never sent, whatever its content was
        if prior.state == "done":
            if not same:
                self._changed(item, f"changed since it was sent as record {prior.record_id}")
            elif item.key in self._reconciled:
                counts.reconciled += 1
            else:
                counts.skipped += 1
            return False
        if prior.state == "failed":
            if not same and self._options.key is None:
                # Without a key, other content at this number may be a row shifted here
                # from elsewhere, not a correction: report it, never guess.
                self._changed(item, "other values than the row refused at this number")
                return False
            # The server has nothing for a failed row: send it again if a retry may cure
            # it, or if its content was corrected since.
            if prior.retryable or not same:
                return True
            counts.failed += 1
            self._failures[prior.error_type or "CflowError"] += 1
            return False
        counts.unknown += 1  # in_flight or unknown: maybe in Cflow; only reconcile may tell
        return False

    def _same_key_twice(self, item: Item, *, same: bool) -> None:
        if same:
            self.counts.duplicates += 1
            self._reject(
                item.number, item.key, "duplicate", ["same key and values as an earlier row"]
            )
        else:
            self._changed(item, "the same key as an earlier row of this input, other values")

    def _changed(self, item: Item, problem: str) -> None:
        self.counts.changed += 1
        self._reject(item.number, item.key, "changed", [problem])

    def _reject(self, number: int, key: str, reason: str, problems: list[str]) -> None:
        if reason == "invalid":
            self.counts.rejected += 1
        if self._rejects is not None:
            self._rejects.write(number, key, reason, problems)

    # -- sending ------------------------------------------------------------------------

    async def _work(self) -> None:
        while self._stop_error is None:
            item = await self._queue.get()
            if item is _STOP:
                return
            await self._send(item)

    async def _send(self, item: Item) -> None:
        options = self._options
        attempt = 0
        while True:
            attempt += 1
            sent_at = await self.rate.acquire()
            await self._writer.in_flight(item.key)
            try:
                record_id = await self._sender.submit_record(self._workflow, item.values)
            except CflowError as exc:
                known = not exc.outcome_unknown
                if isinstance(exc, RateLimitError) and known:
                    too_long = wait_too_long(exc, self._cflow.retry.max_retry_after)
                    if too_long is not None:  # failed, retryable: the next run sends it
                        self._stop_error = self._stop_error or too_long
                        self._record_error(item, exc, True)
                        return
                    self.rate.throttle(sent_at, exc.retry_after)
                if known and stops_job(exc):
                    self._writer.pending(item.key)
                    self._stop_error = self._stop_error or exc
                    return
                again = retryable(exc)
                if (
                    again
                    and attempt < options.max_attempts
                    and self._cflow.retry_budget.allows_retry()
                ):
                    self._writer.pending(item.key)
                    if not isinstance(exc, RateLimitError):  # the rate limiter paces those
                        await asyncio.sleep(self._cflow.retry.backoff(attempt))
                    continue
                self._record_error(item, exc, again)
                return
            self.rate.succeeded()
            self._writer.done(item.key, record_id)
            self.counts.submitted += 1
            self._consecutive = 0
            return

    def _record_error(self, item: Item, error: CflowError, again: bool) -> None:
        self._writer.error(item.key, error, again)
        self._failures[type(error).__name__] += 1
        if error.outcome_unknown:
            self.counts.unknown += 1
        else:
            self.counts.failed += 1
        if error.outcome_unknown or again:  # the server's trouble, not the row's
            self._consecutive += 1
            if self._consecutive >= self._options.stop_after:
                self._stop_error = self._stop_error or error
