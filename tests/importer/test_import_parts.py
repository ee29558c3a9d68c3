"""The importer's parts on their own: readers, the SQLite journal, the AIMD rate."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cflow_async import CflowConnectionError, CflowTimeoutError, InvalidArgumentError
from cflow_async.importer.journal import JournalError, content_hash
from cflow_async.importer.progress import LogLines, make_display
from cflow_async.importer.rate import AdaptiveRate
from cflow_async.importer.readers import estimate_rows, read_rows, source_identity
from cflow_async.importer.summary import ImportCounts
from importer.conftest import open_journal

# -- readers ------------------------------------------------------------------------------


def test_csv_rows_carry_the_sheet_row_number_and_jsonl_rows_the_line_number(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sheet.csv"
    # A byte-order mark, a quoted cell over two lines, a blank cell, an empty line.
    path.write_bytes(
        b'\xef\xbb\xbfName,City,Note\r\nann,trichy,"two\r\nlines"\r\nbob,,x\r\n\r\ncy,madurai,\r\n'
    )
    assert list(read_rows(path)) == [
        (2, {"Name": "ann", "City": "trichy", "Note": "two\r\nlines"}),
        (3, {"Name": "bob", "Note": "x"}),  # blank cells are left out
        (5, {"Name": "cy", "City": "madurai"}),
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{"a": [2, 3]}\n')
    assert list(read_rows(path)) == [(1, {"a": 1}), (3, {"a": [2, 3]})]


def test_xlsx_first_sheet_with_its_header(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["Name", "GoogleSheetRowNumber", None], ["ann", 2, None], [None, None, None]):
        sheet.append(row)
    sheet.append(["bob", 4, "ignored: no header"])
    book.create_sheet("second").append(["not", "read"])
    path = tmp_path / "sheet.xlsx"
    book.save(path)
    assert list(read_rows(path)) == [
        (2, {"Name": "ann", "GoogleSheetRowNumber": 2}),
        (4, {"Name": "bob", "GoogleSheetRowNumber": 4}),
    ]
    assert source_identity(path).fingerprint != ""
    assert estimate_rows(path) == 3  # rows 2 to 4, for the progress bar's ETA


def all_rows(path: Path) -> list[Any]:
    return list(read_rows(path))


@pytest.mark.parametrize(
    ("name", "content", "read", "match"),
    [
        ("twice.csv", b"a,b,a\n1,2,3\n", all_rows, "appears twice"),
        ("extra.csv", b"a,b\n1,2,3\n", all_rows, "row 2: more cells"),
        ("rows.jsonl", b'{"a": 1}\n[1]\n', all_rows, "line 2: expected a JSON object"),
        ("rows.txt", None, read_rows, r"\.txt"),  # refused before the file is opened
        (
            "latin1.csv",
            "Name,City\nJos\xe9,S\xe3o Paulo\n".encode("latin-1"),
            source_identity,
            r"latin1\.csv",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_by_name(
    tmp_path: Path, name: str, content: bytes | None, read: Callable[[Path], Any], match: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidArgumentError, match=match):
        read(path)


def test_identity_is_the_name_and_the_columns_not_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text("a,b\n1,2\n")
    first = source_identity(path)
    path.write_text("a,b\n1,changed\n3,4\n")  # re-exported with edits and a new row
    assert source_identity(path).fingerprint == first.fingerprint
    path.write_text("a,c\n1,2\n")
    assert source_identity(path).fingerprint != first.fingerprint
    assert estimate_rows(path) == 1


# -- journal ------------------------------------------------------------------------------


def test_journal_states_survive_reopening_and_errors_go_by_outcome(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with open_journal(path) as journal:
        assert journal.run == 1
        with journal.transaction():
            journal.add_pending([("a", 2, "h1"), ("b", 3, "h2"), ("c", 4, "h3"), ("d", 5, "h4")])
            journal.mark_in_flight(["a", "b", "c", "d"])
        with journal.transaction():
            journal.mark_done([("a", "44")])
    with open_journal(path) as journal:
        assert journal.run == 2
        rows = journal.lookup(["a", "b", "zz"])
        assert rows["a"].state == "done"
        assert rows["a"].record_id == "44"
        assert rows["b"].state == "in_flight"
        assert rows["b"].attempts == 1
        assert "zz" not in rows
        expected = {"pending": 0, "in_flight": 3, "done": 1, "failed": 0, "unknown": 0}
        assert journal.counts() == expected
        # Errors by outcome: failed (retryable here) or unknown.
        with journal.transaction():
            journal.mark_error(
                [
                    ("b", CflowConnectionError("refused"), True),
                    ("c", CflowTimeoutError("read timeout", outcome_unknown=True), True),
                ]
            )
        rows = journal.lookup(["b", "c"])
    assert (rows["b"].state, rows["b"].retryable) == ("failed", True)
    assert (rows["c"].state, rows["c"].retryable) == ("unknown", False)
    assert rows["c"].error_type == "CflowTimeoutError"


def test_journal_refuses_another_workflow_key_or_file(tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("k,v\n1,2\n")
    path = tmp_path / "j.sqlite"
    open_journal(path, source=source_identity(sheet)).close()
    with pytest.raises(JournalError, match="workflow 'User Workflow', not 'Other'"):
        open_journal(path, workflow="Other")
    with pytest.raises(JournalError, match="identifies rows by 'GoogleSheetRowNumber'"):
        open_journal(path, key_column=None)
    other = tmp_path / "other.csv"
    other.write_text("k,v\n1,2\n")
    with pytest.raises(JournalError, match="named differently"):
        open_journal(path, source=source_identity(other))
    sheet.write_text("k,w\n1,2\n")
    with pytest.raises(JournalError, match="other columns"):
        open_journal(path, source=source_identity(sheet))


def test_one_importer_at_a_time_and_no_other_file_is_taken_for_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with open_journal(path), pytest.raises(JournalError, match="in use by another import"):
        open_journal(path)
    open_journal(path).close()  # free again once the first one closed
    notes = tmp_path / "notes.sqlite"
    notes.write_text("just text, not SQLite" * 100)
    with pytest.raises(JournalError, match="not an import journal"):
        open_journal(notes)
    # A dry run never creates the journal.
    with open_journal(tmp_path / "dry.sqlite", readonly=True) as journal:
        assert journal.lookup(["a"]) == {}
    assert not (tmp_path / "dry.sqlite").exists()


def test_content_hash_ignores_key_order() -> None:
    assert content_hash({"a": 1, "b": "x"}) == content_hash({"b": "x", "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": "1"})
    assert json.dumps(content_hash({})).isascii()


# -- rate ---------------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(cap: float | None = None) -> tuple[AdaptiveRate, FakeTime]:
    time = FakeTime()
    return AdaptiveRate(cap, clock=time.clock, sleep=time.sleep), time


async def test_no_limit_until_the_first_429_and_the_running_loop_clock_by_default() -> None:
    rate, time = limiter()
    for _ in range(50):
        await rate.acquire()
    assert time.slept == []
    assert rate.rate is None
    assert await AdaptiveRate(None).acquire() > 0


async def test_a_429_halves_the_achieved_rate_once_per_round() -> None:
    rate, time = limiter()
    sent = []
    for _ in range(10):  # 10 requests over one second
        sent.append(await rate.acquire())
        time.now += 0.1
    rate.throttle(sent[-1], None)
    assert rate.rate == pytest.approx(10 / 1.0 / 2, rel=0.1)
    cut = rate.rate
    rate.throttle(sent[-2], None)  # sent before the cut: the same congestion
    assert rate.rate == cut
    later = await rate.acquire()
    rate.throttle(later, None)  # sent after the cut: a new signal
    assert rate.rate == pytest.approx(cut / 2)
    assert rate.throttled == 3


async def test_the_cap_bounds_the_rate_and_spaces_requests() -> None:
    rate, time = limiter(cap=4.0)
    for _ in range(5):
        await rate.acquire()
    assert time.slept == pytest.approx([0.25] * 4)
    for _ in range(100):
        rate.succeeded()
    assert rate.rate == 4.0


async def test_retry_after_pauses_every_send_and_the_floor_holds() -> None:
    rate, time = limiter(cap=1.0)
    sent = await rate.acquire()
    rate.throttle(sent, retry_after=7.0)
    start = time.now
    await rate.acquire()
    assert time.now - start >= 7.0
    for _ in range(20):
        rate.throttle(await rate.acquire(), None)
    assert rate.rate == rate.floor == 0.5


async def test_successes_climb_back_by_a_step_sized_to_the_cut() -> None:
    rate, _ = limiter(cap=None)
    rate.rate = 10.0
    for _ in range(10):  # one second's worth of successes at 10/s, no cut yet
        rate.succeeded()
    assert rate.rate == pytest.approx(11.0, rel=0.01)  # about one request/s each second
    rate.rate = 400.0
    rate.throttle(await rate.acquire(), None)
    assert rate.rate == 200.0
    for _ in range(200):  # one second's worth of successes at about 200/s
        rate.succeeded()
    assert rate.rate == pytest.approx(210.0, rel=0.02)  # (400 - 200) / 20 per second


# -- progress -----------------------------------------------------------------------------


def test_log_lines_carry_rows_rate_eta_and_counts() -> None:
    counts = ImportCounts(read=50, submitted=40, skipped=5, failed=2, unknown=1, rejected=2)
    quiet = io.StringIO()
    LogLines(100, quiet, every=3600).update(counts)
    assert quiet.getvalue() == ""  # not yet: one line every few seconds
    stream = io.StringIO()
    LogLines(100, stream, every=0).update(counts)
    line = stream.getvalue()
    for part in ("50/100 rows", "rows/s", "ETA", "ok 40", "failed 2", "unknown 1", "rejected 2"):
        assert part in line, line


def test_a_terminal_gets_the_rich_bar_and_a_pipe_log_lines() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(make_display(10, io.StringIO()), LogLines)
    screen = Terminal()
    bar = make_display(10, screen)
    assert not isinstance(bar, LogLines)
    bar.update(ImportCounts(read=4, submitted=3, failed=1))
    bar.note("a note")
    bar.close()
    assert "a note" in screen.getvalue()
    assert "ok 3" in screen.getvalue()
