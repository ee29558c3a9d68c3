"""Regressions from the importer review: ways a row was sent twice (re-runs without a key,
reconciliation's key forms and listing check), raw SQLite and XML errors reaching the
caller, an unbounded Retry-After, and a journal left locked by a failed ``open_import``."""

from __future__ import annotations

import csv
import sqlite3
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import CREDS
from test_import_job import KEY, WORKFLOW, FakeCflow, fake_client, journal_rows, run, write_csv

from cflow_async import CflowClient, InvalidArgumentError, RateLimitError
from cflow_async.importer import (
    ImportAbortedError,
    ImportOptions,
    JournalError,
    UnreconciledRowsError,
    open_import,
)
from cflow_async.importer.journal import Journal, content_hash
from cflow_async.importer.rate import AdaptiveRate
from cflow_async.importer.readers import read_header, read_rows, source_identity


def write_names(path: Path, names: list[str]) -> Path:
    # Without a key the fake identifies a submission by its "n" value.
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Name", "n"])
        for name in names:
            writer.writerow([name, name])
    return path


# -- 1: without a key, a row's number is no identity ---------------------------------------


async def test_without_a_key_rows_shifted_by_a_deletion_are_not_sent_again(
    tmp_path: Path,
) -> None:
    fake = FakeCflow()
    fake.script = {"B": [400]}  # B is refused; the user deletes it and runs again
    source = write_names(tmp_path / "rows.csv", ["A", "B", "C"])
    async with fake_client(fake) as cflow:
        first = await run(cflow, source, key=None)
        second = await run(cflow, write_names(source, ["A", "C"]), key=None)
    assert (first.submitted, first.failed) == (2, 1)
    # Row 3 now holds C, sent as row 4 by the first run: a duplicate, not a new row.
    assert (second.submitted, second.skipped, second.duplicates) == (0, 1, 1)
    assert fake.posts == Counter({"A": 1, "B": 1, "C": 1})
    rejects = (tmp_path / "rows.csv.rejects.csv").read_text()
    assert "3,#3,duplicate,same values as row 4" in rejects


async def test_without_a_key_other_values_at_a_refused_rows_number_are_reported(
    tmp_path: Path,
) -> None:
    fake = FakeCflow()
    fake.script = {"B": [400]}
    source = write_names(tmp_path / "rows.csv", ["A", "B", "C"])
    async with fake_client(fake) as cflow:
        await run(cflow, source, key=None)
        second = await run(cflow, write_names(source, ["A", "D", "C"]), key=None)
    # D may be B corrected, or a row moved up from below: without a key, never guessed.
    assert (second.submitted, second.changed, second.skipped) == (0, 1, 2)
    assert not second.complete
    assert "D" not in fake.posts


# -- 2a: one form of a key in the journal and in the listing ------------------------------


async def test_reconcile_finds_a_key_sent_with_surrounding_spaces(tmp_path: Path) -> None:
    source = tmp_path / "rows.csv"
    with source.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Name", KEY])
        writer.writerows([["a", "2"], ["b", "3 "], ["c", "4"]])
    fake = FakeCflow()
    fake.script = {"3 ": [502]}
    fake.apply_anyway = {"3 "}  # created, but answered 502
    async with fake_client(fake) as cflow:
        first = await run(cflow, source)
        second = await run(cflow, source, reconcile=True)
    assert first.unknown == 1
    assert (second.reconciled, second.submitted) == (1, 0)
    assert fake.posts["3 "] == 1
    assert fake.keys() == Counter({"2": 1, "3 ": 1, "4": 1})


# -- 2b: the listing must show every recent done row ------------------------------------


class _LaggingListing(FakeCflow):
    """A listing that shows only the oldest ``shown`` records (lagging, or one page)."""

    shown = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith("/requests"):
            oldest = list(self.records.items())[: self.shown]
            return httpx.Response(
                200, json=[{"id": rid, "workflowId": "wf-1", "fields": v} for rid, v in oldest]
            )
        return super().handler(request)


async def test_reconcile_refuses_a_listing_missing_recent_done_rows(tmp_path: Path) -> None:
    fake = _LaggingListing()
    fake.shown = 3  # rows 2..4 of 2..9 are listed; 9 (created, answer lost) is not
    fake.script = {"9": [502]}
    fake.apply_anyway = {"9"}
    source = write_csv(tmp_path / "rows.csv", 8)
    async with fake_client(fake) as cflow:
        await run(cflow, source, concurrency=1)
        with pytest.raises(UnreconciledRowsError, match="does not show 4 of the 7"):
            await run(cflow, source, reconcile=True)
    assert fake.posts["9"] == 1
    assert fake.keys()["9"] == 1


async def test_reconcile_with_no_done_row_and_no_settle_time_refuses(tmp_path: Path) -> None:
    fake = FakeCflow()
    fake.script = {k: [502] for k in ("2", "3", "4")}
    fake.apply_anyway = {"2", "3", "4"}
    fake.listing_hides_records = True  # not (yet) listed
    source = write_csv(tmp_path / "rows.csv", 3)
    async with fake_client(fake) as cflow:
        first = await run(cflow, source)
        with pytest.raises(UnreconciledRowsError, match="--settle is 0"):
            await run(cflow, source, reconcile=True)
    assert first.unknown == 3
    assert fake.keys() == Counter({"2": 1, "3": 1, "4": 1})


async def test_reconcile_with_no_done_row_says_it_relies_on_settle(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeCflow()
    fake.script = {"2": [502]}  # not applied: reconciliation will not find it
    source = write_csv(tmp_path / "rows.csv", 1)
    async with fake_client(fake) as cflow:
        await run(cflow, source)
        # Make the row's send old enough that no wait is due (no timed assertion).
        journal_path = str(source) + ".journal.sqlite"
        with Journal.open(journal_path, workflow=WORKFLOW, key_column=KEY, source=None) as j:
            j._db.execute("UPDATE rows SET updated_at = updated_at - 3600")
        with caplog.at_level("WARNING", logger="cflow_async.importer"):
            again = await run(cflow, source, reconcile=True, settle=5.0)
    assert again.submitted == 1
    assert "only because --settle 5 s have passed" in caplog.text


# -- 4: SQLite errors are JournalErrors ---------------------------------------------------


async def test_a_raw_sqlite_error_while_reading_stops_the_import_typed(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "rows.csv", 3)
    async with fake_client(FakeCflow()) as cflow:
        job = await open_import(
            cflow, WORKFLOW, source, options=ImportOptions(key=KEY), validate=False
        )

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
    journal = Journal.open(tmp_path / "j", workflow=WORKFLOW, key_column=KEY, source=None)
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


async def test_with_raw_response_refuses_import_records() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    try:
        async with CflowClient(**CREDS, http_client=http) as cflow:
            with pytest.raises(AttributeError):
                _ = cflow.with_raw_response.import_records
    finally:
        await http.aclose()


async def test_a_failing_open_import_releases_the_journal(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "rows.csv", 2)

    def broken_display(total: int | None) -> Any:
        raise InvalidArgumentError("no terminal")

    async with fake_client(FakeCflow()) as cflow:
        with pytest.raises(InvalidArgumentError):
            await open_import(
                cflow,
                WORKFLOW,
                source,
                options=ImportOptions(key=KEY),
                validate=False,
                display=broken_display,
            )
        summary = await run(cflow, source)  # the journal is not locked by the failure
    assert summary.submitted == 2


# -- 6: a Retry-After beyond the client's max_retry_after stops the import ---------------


class _LongRetryAfter(FakeCflow):
    def handler(self, request: httpx.Request) -> httpx.Response:
        response = super().handler(request)
        if response.status_code == 429:
            return httpx.Response(
                429, json={"message": "slow down"}, headers={"retry-after": "86400"}
            )
        return response


async def test_a_retry_after_beyond_max_retry_after_stops_the_import(tmp_path: Path) -> None:
    fake = _LongRetryAfter()
    fake.script = {"3": [429]}
    source = write_csv(tmp_path / "rows.csv", 4)
    async with fake_client(fake) as cflow:
        with pytest.raises(ImportAbortedError, match="max_retry_after") as caught:
            await run(cflow, source, concurrency=1)
        assert isinstance(caught.value.cause, RateLimitError)
        row = journal_rows(source)["3"]
        assert (row.state, row.retryable) == ("failed", True)
        again = await run(cflow, source, concurrency=1)
    assert again.complete
    assert fake.keys() == Counter({"2": 1, "3": 1, "4": 1, "5": 1})


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


async def test_the_journal_keeps_the_key_as_sent(tmp_path: Path) -> None:
    fake = FakeCflow()
    rows = [{KEY: "007", "City": "a"}]
    journal = tmp_path / "j.sqlite"
    async with fake_client(fake) as cflow:
        for _ in range(2):
            job = await open_import(
                cflow,
                WORKFLOW,
                rows,
                journal=journal,
                options=ImportOptions(key=KEY),
                schema=_IntKey(),
            )
            try:
                await job.run()
            finally:
                job.close()
    with Journal.open(journal, workflow=WORKFLOW, key_column=KEY, source=None) as opened:
        assert set(opened.lookup(["7", "007"])) == {"7"}
    assert fake.posts == Counter({"7": 1})


async def test_a_journal_that_knows_a_row_by_its_cell_does_not_send_it_again(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.sqlite"
    rows = [{KEY: "007", "City": "a"}]
    # As an earlier version wrote it: keyed by the stripped cell, done.
    old = Journal.open(journal, workflow=WORKFLOW, key_column=KEY, source=None)
    with old, old.transaction():
        old.add_pending([("007", 1, content_hash(rows[0]))])
        old.mark_done([("007", "100")])
    fake = FakeCflow()
    async with fake_client(fake) as cflow:
        job = await open_import(
            cflow, WORKFLOW, rows, journal=journal, options=ImportOptions(key=KEY), schema=_IntKey()
        )
        try:
            summary = await job.run()
        finally:
            job.close()
    assert (summary.submitted, summary.skipped) == (0, 1)
    assert sum(fake.posts.values()) == 0
