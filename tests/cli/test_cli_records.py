"""``cflow submit``/``update`` check and convert values against the field definitions by
default (``--no-validate`` turns it off); ``cflow codegen-records`` writes a typed module."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cflow_async.sandbox import SandboxProcess
from cli.cli_support import Result, admin, assert_one_error_line

pytestmark = pytest.mark.integration


def requests_seen(env: SandboxProcess) -> int:
    return int(admin(env, "GET", "/stats")["requests_seen"])


def test_iso_date_from_the_shell_is_converted(
    env: SandboxProcess, cli: Callable[..., Result]
) -> None:
    result = cli("submit", "SampleWorkflow", "Name1=ashoka", "Build_Date=2026-03-01")
    assert result.code == 0, result
    record = admin(env, "GET", "/records")["records"][0]
    assert record["values"] == {"Name1": "ashoka", "Build_Date": "3/1/2026 12:00:00 AM"}


def test_a_typo_exits_2_with_the_suggestion_and_sends_nothing(
    env: SandboxProcess, cli: Callable[..., Result]
) -> None:
    result = cli("submit", "SampleWorkflow", "Ctiy=trichy", "Work_Status=Nope")
    assert result.code == 2, result
    assert_one_error_line(result)
    assert "Ctiy: is not a field of workflow 'SampleWorkflow'; did you mean 'City'?" in result.err
    assert "valid values: 'Stage'" in result.err
    assert admin(env, "GET", "/records")["count"] == 0


def test_no_validate_sends_the_values_as_given(
    env: SandboxProcess, cli: Callable[..., Result]
) -> None:
    before = requests_seen(env)
    result = cli("submit", "SampleWorkflow", "Ctiy=trichy", "--no-validate")
    assert result.code == 6, result  # the server's 400, not the client's check
    assert requests_seen(env) - before == 1  # no field definitions fetched


def test_update_is_checked_against_the_stage(
    env: SandboxProcess, cli: Callable[..., Result]
) -> None:
    assert cli("submit", "SampleWorkflow", "City=trichy").code == 0
    result = cli("update", "SampleWorkflow", "27406", "44", "R_Status1=Done")
    assert result.code == 2, result
    assert "valid values: 'New', 'Approved', 'Rejected'" in result.err
    result = cli("update", "SampleWorkflow", "27406", "44", "R_Status1=Approved")
    assert result.code == 0, result


def test_timezone_option_converts_datetimes_with_an_offset(
    env: SandboxProcess, cli: Callable[..., Result]
) -> None:
    aware = "Build_Date=2026-03-01T13:00:00+00:00"
    result = cli("submit", "SampleWorkflow", aware)
    assert result.code == 2, result
    assert "timezone" in result.err
    result = cli("submit", "SampleWorkflow", aware, "--timezone", "Asia/Kolkata")
    assert result.code == 0, result
    record = admin(env, "GET", "/records")["records"][0]
    assert record["values"] == {"Build_Date": "3/1/2026 6:30:00 PM"}
    result = cli("submit", "SampleWorkflow", aware, "--timezone", "Nowhere/Special")
    assert result.code == 3, result  # a configuration error


def test_codegen_records_writes_a_module(
    env: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    target = tmp_path / "sample_record.py"
    result = cli("codegen-records", "SampleWorkflow", "-o", str(target))
    assert result.code == 0, result
    assert result.json() == {"written": str(target), "workflow": "SampleWorkflow", "fields": 9}
    source = target.read_text(encoding="utf-8")
    compile(source, str(target), "exec")
    assert "class SampleWorkflowRecord:" in source
    assert "work_status: list[Literal['Stage']] | None = None" in source
    assert f"cflow codegen-records SampleWorkflow -o {target}" in source
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_codegen_records_for_a_stage(
    env: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    target = tmp_path / "stage.py"
    result = cli("codegen-records", "SampleWorkflow", "--group-id", "27406", "-o", str(target))
    assert result.code == 0, result
    source = target.read_text(encoding="utf-8")
    assert "r_status1: Literal['New', 'Approved', 'Rejected'] | None = None" in source
    assert "GROUP_ID: Final[str | None] = '27406'" in source


def test_codegen_records_unwritable_output_exits_2(
    env: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli("codegen-records", "SampleWorkflow", "-o", str(tmp_path / "no" / "dir.py"))
    assert result.code == 2, result
    assert_one_error_line(result)
    assert "cannot write" in result.err
