"""Regressions from the importer review: ways a row was sent twice (re-runs without a key,
reconciliation's key forms and listing check), raw SQLite and XML errors reaching the
caller, an unbounded Retry-After, and a journal left locked by a failed ``open_import``."""

from __future__ import annotations

import asyncio
import csv
import sqlite3
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cflow_async import InvalidArgumentError, RateLimitError
from cflow_async.importer import (
    ImportAbortedError,
    ImportOptions,
    JournalError,
    UnreconciledRowsError,
    open_import,
)
from cflow_async.importer.journal import content_hash
from cflow_async.importer.rate import AdaptiveRate
from cflow_async.importer.readers import read_header, read_rows, source_identity
from importer.conftest import KEY, WORKFLOW, Bench, open_journal


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as file:
        csv.writer(file).writerows([header, *rows])
    return path


def write_names(path: Path, names: list[str]) -> Path:
    # Without a key the fake identifies a submission by its "n" value.
    return write_rows(path, ["Name", "n"], [[name, name] for name in names])


# -- 1: without a key, a row's number is no identity ---------------------------------------


async def test_without_a_key_rows_shifted_by_a_deletion_are_not_sent_again(imp: Bench) -> None:
    imp.fake.script = {"B": [400]}  # B is refused; the user deletes it and runs again
    first = await imp.run(write_names(imp.source, ["A", "B", "C"]), key=None)
    second = await imp.run(write_names(imp.source, ["A", "C"]), key=None)
    assert (first.submitted, first.failed) == (2, 1)
    # Row 3 now holds C, sent as row 4 by the first run: a duplicate, not a new row.
    assert (second.submitted, second.skipped, second.duplicates) == (0, 1, 1)
    assert imp.fake.posts == Counter({"A": 1, "B": 1, "C": 1})
    rejects = (imp.tmp_path / "rows.csv.rejects.csv").read_text()
    assert "3,#3,duplicate,same values as row 4" in rejects


async def test_without_a_key_other_values_at_a_refused_rows_number_are_reported(
    imp: Bench,
) -> None:
    imp.fake.script = {"B": [400]}
    await imp.run(write_names(imp.source, ["A", "B", "C"]), key=None)
    second = await imp.run(write_names(imp.source, ["A", "D", "C"]), key=None)
    # D may be B corrected, or a row moved up from below: without a key, never guessed.
    assert (second.submitted, second.changed, second.skipped, second.complete) == (0, 1, 2, False)
    assert "D" not in imp.fake.posts


# -- 2a: one form of a key in the journal and in the listing ------------------------------


async def test_reconcile_finds_a_key_sent_with_surrounding_spaces(imp: Bench) -> None:
    write_rows(imp.source, ["Name", KEY], [["a", "2"], ["b", "3 "], ["c", "4"]])
    imp.fake.script = {"3 ": [502]}
    imp.fake.apply_anyway = {"3 "}  # created, but answered 502
    first = await imp.run()
    second = await imp.run(reconcile=True)
    assert first.unknown == 1
    assert (second.reconciled, second.submitted) == (1, 0)
    assert imp.fake.posts["3 "] == 1
    assert imp.fake.keys() == Counter({"2": 1, "3 ": 1, "4": 1})


# -- 2b: the listing must show every recent done row ------------------------------------


async def test_reconcile_refuses_a_listing_missing_recent_done_rows(imp: Bench) -> None:
    imp.fake.listed = 3  # rows 2..4 of 2..9 are listed; 9 (created, answer lost) is not
    imp.fake.script = {"9": [502]}
    imp.fake.apply_anyway = {"9"}
    await imp.run(imp.sheet(8), concurrency=1)
    with pytest.raises(UnreconciledRowsError, match="does not show 4 of the 7"):
        await imp.run(reconcile=True)
    assert (imp.fake.posts["9"], imp.fake.keys()["9"]) == (1, 1)


async def test_reconcile_with_no_done_row_and_no_settle_time_refuses(imp: Bench) -> None:
    imp.fake.script = {k: [502] for k in ("2", "3", "4")}
    imp.fake.apply_anyway = {"2", "3", "4"}
    imp.fake.listed = 0  # not (yet) listed
    first = await imp.run(imp.sheet(3))
    with pytest.raises(UnreconciledRowsError, match="--settle is 0"):
        await imp.run(reconcile=True)
    assert first.unknown == 3
    assert imp.fake.keys() == Counter({"2": 1, "3": 1, "4": 1})


async def test_reconcile_with_no_done_row_says_it_relies_on_settle(
    imp: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    imp.fake.script = {"2": [502]}  # not applied: reconciliation will not find it
    await imp.run(imp.sheet(1))
    # Make the row's send old enough that no wait is due (no timed assertion).
    with open_journal(str(imp.source) + ".journal.sqlite") as journal:
        journal._db.execute("UPDATE rows SET updated_at = updated_at - 3600")
    with caplog.at_level("WARNING", logger="cflow_async.importer"):
        again = await imp.run(reconcile=True, settle=5.0)
    assert again.submitted == 1
    assert "only because --settle 5 s have passed" in caplog.text


async def test_reconcile_waits_out_the_settle_time_before_reading_the_listing(
    imp: Bench, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cflow_async.importer.reconcile as reconcile

    waits: list[float] = []

    class Asyncio:  # reconcile's own asyncio: its sleeps recorded, and slept
        async def sleep(self, delay: float) -> None:
            waits.append(delay)
            await asyncio.sleep(delay)

        def __getattr__(self, name: str) -> Any:
            return getattr(asyncio, name)

    monkeypatch.setattr(reconcile, "asyncio", Asyncio())
    imp.fake.script = {"2": [502]}  # sent just now, outcome unknown
    await imp.run(imp.sheet(1))
    with caplog.at_level("INFO", logger="cflow_async.importer"):
        again = await imp.run(reconcile=True, settle=0.2)
    assert waits, "the listing is read only once settle has passed"
    assert 0 < waits[0] <= 0.2
    assert "for the previous run's requests to land" in caplog.text
    assert again.submitted == 1


# -- 4: SQLite errors are JournalErrors ---------------------------------------------------


async def test_a_raw_sqlite_error_while_reading_stops_the_import_typed(imp: Bench) -> None:
    options = ImportOptions(key=KEY)
    job = await open_import(imp.cflow, WORKFLOW, imp.sheet(3), options=options, validate=False)

    def full(rows: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    job._journal.add_pending = full  # type: ignore[method-assign]
    try:
        with pytest.raises(ImportAbortedError) as caught:
            await job.run()
    finally:
        job.close()
    assert isinstance(caught.value.cause, JournalError)
    assert "disk is full" in caught.value.message


def test_every_journal_method_maps_sqlite_errors(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "j")
    journal._db.close()  # any later use fails in SQLite
    for use in (
        journal.counts,
        journal.meta,
        lambda: journal.lookup(["1"]),
        lambda: journal.rows_in(("done",)),
        lambda: journal.latest_done(5),
        lambda: journal.sent_with(["x"]),
    ):
        with pytest.raises(JournalError):
            use()
    with pytest.raises(JournalError), journal.transaction():
        pass


# -- 5: a damaged workbook is an InvalidArgumentError naming it ----------------------------


def test_a_damaged_workbook_is_an_invalid_argument_naming_it(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    good = tmp_path / "a.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["k", "v"])
    book.active.append([1, 2])
    book.save(good)
    bad = tmp_path / "b.xlsx"
    with zipfile.ZipFile(good) as whole, zipfile.ZipFile(bad, "w") as cut:
        for item in whole.infolist():
            data = whole.read(item)
            if item.filename.endswith("sheet1.xml"):
                data = data[: len(data) // 2]  # truncated XML
            cut.writestr(item, data)
    for read in (lambda: source_identity(bad), lambda: list(read_rows(bad))):
        with pytest.raises(InvalidArgumentError, match=r"b\.xlsx"):
            read()
    missing_sheet = tmp_path / "c.xlsx"
    with zipfile.ZipFile(good) as whole, zipfile.ZipFile(missing_sheet, "w") as cut:
        for item in whole.infolist():
            if not item.filename.endswith("sheet1.xml"):
                cut.writestr(item, whole.read(item))
    with pytest.raises(InvalidArgumentError, match=r"c\.xlsx"):
        read_header(missing_sheet)


# -- 8, 9 ---------------------------------------------------------------------------------


async def test_with_raw_response_refuses_import_records(imp: Bench) -> None:
    with pytest.raises(AttributeError):
        _ = imp.cflow.with_raw_response.import_records


async def test_a_failing_open_import_releases_the_journal(imp: Bench) -> None:
    def broken_display(total: int | None) -> Any:
        raise InvalidArgumentError("no terminal")

    with pytest.raises(InvalidArgumentError):
        await imp.run(imp.sheet(2), display=broken_display)
    summary = await imp.run()  # the journal is not locked by the failure
    assert summary.submitted == 2


# -- 6: a Retry-After beyond the client's max_retry_after stops the import ---------------


async def test_a_retry_after_beyond_max_retry_after_stops_the_import(imp: Bench) -> None:
    imp.fake.script = {"3": [429]}
    imp.fake.retry_after = "86400"
    with pytest.raises(ImportAbortedError, match="max_retry_after") as caught:
        await imp.run(imp.sheet(4), concurrency=1)
    assert isinstance(caught.value.cause, RateLimitError)
    row = imp.journal()["3"]
    assert (row.state, row.retryable) == ("failed", True)
    again = await imp.run(concurrency=1)
    assert again.complete
    assert imp.fake.keys() == Counter({"2": 1, "3": 1, "4": 1, "5": 1})


def test_the_rate_limiter_caps_a_retry_after_at_max_pause() -> None:
    now = [1000.0]
    rate = AdaptiveRate(None, clock=lambda: now[0], max_pause=5.0)
    rate.throttle(now[0], 86_400.0)
    assert rate._paused_until == 1005.0


# -- 2a, continued: a key converted by the schema --------------------------------------


class _IntKey:
    """A schema whose number field turns the key cell "007" into 7."""

    def check(self, values: Any) -> list[Any]:
        return []

    def prepare(self, values: Any) -> dict[str, Any]:
        return {**values, KEY: int(values[KEY])}


async def test_the_journal_keeps_the_key_as_sent(imp: Bench) -> None:
    journal = imp.tmp_path / "j.sqlite"
    for _ in range(2):
        await imp.run([{KEY: "007", "City": "a"}], journal=journal, schema=_IntKey())
    with open_journal(journal) as opened:
        assert set(opened.lookup(["7", "007"])) == {"7"}
    assert imp.fake.posts == Counter({"7": 1})


async def test_a_journal_that_knows_a_row_by_its_cell_does_not_send_it_again(
    imp: Bench,
) -> None:
    journal = imp.tmp_path / "j.sqlite"
    rows = [{KEY: "007", "City": "a"}]
    # As an earlier version wrote it: keyed by the stripped cell, done.
    old = open_journal(journal)
    with old, old.transaction():
        old.add_pending([("007", 1, content_hash(rows[0]))])
        old.mark_done([("007", "100")])
    summary = await imp.run(rows, journal=journal, schema=_IntKey())
    assert (summary.submitted, summary.skipped) == (0, 1)
    assert sum(imp.fake.posts.values()) == 0
