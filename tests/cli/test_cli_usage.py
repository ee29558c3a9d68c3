"""``cflow --help``, ``--version`` and usage errors (exit 2, nothing sent)."""

from __future__ import annotations

import pytest

from cflow_async.cli import EXIT_CODES
from cli.cli_support import Cli

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("env")]


def test_help_documents_exit_codes(cli: Cli) -> None:
    result = cli.ok("--help")
    assert "exit codes:" in result.out
    for code, meaning in EXIT_CODES.items():
        assert f"{code:>3}  {meaning}" in result.out
    for command in ("check", "workflows", "fields", "submit", "requests", "sandbox"):
        assert command in result.out
    assert result.err == ""
    assert cli.ok("--version").out.startswith("cflow ")


@pytest.mark.parametrize("args", [["submit"], ["requests"], ["requests", "approve"], ["fields"]])
def test_subcommand_help(cli: Cli, args: list[str]) -> None:
    assert cli.ok(*args, "--help").out.startswith("usage: cflow ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "required: COMMAND"),
        (["requests"], "required: ACTION"),
        (["workflows", "extra"], "unrecognized arguments: extra"),
        (["--timeout", "0", "workflows"], "--timeout"),
        (["--retries", "-1", "workflows"], "--retries"),
        (["--format", "xml", "workflows"], "--format"),
        (["fields", "User Workflow", "--for-map"], "--for-map needs --group-id"),
        (["submit", "Test"], "exactly one of"),
        (["submit", "Test", "--values", "{}", "a=b"], "exactly one of"),
        (["submit", "Test", "novalue"], "FIELD=VALUE"),
        (["submit", "Test", "a=1", "a=2"], "given twice"),
        (["submit", "Test", "a:=[1"], "not valid JSON"),
        (["submit", "Test", "--values", "[1, 2]"], "JSON object"),
        (["submit", "Test", "--values", "{nope"], "not valid JSON"),
        (["requests", "create", "Test"], "exactly one of"),
    ],
)
def test_usage_errors_exit_2(cli: Cli, args: list[str], message: str) -> None:
    result = cli.exits(2, *args)
    assert result.out == ""
    assert message in result.err
    assert cli.requests_seen() == 0  # nothing was sent


def test_bad_input_caught_by_the_client_exits_2(cli: Cli) -> None:
    cli.fails(2, "requests", "get", "User Workflow", "..")
    assert cli.requests_seen() == 0
