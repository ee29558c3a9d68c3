"""Field-aware records against the sandbox over loopback: submit_records(validate=True)
sends exactly the good rows and reports each bad one by index with its problems."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cflow_async import CflowClient, RecordValidationError

pytestmark = pytest.mark.integration

ROWS = 1000
BAD_EVERY = 20  # 5%

# One kind of mistake per bad row, in turn: (values, the problem codes expected). Each
# code on its own is pinned in test_records.py.
MISTAKES: list[tuple[dict[str, Any], list[str]]] = [
    ({"Ctiy": "trichy"}, ["unknown_field"]),
    # Every problem of a row is reported, not just the first.
    (
        {"Build_Date": dt.datetime(2022, 3, 26, tzinfo=dt.UTC), "Ctiy": "x"},
        ["aware_datetime", "unknown_field"],
    ),
]


def row(n: int) -> dict[str, Any]:
    """Row ``n``: good, in the several forms a caller may give, or every 20th one bad."""
    good: dict[str, Any] = {
        "Name": f"row {n}",
        "City": "trichy",
        "Email": "ashoka@cavintek.com",
        # A date, ISO text, or Cflow's own format; the select as a list or a bare value.
        "Build_Date": [dt.date(2022, 3, 26), "2022-03-26T18:30:00", "3/26/2022 6:30:00 PM"][n % 3],
        "Work_Status": ["Stage"] if n % 2 else "Stage",
    }
    if n % BAD_EVERY == BAD_EVERY - 1:
        mistake, _ = MISTAKES[(n // BAD_EVERY) % len(MISTAKES)]
        return {**good, **mistake}
    return good


def expected_codes(n: int) -> list[str]:
    _, codes = MISTAKES[(n // BAD_EVERY) % len(MISTAKES)]
    return codes if n % BAD_EVERY == BAD_EVERY - 1 else []


async def test_bulk_validate_sends_only_the_good_rows(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    seen_before = sandbox.state.stats.requests_seen
    results = [
        r
        async for r in sandbox_client.submit_records(
            "SampleWorkflow", (row(n) for n in range(ROWS)), concurrency=16, validate=True
        )
    ]
    assert sorted(r.index for r in results) == list(range(ROWS))
    bad = {n for n in range(ROWS) if expected_codes(n)}
    assert len(bad) == ROWS // BAD_EVERY
    failed = {r.index: r.error for r in results if not r.ok}
    assert set(failed) == bad
    for index, error in failed.items():
        assert isinstance(error, RecordValidationError)
        assert sorted(p.code for p in error.problems) == expected_codes(index)
        assert error.attempts == 0
    # Exactly the good rows reached the server, plus one schema fetch for all of them.
    assert sandbox.state.stats.requests_seen - seen_before == 1 + ROWS - len(bad)
    stored = sandbox.state.records_json()["records"]
    assert len(stored) == ROWS - len(bad)
    by_name = {record["values"]["Name"]: record["values"] for record in stored}
    assert by_name["row 0"]["Build_Date"] == "3/26/2022 12:00:00 AM"
    assert by_name["row 1"]["Build_Date"] == "3/26/2022 6:30:00 PM"
    assert by_name["row 2"]["Build_Date"] == "3/26/2022 6:30:00 PM"
    assert by_name["row 0"]["Work_Status"] == ["Stage"]  # the bare value, wrapped
