"""``cflow submit``/``update`` check and convert values against the field definitions by
default (``--no-validate`` turns it off); ``cflow codegen-records`` writes a typed module."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.cli_support import Cli

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("env")]


def test_a_typo_exits_2_with_the_suggestion_and_sends_nothing(cli: Cli) -> None:
    result = cli.fails(2, "submit", "SampleWorkflow", "Ctiy=trichy", "Work_Status=Nope")
    assert "Ctiy: is not a field of workflow 'SampleWorkflow'; did you mean 'City'?" in result.err
    assert "valid values: 'Stage'" in result.err
    assert cli.admin("GET", "/records")["count"] == 0


@pytest.mark.parametrize(("pair", "field"), [("Ctiy=trichy", "Ctiy"), ("Bogus=1", "Bogus")])
def test_no_validate_sends_the_values_as_given(cli: Cli, pair: str, field: str) -> None:
    before = cli.requests_seen()
    # The server's 400 (exit 6), not the client's own check (exit 2).
    assert field in cli.fails(6, "submit", "SampleWorkflow", pair, "--no-validate").err
    assert cli.requests_seen() - before == 1  # no field definitions fetched
    assert cli.admin("GET", "/records")["count"] == 0


def test_update_is_checked_against_the_stage(cli: Cli) -> None:
    cli.ok("submit", "SampleWorkflow", "City=trichy")
    result = cli.exits(2, "update", "SampleWorkflow", "27406", "44", "R_Status1=Done")
    assert "valid values: 'New', 'Approved', 'Rejected'" in result.err
    cli.ok("update", "SampleWorkflow", "27406", "44", "R_Status1=Approved")


def test_iso_dates_are_converted_and_timezone_converts_those_with_an_offset(cli: Cli) -> None:
    cli.ok("submit", "SampleWorkflow", "Name1=ashoka", "Build_Date=2026-03-01")
    aware = "Build_Date=2026-03-01T13:00:00+00:00"
    result = cli.exits(2, "submit", "SampleWorkflow", aware)
    assert "timezone" in result.err
    cli.ok("submit", "SampleWorkflow", aware, "--timezone", "Asia/Kolkata")
    assert [r["values"] for r in cli.records()] == [
        {"Name1": "ashoka", "Build_Date": "3/1/2026 12:00:00 AM"},
        {"Build_Date": "3/1/2026 6:30:00 PM"},
    ]
    # An unknown zone is a configuration error.
    cli.exits(3, "submit", "SampleWorkflow", aware, "--timezone", "Nowhere/Special")


def test_codegen_records_writes_a_module_for_the_workflow_or_a_stage(
    cli: Cli, tmp_path: Path
) -> None:
    target = tmp_path / "sample_record.py"
    result = cli.ok("codegen-records", "SampleWorkflow", "-o", str(target))
    assert result.json() == {"written": str(target), "workflow": "SampleWorkflow", "fields": 9}
    source = target.read_text(encoding="utf-8")
    compile(source, str(target), "exec")
    assert "class SampleWorkflowRecord:" in source
    assert "work_status: list[Literal['Stage']] | None = None" in source
    assert f"cflow codegen-records SampleWorkflow -o {target}" in source
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind
    stage = tmp_path / "stage.py"
    cli.ok("codegen-records", "SampleWorkflow", "--group-id", "27406", "-o", str(stage))
    source = stage.read_text(encoding="utf-8")
    assert "r_status1: Literal['New', 'Approved', 'Rejected'] | None = None" in source
    assert "GROUP_ID: Final[str | None] = '27406'" in source


def test_codegen_records_unwritable_output_exits_2(cli: Cli, tmp_path: Path) -> None:
    target = str(tmp_path / "no" / "dir.py")
    assert "cannot write" in cli.fails(2, "codegen-records", "SampleWorkflow", "-o", target).err
