"""The import job's rules, against the scripted fake Cflow of conftest.py: in_flight before
send, resumption, what is and is not resent, reconciliation, 429s, job-level errors, changed
and duplicate rows, schema rejects, dry runs.

The crash-and-resume proof against the real sandbox is in test_import_crash.py.
"""

from __future__ import annotations

import csv
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEY, USER_KEY

from cflow_async import AuthenticationError, InvalidArgumentError, RetryBudget
from cflow_async.importer import (
    ImportAbortedError,
    ImportOptions,
    JournalError,
    UnreconciledRowsError,
    open_import,
)
from cflow_async.importer.journal import Journal
from importer.conftest import KEY, WORKFLOW, Bench, FakeCflow, fake_client, run, write_csv


async def test_every_row_once_and_a_second_run_skips_them(imp: Bench) -> None:
    imp.sheet(40)
    first = await imp.run(concurrency=4)
    second = await imp.run(concurrency=4)
    assert (first.submitted, first.skipped, first.read) == (40, 0, 40)
    assert (second.submitted, second.skipped) == (0, 40)
    assert imp.fake.keys() == Counter({str(n): 1 for n in range(2, 42)})
    assert first.journal_counts["done"] == 40
    assert {row.record_id for row in imp.journal().values()} == set(imp.fake.records)
    assert (first.complete, second.complete) == (True, True)


async def test_in_flight_is_committed_before_the_request_leaves(imp: Bench) -> None:
    seen: dict[str, str] = {}
    options = ImportOptions(key=KEY, concurrency=5)
    job = await open_import(imp.cflow, WORKFLOW, imp.sheet(20), options=options, validate=False)
    # The handler reads the journal through the job's own connection: what it sees is
    # what a crash at that instant would leave.
    imp.fake.on_post = lambda key: seen.__setitem__(key, job._journal.lookup([key])[key].state)
    try:
        await job.run()
    finally:
        job.close()
    assert seen == {str(n): "in_flight" for n in range(2, 22)}


async def test_unknown_outcomes_are_never_resent_by_themselves_unless_asked(imp: Bench) -> None:
    imp.fake.script = {"5": [503], "9": [504]}  # a 5xx to a POST: the server may have acted
    imp.sheet(12)
    first = await imp.run()
    second = await imp.run()
    assert (first.unknown, second.unknown, second.submitted) == (2, 2, 0)
    assert (imp.fake.posts["5"], imp.fake.posts["9"]) == (1, 1)
    row = imp.journal()["5"]
    assert (row.state, row.error_type) == ("unknown", "ServerError")
    again = await imp.run(key=KEY, resubmit_unknown=True)
    assert (again.submitted, again.complete) == (2, True)
    assert (imp.fake.posts["5"], imp.fake.posts["9"]) == (2, 2)


async def test_reconcile_marks_found_rows_done_and_sends_the_others_once(imp: Bench) -> None:
    imp.fake.script = {"3": [503], "4": [503]}
    imp.fake.apply_anyway = {"3"}  # 3 was created although its answer was lost; 4 was not
    imp.sheet(8)
    first = await imp.run()
    second = await imp.run(reconcile=True)
    assert first.unknown == 2
    assert (second.reconciled, second.submitted, second.unknown, second.skipped) == (1, 1, 0, 6)
    assert (imp.fake.posts["3"], imp.fake.posts["4"]) == (1, 2)
    assert imp.fake.keys() == Counter({str(n): 1 for n in range(2, 10)})
    assert imp.journal()["3"].record_id in imp.fake.records


async def test_reconcile_without_a_key_lists_the_rows_and_stops(imp: Bench) -> None:
    imp.sheet(5)
    imp.fake.script = {"4": [503]}
    await imp.run(key=None)
    before = sum(imp.fake.posts.values())
    with pytest.raises(UnreconciledRowsError) as caught:
        await imp.run(key=None, reconcile=True)
    assert caught.value.keys == ["#4"]  # row 4 of the sheet, identified by its number
    assert caught.value.outcome_unknown
    assert sum(imp.fake.posts.values()) == before


async def test_reconcile_refuses_a_listing_that_shows_none_of_our_records(imp: Bench) -> None:
    imp.fake.script = {"4": [503]}
    imp.sheet(5)
    await imp.run()
    imp.fake.listed = 0  # e.g. legacy records not shown as requests
    with pytest.raises(UnreconciledRowsError, match="cannot tell"):
        await imp.run(reconcile=True)
    assert imp.fake.posts["4"] == 1
    assert imp.journal()["4"].state == "unknown"


async def test_failed_rows_stay_failed_unless_retryable_or_corrected(tmp_path: Path) -> None:
    fake = FakeCflow()
    fake.script = {"3": [400, 400], "4": [429] * 20}
    source = write_csv(tmp_path / "rows.csv", 5)
    async with fake_client(fake, RetryBudget(max_tokens=4)) as cflow:
        first = await run(cflow, source)
        fake.script = {"3": [400]}
        second = await run(cflow, source)
        posts_after_second = fake.posts["3"]
        fake.script = {}
        third = await run(cflow, write_csv(source, 5, change={3: "madurai"}))
    assert (first.failed, first.journal_counts["failed"]) == (2, 2)
    assert first.failures_by_type == {"BadRequestError": 1, "RateLimitError": 1}
    # 400: the row is at fault, not resent; 429 exhausted the budget: retryable, resent.
    assert (second.failed, second.submitted) == (1, 1)
    assert posts_after_second == 1
    # Corrected (other content), the refused row is sent again: the server has nothing.
    assert (third.submitted, fake.posts["3"]) == (1, 2)


async def test_429s_slow_the_import_and_are_retried_in_the_run(imp: Bench) -> None:
    imp.fake.script = {"12": [429], "22": [429, 429], "32": [429]}
    summary = await imp.run(imp.sheet(40), concurrency=4)
    assert (summary.submitted, summary.complete, summary.throttled) == (40, True, 4)
    assert summary.settled_rate is not None
    assert imp.fake.keys() == Counter({str(n): 1 for n in range(2, 42)})


async def test_an_error_about_the_job_stops_it_and_leaves_no_open_row(imp: Bench) -> None:
    imp.fake.script = {str(n): [401] for n in range(2, 50)}
    imp.sheet(30)
    with pytest.raises(ImportAbortedError) as caught:
        await imp.run(concurrency=3)
    assert isinstance(caught.value.cause, AuthenticationError)
    counts = caught.value.summary.journal_counts
    assert counts["in_flight"] == counts["unknown"] == counts["failed"] == 0
    imp.fake.script = {}
    again = await imp.run(concurrency=3)
    assert (again.submitted, again.complete) == (30, True)


async def test_a_changed_row_is_reported_not_resent(imp: Bench) -> None:
    await imp.run(imp.sheet(4))
    summary = await imp.run(imp.sheet(4, change={3: "madurai"}))
    assert (summary.changed, summary.skipped, summary.submitted) == (1, 3, 0)
    assert not summary.complete
    assert imp.fake.posts["3"] == 1
    assert "3,3,changed," in (imp.tmp_path / "rows.csv.rejects.csv").read_text()


async def test_a_key_twice_in_the_input_is_sent_once(imp: Bench) -> None:
    rows = [{KEY: "7", "City": "a"}, {KEY: "8"}, {KEY: "7", "City": "a"}, {KEY: "7", "City": "b"}]
    summary = await imp.run(rows, journal=str(imp.tmp_path / "j.sqlite"))
    assert (summary.submitted, summary.duplicates, summary.changed) == (2, 1, 1)
    assert imp.fake.posts == Counter({"7": 1, "8": 1})


class _Schema:
    """A stand-in for cflow.record_schema(): Email required, City upper-cased."""

    def check(self, values: Any) -> list[Any]:
        problem = type("P", (), {"field": "Email", "code": "required", "message": "required"})
        return [] if values.get("Email") else [problem()]

    def prepare(self, values: Any) -> dict[str, Any]:
        return {**values, "City": str(values.get("City", "")).upper()}


async def test_a_schema_rejects_rows_before_any_request(imp: Bench) -> None:
    rows = [{KEY: "1", "Email": "a@b"}, {KEY: "2"}, {KEY: "3", "Email": "c@d", "City": "x"}]
    rejects = imp.tmp_path / "rejects.csv"
    journal = imp.tmp_path / "j.sqlite"
    summary = await imp.run(rows, journal=journal, rejects=rejects, schema=_Schema())
    assert (summary.rejected, summary.submitted) == (1, 2)
    assert "2" not in imp.fake.posts
    assert list(csv.reader(rejects.open())) == [
        ["row", "key", "reason", "problems"],
        ["2", "2", "invalid", "Email: required"],
    ]
    assert sorted(v.get("City") for v in imp.fake.records.values()) == ["", "X"]


async def test_columns_are_renamed_by_the_mapping(imp: Bench) -> None:
    rows = [{"row": "5", "Town": "trichy"}]
    mapping = {"row": KEY, "Town": "City"}
    await imp.run(rows, key="row", mapping=mapping, journal=str(imp.tmp_path / "j.sqlite"))
    assert list(imp.fake.records.values()) == [{KEY: "5", "City": "trichy"}]


async def test_a_dry_run_sends_nothing_and_writes_no_journal(imp: Bench) -> None:
    dry = await imp.run(imp.sheet(10), dry_run=True)
    assert not Path(str(imp.source) + ".journal.sqlite").exists()
    await imp.run(imp.sheet(4))
    dry_again = await imp.run(imp.sheet(10), dry_run=True)
    assert (dry.would_submit, sum(imp.fake.posts.values())) == (10, 4)
    assert (dry_again.would_submit, dry_again.skipped) == (6, 4)


async def test_no_secret_reaches_the_journal_or_the_rejects_file(imp: Bench) -> None:
    imp.fake.script = {"3": [400], "4": [503], "5": [401]}
    with pytest.raises(ImportAbortedError):
        await imp.run(imp.sheet(6, change={2: "x"}), concurrency=1)
    for path in imp.tmp_path.iterdir():
        data = path.read_bytes()
        assert API_KEY.encode() not in data, path
        assert USER_KEY.encode() not in data, path


async def test_an_unreadable_input_stops_the_import_with_a_typed_error(imp: Bench) -> None:
    good = "".join(f"name {i},{i}\n" for i in range(2, 2_000))  # past the first chunks
    imp.source.write_bytes(f"Name,{KEY}\n{good}".encode() + b"\xff\xfe broken,9999\n")
    with pytest.raises(ImportAbortedError) as caught:
        await imp.run(concurrency=16)
    assert isinstance(caught.value.cause, InvalidArgumentError)
    assert "UnicodeDecodeError" in caught.value.message
    # The rows read before the bad bytes were sent, each once, and recorded.
    assert caught.value.summary.journal_counts["done"] == sum(imp.fake.posts.values()) > 0
    assert set(imp.fake.posts.values()) == {1}


async def test_an_unwritable_rejects_file_stops_the_import_with_a_typed_error(
    imp: Bench,
) -> None:
    rows = [{KEY: "1", "Email": "a@b"}, {KEY: "2"}]
    rejects = imp.tmp_path / "missing-dir" / "rejects.csv"
    with pytest.raises(ImportAbortedError) as caught:
        await imp.run(rows, journal=imp.tmp_path / "j.sqlite", rejects=rejects, schema=_Schema())
    assert isinstance(caught.value.cause, InvalidArgumentError)
    assert "cannot write the rejects file" in caught.value.message


async def test_a_journal_that_cannot_be_written_is_a_typed_error_and_nothing_is_sent(
    imp: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: Journal, keys: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Journal, "mark_in_flight", full)
    rows = [{KEY: str(n)} for n in range(10)]
    with pytest.raises(JournalError, match="disk is full"):
        await imp.run(rows, journal=str(imp.tmp_path / "j"))
    assert sum(imp.fake.posts.values()) == 0  # in_flight first, or no request at all
