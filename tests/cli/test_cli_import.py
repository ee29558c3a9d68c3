"""``cflow import``: the command in the table, its exit codes and output, against the
session's sandbox child process (the crash test is tests/importer/test_import_crash.py)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from cli.cli_support import Cli

WORKFLOW = "User Workflow"
KEY = "GoogleSheetRowNumber"

pytestmark = pytest.mark.usefixtures("env")


def sheet(path: Path, count: int, *, typo_rows: tuple[int, ...] = ()) -> str:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Name", "City", "Ctiy", KEY])
        for number in range(2, count + 2):
            typo = "trichy" if number in typo_rows else ""
            writer.writerow([f"name {number}", "trichy", typo, number])
    return str(path)


def stored(cli: Cli) -> Counter[str]:
    return Counter(str(r["values"][KEY]) for r in cli.records())


def test_rows_the_field_definitions_refuse_go_to_the_rejects_file(cli: Cli, tmp_path: Path) -> None:
    path = sheet(tmp_path / "rows.csv", 6, typo_rows=(3, 5))
    result = cli.exits(2, "import", path, "--workflow", WORKFLOW, "--key", KEY)  # bad input
    assert "2 rejected" in result.err
    with open(path + ".rejects.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["row"], r["reason"]) for r in rows] == [("3", "invalid"), ("5", "invalid")]
    assert "Ctiy" in rows[0]["problems"]
    assert "City" in rows[0]["problems"]  # the suggestion
    assert sorted(stored(cli)) == ["2", "4", "6", "7"]


def test_an_unknown_outcome_exits_8_reconcile_settles_it_and_the_journal_keeps_its_workflow(
    cli: Cli, tmp_path: Path
) -> None:
    path = sheet(tmp_path / "rows.csv", 10)
    command = ("import", path, "--workflow", WORKFLOW, "--key", KEY)
    # One submission answered 503 after the sandbox stored it, one dropped unstored.
    cli.script(
        [
            {"status": 503, "act": True, "method": "POST", "path_contains": "submitrecord"},
            {"status": None, "method": "POST", "path_contains": "submitrecord"},
            {"drop": True, "method": "POST", "path_contains": "submitrecord"},
        ]
    )
    first = cli.exits(8, *command, "--concurrency", "1")
    assert "2 of unknown outcome (run again with --reconcile)" in first.err
    cli.exits(8, *command)  # never resent by itself
    summary = cli.ok(*command, "--reconcile", "--settle", "0").json()
    assert (summary["reconciled"], summary["submitted"]) == (1, 1)
    assert stored(cli) == Counter({str(n): 1 for n in range(2, 12)})
    other = cli.exits(2, *command[:2], "--workflow", "Test", "--key", KEY)
    assert "belongs to an import into workflow 'User Workflow', not 'Test'" in other.err


def test_reconcile_without_a_key_lists_the_rows_and_stops(cli: Cli, tmp_path: Path) -> None:
    path = sheet(tmp_path / "rows.csv", 4)
    cli.script([{"status": 500, "method": "POST"}])
    cli.exits(8, "import", path, "--workflow", WORKFLOW, "--concurrency", "1")
    result = cli.exits(8, "import", path, "--workflow", WORKFLOW, "--reconcile")
    assert result.out.split() == ["#2"]  # the row, by number: nothing else to look it up by
    assert "--resubmit-unknown" in result.err


def test_import_help_names_the_options(cli: Cli) -> None:
    result = cli.ok("import", "--help")
    for option in ("--journal", "--key", "--map", "--reconcile", "--resubmit-unknown", "--rate"):
        assert option in result.out
