"""The import job's rules, against a scripted fake Cflow (an ``httpx.MockTransport``):
in_flight before send, resumption, what is and is not resent, reconciliation, 429s,
job-level errors, changed and duplicate rows, schema rejects, dry runs.

The crash-and-resume proof against the real sandbox is in test_import_crash.py.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import API_KEY, CREDS, FAST_RETRY, USER_KEY

from cflow_async import AuthenticationError, CflowClient, InvalidArgumentError, RetryBudget
from cflow_async.importer import (
    ImportAbortedError,
    ImportOptions,
    UnreconciledRowsError,
    open_import,
)
from cflow_async.importer.journal import Journal

WORKFLOW = "User Workflow"
KEY = "GoogleSheetRowNumber"

Reply = Callable[[dict[str, Any]], "httpx.Response | None"]


class FakeCflow:
    """Records submissions by key; ``script[key]`` may answer instead (once per entry)."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}  # record id -> values
        self.posts: Counter[str] = Counter()  # key -> submissions received
        self.script: dict[str, list[int]] = {}  # key -> statuses to answer, in order
        self.apply_anyway: set[str] = set()  # keys whose faulted submission is still applied
        self.listing_hides_records = False
        self.on_post: Callable[[str], None] | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path.endswith("/submitrecord"):
            values = json.loads(request.content)["dynamicobj"]
            key = str(values.get(KEY, values.get("n")))
            self.posts[key] += 1
            if self.on_post is not None:
                self.on_post(key)
            statuses = self.script.get(key)
            if statuses:
                status = statuses.pop(0)
                if key in self.apply_anyway:
                    self._store(values)
                headers = {"retry-after": "0"} if status == 429 else {}
                return httpx.Response(status, json={"message": "scripted"}, headers=headers)
            return httpx.Response(200, json={"Record_Id": self._store(values)})
        if request.method == "GET" and path.endswith("/getworkflows"):
            return httpx.Response(200, json=[{"id": "wf-1", "name": WORKFLOW}])
        if request.method == "GET" and path.endswith("/workflows/wf-1/requests"):
            shown = [] if self.listing_hides_records else self.records.items()
            return httpx.Response(
                200, json=[{"id": rid, "workflowId": "wf-1", "fields": v} for rid, v in shown]
            )
        return httpx.Response(404, json={"message": f"no route {path}"})

    def _store(self, values: dict[str, Any]) -> str:
        record_id = str(100 + len(self.records))
        self.records[record_id] = values
        return record_id

    def keys(self) -> Counter[str]:
        return Counter(str(v[KEY]) for v in self.records.values())


@contextlib.asynccontextmanager
async def fake_client(
    fake: FakeCflow, budget: RetryBudget | None = None
) -> AsyncIterator[CflowClient]:
    async def handle(request: httpx.Request) -> httpx.Response:
        return fake.handler(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    try:
        async with CflowClient(
            **CREDS, http_client=http, retry=FAST_RETRY, retry_budget=budget
        ) as cflow:
            yield cflow
    finally:
        await http.aclose()


def write_csv(path: Path, count: int, *, change: dict[int, str] | None = None) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Name", "Email", "City", KEY])
        for number in range(2, count + 2):
            city = (change or {}).get(number, "trichy")
            writer.writerow([f"name {number}", f"r{number}@example.com", city, number])
    return path


async def run(cflow: CflowClient, source: Any, **kwargs: Any) -> Any:
    journal = kwargs.pop("journal", None)
    options = ImportOptions(**{"key": KEY, "settle": 0.0, **kwargs})
    # The fake has no field definitions: these tests are about the journal's rules.
    job = await open_import(
        cflow, WORKFLOW, source, options=options, journal=journal, validate=False
    )
    try:
        return await job.run()
    finally:
        job.close()


def journal_rows(path: Path) -> dict[str, Any]:
    with Journal.open(
        str(path) + ".journal.sqlite", workflow=WORKFLOW, key_column=KEY, source=None
    ) as journal:
        return {
            row.key: row
            for row in journal.rows_in(("pending", "in_flight", "done", "failed", "unknown"))
        }


async def test_every_row_once_and_a_second_run_skips_them(tmp_path: Path) -> None:
    fake = FakeCflow()
    source = write_csv(tmp_path / "rows.csv", 40)
    async with fake_client(fake) as cflow:
        first = await run(cflow, source, concurrency=4)
        second = await run(cflow, source, concurrency=4)
    assert (first.submitted, first.skipped, first.read) == (40, 0, 40)
    assert (second.submitted, second.skipped) == (0, 40)
    assert fake.keys() == Counter({str(n): 1 for n in range(2, 42)})
    assert first.journal_counts["done"] == 40
    rows = journal_rows(source)
    assert {row.record_id for row in rows.values()} == set(fake.records)
    assert first.complete
    assert second.complete


async def test_in_flight_is_committed_before_the_request_leaves(tmp_path: Path) -> None:
    fake = FakeCflow()
    source = write_csv(tmp_path / "rows.csv", 20)
    seen: dict[str, str] = {}
    async with fake_client(fake) as cflow:
        job = await open_import(
            cflow,
            WORKFLOW,
            source,
            options=ImportOptions(key=KEY, concurrency=5),
            validate=False,
        )
        # The handler reads the journal through the job's own connection: what it sees is
        # what a crash at that instant would leave.
        fake.on_post = lambda key: seen.__setitem__(key, job._journal.lookup([key])[key].state)
        try:
            await job.run()
        finally:
            job.close()
    assert seen == {str(n): "in_flight" for n in range(2, 22)}


async def test_unknown_outcomes_are_never_resent_by_themselves(tmp_path: Path) -> None:
    fake = FakeCflow()
    fake.script = {"5": [503], "9": [504]}  # a 5xx to a POST: the server may have acted
    source = write_csv(tmp_path / "rows.csv", 12)
    async with fake_client(fake) as cflow:
        first = await run(cflow, source)
        second = await run(cflow, source)
    assert first.unknown == 1 + 1
    assert second.unknown == 2
    assert second.submitted == 0
    assert fake.posts["5"] == 1
    assert fake.posts["9"] == 1
    assert journal_rows(source)["5"].state == "unknown"
    assert journal_rows(source)["5"].error_type == "ServerError"


async def test_resubmit_unknown_sends_them_again(tmp_path: Path) -> None:
    fake = FakeCflow()
    fake.script = {"5": [503]}
    source = write_csv(tmp_path / "rows.csv", 6)
    async with fake_client(fake) as cflow:
        await run(cflow, source)
        again = await run(cflow, source, key=KEY, resubmit_unknown=True)
    assert again.submitted == 1
    assert again.complete
    assert fake.posts["5"] == 2


async def test_reconcile_marks_found_rows_done_and_sends_the_others_once(tmp_path: Path) -> None:
    fake = FakeCflow()
    fake.script = {"3": [503], "4": [503]}
    fake.apply_anyway = {"3"}  # 3 was created although its answer was lost; 4 was not
    source = write_csv(tmp_path / "rows.csv", 8)
    async with fake_client(fake) as cflow:
        first = await run(cflow, source)
        second = await run(cflow, source, reconcile=True)
    assert first.unknown == 2
    assert (second.reconciled, second.submitted, second.unknown, second.skipped) == (1, 1, 0, 6)
    assert fake.posts["3"] == 1
    assert fake.posts["4"] == 2
    assert fake.keys() == Counter({str(n): 1 for n in range(2, 10)})
    assert journal_rows(source)["3"].record_id in fake.records


async def test_reconcile_without_a_key_lists_the_rows_and_stops(tmp_path: Path) -> None:
    fake = FakeCflow()
    source = write_csv(tmp_path / "rows.csv", 5)
    fake.script = {"4": [503]}
    async with fake_client(fake) as cflow:
        await run(cflow, source, key=None)
        before = sum(fake.posts.values())
        with pytest.raises(UnreconciledRowsError) as caught:
            await run(cflow, source, key=None, reconcile=True)
    assert caught.value.keys == ["#4"]  # row 4 of the sheet, identified by its number
    assert caught.value.outcome_unknown
    assert sum(fake.posts.values()) == before


async def test_reconcile_refuses_a_listing_that_shows_none_of_our_records(tmp_path: Path) -> None:
    fake = FakeCflow()
    fake.script = {"4": [503]}
    source = write_csv(tmp_path / "rows.csv", 5)
    async with fake_client(fake) as cflow:
        await run(cflow, source)
        fake.listing_hides_records = True  # e.g. legacy records not shown as requests
        with pytest.raises(UnreconciledRowsError, match="cannot tell"):
            await run(cflow, source, reconcile=True)
    assert fake.posts["4"] == 1
    assert journal_rows(source)["4"].state == "unknown"


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
    assert first.failed == 2
    assert first.failures_by_type == {
        "BadRequestError": 1,
        "RateLimitError": 1,
    }
    rows = first.journal_counts
    assert rows["failed"] == 2
    # 400: the row is at fault, not resent; 429 exhausted the budget: retryable, resent.
    assert (second.failed, second.submitted) == (1, 1)
    assert posts_after_second == 1
    # Corrected (other content), the refused row is sent again: the server has nothing.
    assert third.submitted == 1
    assert fake.posts["3"] == 2


async def test_429s_slow_the_import_and_are_retried_in_the_run(tmp_path: Path) -> None:
    fake = FakeCflow()
    fake.script = {"12": [429], "22": [429, 429], "32": [429]}
    source = write_csv(tmp_path / "rows.csv", 40)
    async with fake_client(fake) as cflow:
        summary = await run(cflow, source, concurrency=4)
    assert summary.submitted == 40
    assert summary.complete
    assert summary.throttled == 4
    assert summary.settled_rate is not None
    assert fake.keys() == Counter({str(n): 1 for n in range(2, 42)})


async def test_an_error_about_the_job_stops_it_and_leaves_no_open_row(tmp_path: Path) -> None:
    fake = FakeCflow()
    fake.script = {str(n): [401] for n in range(2, 50)}
    source = write_csv(tmp_path / "rows.csv", 30)
    async with fake_client(fake) as cflow:
        with pytest.raises(ImportAbortedError) as caught:
            await run(cflow, source, concurrency=3)
        assert isinstance(caught.value.cause, AuthenticationError)
        counts = caught.value.summary.journal_counts
        assert counts["in_flight"] == counts["unknown"] == counts["failed"] == 0
        fake.script = {}
        again = await run(cflow, source, concurrency=3)
    assert again.submitted == 30
    assert again.complete


async def test_a_changed_row_is_reported_not_resent(tmp_path: Path) -> None:
    fake = FakeCflow()
    source = write_csv(tmp_path / "rows.csv", 4)
    async with fake_client(fake) as cflow:
        await run(cflow, source)
        summary = await run(cflow, write_csv(source, 4, change={3: "madurai"}))
    assert (summary.changed, summary.skipped, summary.submitted) == (1, 3, 0)
    assert not summary.complete
    assert fake.posts["3"] == 1
    rejects = (tmp_path / "rows.csv.rejects.csv").read_text()
    assert "3,3,changed," in rejects


async def test_a_key_twice_in_the_input_is_sent_once(tmp_path: Path) -> None:
    fake = FakeCflow()
    rows = [{KEY: "7", "City": "a"}, {KEY: "8"}, {KEY: "7", "City": "a"}, {KEY: "7", "City": "b"}]
    async with fake_client(fake) as cflow:
        summary = await run(cflow, rows, journal=str(tmp_path / "j.sqlite"))
    assert (summary.submitted, summary.duplicates, summary.changed) == (2, 1, 1)
    assert fake.posts == Counter({"7": 1, "8": 1})


class _Schema:
    """A stand-in for cflow.record_schema(): Email required, City upper-cased."""

    def check(self, values: Any) -> list[Any]:
        problem = type("P", (), {"field": "Email", "code": "required", "message": "required"})
        return [] if values.get("Email") else [problem()]

    def prepare(self, values: Any) -> dict[str, Any]:
        return {**values, "City": str(values.get("City", "")).upper()}


async def test_a_schema_rejects_rows_before_any_request(tmp_path: Path) -> None:
    fake = FakeCflow()
    rows = [{KEY: "1", "Email": "a@b"}, {KEY: "2"}, {KEY: "3", "Email": "c@d", "City": "x"}]
    rejects = tmp_path / "rejects.csv"
    async with fake_client(fake) as cflow:
        job = await open_import(
            cflow,
            WORKFLOW,
            rows,
            journal=tmp_path / "j.sqlite",
            rejects=rejects,
            options=ImportOptions(key=KEY),
            schema=_Schema(),
        )
        try:
            summary = await job.run()
        finally:
            job.close()
    assert (summary.rejected, summary.submitted) == (1, 2)
    assert "2" not in fake.posts
    assert list(csv.reader(rejects.open())) == [
        ["row", "key", "reason", "problems"],
        ["2", "2", "invalid", "Email: required"],
    ]
    assert sorted(v.get("City") for v in fake.records.values()) == ["", "X"]


async def test_columns_are_renamed_by_the_mapping(tmp_path: Path) -> None:
    fake = FakeCflow()
    rows = [{"row": "5", "Town": "trichy"}]
    async with fake_client(fake) as cflow:
        await run(
            cflow,
            rows,
            key="row",
            mapping={"row": KEY, "Town": "City"},
            journal=str(tmp_path / "j.sqlite"),
        )
    assert list(fake.records.values()) == [{KEY: "5", "City": "trichy"}]


async def test_a_dry_run_sends_nothing_and_writes_no_journal(tmp_path: Path) -> None:
    fake = FakeCflow()
    source = write_csv(tmp_path / "rows.csv", 10)
    async with fake_client(fake) as cflow:
        dry = await run(cflow, source, dry_run=True)
        assert not Path(str(source) + ".journal.sqlite").exists()
        await run(cflow, write_csv(source, 4))
        dry_again = await run(cflow, write_csv(source, 10), dry_run=True)
    assert dry.would_submit == 10
    assert sum(fake.posts.values()) == 4
    assert (dry_again.would_submit, dry_again.skipped) == (6, 4)


async def test_no_secret_reaches_the_journal_or_the_rejects_file(tmp_path: Path) -> None:
    fake = FakeCflow()
    fake.script = {"3": [400], "4": [503], "5": [401]}
    source = write_csv(tmp_path / "rows.csv", 6)
    async with fake_client(fake) as cflow:
        with pytest.raises(ImportAbortedError):
            await run(cflow, write_csv(source, 6, change={2: "x"}), concurrency=1)
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert API_KEY.encode() not in data, path
        assert USER_KEY.encode() not in data, path


async def test_an_unreadable_input_stops_the_import_with_a_typed_error(tmp_path: Path) -> None:
    fake = FakeCflow()
    source = tmp_path / "rows.csv"
    good = "".join(f"name {i},{i}\n" for i in range(2, 2_000))  # past the first chunks
    source.write_bytes(f"Name,{KEY}\n{good}".encode() + b"\xff\xfe broken,9999\n")
    async with fake_client(fake) as cflow:
        with pytest.raises(ImportAbortedError) as caught:
            await run(cflow, source, concurrency=16)
    assert isinstance(caught.value.cause, InvalidArgumentError)
    assert "UnicodeDecodeError" in caught.value.message
    # The rows read before the bad bytes were sent, each once, and recorded.
    assert caught.value.summary.journal_counts["done"] == sum(fake.posts.values()) > 0
    assert set(fake.posts.values()) == {1}


async def test_an_unwritable_rejects_file_stops_the_import_with_a_typed_error(
    tmp_path: Path,
) -> None:
    fake = FakeCflow()
    rows = [{KEY: "1", "Email": "a@b"}, {KEY: "2"}]
    async with fake_client(fake) as cflow:
        job = await open_import(
            cflow,
            WORKFLOW,
            rows,
            journal=tmp_path / "j.sqlite",
            rejects=tmp_path / "missing-dir" / "rejects.csv",
            options=ImportOptions(key=KEY),
            schema=_Schema(),
        )
        try:
            with pytest.raises(ImportAbortedError) as caught:
                await job.run()
        finally:
            job.close()
    assert isinstance(caught.value.cause, InvalidArgumentError)
    assert "cannot write the rejects file" in caught.value.message


async def test_a_journal_that_cannot_be_written_is_a_typed_error_and_nothing_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from cflow_async.importer import JournalError

    def full(self: Journal, keys: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Journal, "mark_in_flight", full)
    fake = FakeCflow()
    async with fake_client(fake) as cflow:
        with pytest.raises(JournalError, match="disk is full"):
            await run(cflow, [{KEY: str(n)} for n in range(10)], journal=str(tmp_path / "j"))
    assert sum(fake.posts.values()) == 0  # in_flight first, or no request at all
