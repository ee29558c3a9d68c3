"""``cflow --help``, ``--version`` and usage errors (exit 2, nothing sent)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cflow_async.cli import EXIT_CODES
from cflow_async.sandbox import SandboxProcess
from cli.cli_support import (
    API_KEY,
    Result,
    admin,
    assert_one_error_line,
    run_module,
    subprocess_env,
)

pytestmark = pytest.mark.integration


def test_help_documents_exit_codes(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("--help")
    assert result.code == 0
    assert "exit codes:" in result.out
    for code, meaning in EXIT_CODES.items():
        assert f"{code:>3}  {meaning}" in result.out
    for command in ("check", "workflows", "fields", "submit", "requests", "sandbox"):
        assert command in result.out
    assert result.err == ""


@pytest.mark.parametrize(
    "args",
    [
        ["submit", "--help"],
        ["requests", "--help"],
        ["requests", "approve", "--help"],
        ["fields", "--help"],
    ],
)
def test_subcommand_help(env: SandboxProcess, cli: Callable[..., Result], args: list[str]) -> None:
    result = cli(*args)
    assert result.code == 0
    assert result.out.startswith("usage: cflow ")


def test_version(cli: Callable[..., Result]) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out.startswith("cflow ")


def test_module_help_in_subprocess() -> None:
    result = run_module("--help", env=subprocess_env(CFLOW_API_KEY=API_KEY))
    assert result.code == 0
    assert result.out.startswith("usage: cflow ")
    assert "exit codes:" in result.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "required: COMMAND"),
        (["requests"], "required: ACTION"),
        (["bogus"], "invalid choice"),
        (["workflows", "extra"], "unrecognized arguments: extra"),
        (["process"], "required: WORKFLOW"),
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
def test_usage_errors_exit_2(
    env: SandboxProcess, cli: Callable[..., Result], args: list[str], message: str
) -> None:
    result = cli(*args)
    assert result.code == 2, result
    assert result.out == ""
    assert message in result.err
    # Nothing was sent.
    assert admin(env, "GET", "/stats")["requests_seen"] == 0


def test_bad_input_caught_by_the_client_exits_2(
    env: SandboxProcess, cli: Callable[..., Result]
) -> None:
    result = cli("requests", "get", "User Workflow", "..")
    assert result.code == 2, result
    assert_one_error_line(result)
    assert admin(env, "GET", "/stats")["requests_seen"] == 0
