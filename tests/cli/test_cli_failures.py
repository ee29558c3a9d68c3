"""``cflow --help`` and every failure's exit code: usage errors (2, nothing sent), API failures
(4-9); subprocess runs, ``cflow sandbox`` and Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from servers import Loopback, Reply, Seen

from cflow_async.cli import EXIT_CODES
from cli.cli_support import (
    SEED_WORKFLOWS,
    UNKNOWN_NOTE,
    Cli,
    assert_one_error_line,
    check_clean,
    run_module,
    sandbox_env,
)

# The environment matters to the in-process runs only: subprocesses get their own.
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("env")]


# --- help and usage errors -------------------------------------------------------------------


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


# --- API failures ----------------------------------------------------------------------------


def _echo_the_key(seen: Seen) -> Reply:
    return Reply(400, json.dumps({"message": f"bad key {seen.header('apikey')}"}).encode())


@pytest.mark.parametrize(
    ("server", "args", "code", "says"),
    [
        # 404: an unknown workflow, record or request; a 404 to a write is no unknown outcome.
        (None, ["process", "Nope"], 5, "404"),
        (None, ["update", "SampleWorkflow", "27406", "999", "City=x"], 5, "404"),
        (None, ["requests", "get", "User Workflow", "4242"], 5, "404"),
        # Faults the sandbox is scripted to give.
        # A write that may have reached the server (the library's message then ends "Check
        # before sending it again": the unreadable-answer row below).
        ({"status": 503, "method": "POST"}, ["submit", "Test", "a=b"], 8, "outcome unknown"),
        (
            {"status": 502, "method": "POST", "act": True},
            ["requests", "create", "Test", "a=b"],
            8,
            "outcome unknown",
        ),
        ({"status": 403}, ["users"], 4, "403"),
        ({"status": 429, "retry_after": "120"}, ["workflows"], 6, "429"),
        ({"status": 503}, ["--retries", "0", "workflows"], 7, "503"),
        (
            {"status": None, "latency": 3},
            ["--timeout", "0.5", "--retries", "0", "workflows"],
            7,
            "timeout",
        ),
        # Answers the sandbox never gives, from a stub server.
        (lambda seen: Reply(body=b"<html>maintenance</html>"), ["workflows"], 9, "maintenance"),
        # An unreadable answer to a write. --no-validate: the stub answers the field
        # definitions' GET with the same body.
        (
            lambda seen: Reply(body=b'{"unexpected": true}'),
            ["submit", "Test", "a=b", "--no-validate"],
            8,
            "Check before sending it again",
        ),
        # Keys echoed by a server are redacted (cli() checks for leaks).
        (_echo_the_key, ["workflows"], 6, "bad key [redacted]"),
    ],
)
def test_api_failure_exit_codes(
    cli: Cli,
    stub: Loopback,
    server: dict[str, Any] | Callable[[Seen], Reply] | None,
    args: list[str],
    code: int,
    says: str,
) -> None:
    if callable(server):
        stub.handler = server
        args = ["--base-url", stub.url, *args]
    elif server:
        cli.script(server)
    assert says in cli.fails(code, *args).err


def test_read_is_retried_by_default(cli: Cli) -> None:
    cli.script({"status": 503})
    cli.ok("workflows")
    assert cli.requests_seen() == 2


def test_module_against_the_sandbox(cli: Cli) -> None:
    environ = sandbox_env(cli.sandbox)
    result = run_module("workflows", env=environ)
    assert result.code == 0, result
    assert [w["name"] for w in result.json()] == SEED_WORKFLOWS

    result = run_module("process", "Nope", env=environ)
    assert result.code == 5, result
    assert_one_error_line(result)


def test_sandbox_command_delegates(cli: Cli) -> None:
    result = cli.ok("sandbox", "--help")
    assert "--port" in result.out
    assert "--fault-rate" in result.out
    # The sandbox's own checks apply.
    assert "loopback" in cli.exits(2, "sandbox", "--host", "192.0.2.1", "--port", "0").err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_exits_130(cli: Cli) -> None:
    # A real SIGINT during a write (what a write adds to the line: test_cli_units).
    cli.script({"status": None, "latency": 30})
    process = subprocess.Popen(
        [sys.executable, "-m", "cflow_async", "submit", "Test", "a=b"],
        env=sandbox_env(cli.sandbox),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A test runner started in the background may ignore SIGINT; the child must not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 30
        while cli.requests_seen() == 0:
            assert time.monotonic() < deadline, "the CLI never reached the sandbox"
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    check_clean(out, err)
    assert (process.returncode, out) == (130, ""), err
    assert err == f"cflow: error: interrupted{UNKNOWN_NOTE}\n"
