"""``cflow --help`` and every failure's exit code: usage errors (2, nothing sent), settings and
credentials (the environment, ``--credentials-file``: 3 and 4), API failures (4-9); subprocess
runs, ``cflow sandbox`` and Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from servers import Loopback, Reply, Seen

from cflow_async.cli import EXIT_CODES
from cli.cli_support import (
    API_KEY,
    SEED_WORKFLOWS,
    UNKNOWN_NOTE,
    USER_KEY,
    USERNAME,
    WRONG_API_KEY,
    Cli,
    assert_one_error_line,
    check_clean,
    run_module,
    sandbox_env,
)

# The environment matters to the in-process runs only: subprocesses get their own.
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("env")]


# --- help and usage errors ------------------------------------------------------------------


def test_help_documents_exit_codes(cli: Cli) -> None:
    result = cli.ok("--help")
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


# --- settings and credentials ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "args", "code", "says"),
    [
        # Missing credentials: the message names exactly what is missing.
        ({"CFLOW_USER_KEY": ""}, ["check"], 3, "user_key (pass them or set CFLOW_USER_KEY)"),
        ({}, ["--region", "mars", "workflows"], 3, "unknown Cflow region 'mars'"),
        # Keys must not cross the network in cleartext.
        ({}, ["--base-url", "http://cflow.example.com", "workflows"], 3, "refusing plain http://"),
        ({"CFLOW_USERNAME": "a\r\nX-Injected: 1"}, ["workflows"], 3, "username contains"),
        ({"CFLOW_API_KEY": WRONG_API_KEY}, ["workflows"], 4, "401"),
    ],
)
def test_bad_settings_exit_3_wrong_credentials_exit_4(
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    environ: dict[str, str],
    args: list[str],
    code: int,
    says: str,
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert says in cli.fails(code, *args).err
    if code == 3:
        assert cli.requests_seen() == 0


def test_credentials_file_dotenv(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CFLOW_API_KEY", "CFLOW_USER_KEY", "CFLOW_USERNAME"):  # all from the file
        monkeypatch.delenv(name)
    path = tmp_path / ".env"
    path.write_text(
        "# Cflow credentials\n"
        f"export CFLOW_API_KEY='{API_KEY}'\n"
        "\n"
        f'CFLOW_USER_KEY="{USER_KEY}"\n'
        f"CFLOW_USERNAME={USERNAME}  # the account\n"
    )
    result = cli.ok("workflows", "--credentials-file", str(path), "--base-url", cli.sandbox.url)
    assert [w["name"] for w in result.json()] == SEED_WORKFLOWS


def test_credentials_file_json_beats_environment(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CFLOW_API_KEY", WRONG_API_KEY)
    monkeypatch.setenv("CFLOW_USERNAME", "someone.else@example.com")
    monkeypatch.setenv("CFLOW_BASE_URL", "http://127.0.0.1:9")
    path = tmp_path / "creds.json"
    creds = {"api_key": API_KEY, "user_key": USER_KEY, "username": USERNAME}
    path.write_text(json.dumps({**creds, "base_url": cli.sandbox.url}))
    result = cli.ok("--credentials-file", str(path), "check")
    assert result.json() == {"ok": True, "base_url": cli.sandbox.url, "username": USERNAME}
    assert result.err == ""


def test_empty_value_in_credentials_file_falls_back_to_environment(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / ".env"
    # As if missing from the file: what the environment says counts.
    path.write_text("CFLOW_API_KEY=\nCFLOW_USERNAME=''\n")
    cli.ok("--credentials-file", str(path), "check")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # Broken files hold secrets: errors name the file and line, never the content.
        ('{"api_key": "' + API_KEY + '", oops}', "not valid JSON"),
        ('["' + API_KEY + '"]', "must hold a JSON object"),
        ("CFLOW_API_KEY " + API_KEY + "\n", "line 1: expected KEY=VALUE"),
        ('{"api_key": ["' + API_KEY + '"]}', "must be a string"),
        (None, "cannot read credentials file"),  # no file at all
    ],
)
def test_bad_credentials_file_exit_3(
    cli: Cli, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "creds"
    if content is not None:
        path.write_text(content)
    assert message in cli.fails(3, "--credentials-file", str(path), "workflows").err
    assert cli.requests_seen() == 0


# --- API failures ---------------------------------------------------------------------------


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
