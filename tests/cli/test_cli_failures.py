"""API failures mapped to exit codes 4-9; subprocess runs, ``cflow sandbox`` and Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from conftest import free_port
from servers import Loopback, Reply, Seen

from cflow_async.sandbox import SandboxProcess
from cli.cli_support import (
    API_KEY,
    SEED_WORKFLOWS,
    USER_KEY,
    USERNAME,
    Result,
    admin,
    assert_one_error_line,
    check_clean,
    run_module,
    subprocess_env,
)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "args",
    [
        ["process", "Nope"],
        ["status", "Nope", "27406"],
        ["status", "User Workflow", "99999"],
        ["fields", "Nope"],
        ["fields", "Nope", "--group-id", "27406"],
        ["fields", "Nope", "--group-id", "27406", "--for-map"],
        ["submit", "Nope", "a=b"],
        ["requests", "list", "Nope"],
        ["requests", "create", "Nope", "a=b"],
    ],
)
def test_unknown_workflow_exit_5(
    env: SandboxProcess, cli: Callable[..., Result], args: list[str]
) -> None:
    result = cli(*args)
    assert result.code == 5, result
    assert_one_error_line(result)
    assert "404" in result.err


def test_rejected_values_exit_6(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    # --no-validate: the server's 400, not the client's own check (exit 2), is tested here.
    result = cli("submit", "SampleWorkflow", "Bogus=1", "--no-validate")
    assert result.code == 6, result
    assert_one_error_line(result)
    assert "Bogus" in result.err
    assert admin(env, "GET", "/records")["count"] == 0


def test_rate_limited_exit_6(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    admin(env, "POST", "/faults/script", {"status": 429, "retry_after": "120"})
    result = cli("workflows")
    assert result.code == 6, result
    assert_one_error_line(result)
    assert "429" in result.err


def test_server_error_exit_7(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    admin(env, "POST", "/faults/script", {"status": 503})
    result = cli("--retries", "0", "workflows")
    assert result.code == 7, result
    assert_one_error_line(result)
    assert "503" in result.err


def test_read_is_retried_by_default(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    admin(env, "POST", "/faults/script", {"status": 503})
    result = cli("workflows")
    assert result.code == 0, result
    assert admin(env, "GET", "/stats")["requests_seen"] == 2


def test_connection_refused_exit_7(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("--base-url", f"http://127.0.0.1:{free_port()}", "--retries", "0", "workflows")
    assert result.code == 7, result
    assert_one_error_line(result)


def test_timeout_exit_7(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    admin(env, "POST", "/faults/script", {"status": None, "latency": 3})
    result = cli("--timeout", "0.5", "--retries", "0", "workflows")
    assert result.code == 7, result
    assert_one_error_line(result)
    assert "timeout" in result.err.lower()


@pytest.mark.parametrize(
    ("fault", "args"),
    [
        ({"status": 503, "method": "POST"}, ["submit", "Test", "a=b"]),
        ({"status": 502, "method": "POST", "act": True}, ["requests", "create", "Test", "a=b"]),
        ({"drop": True, "method": "POST"}, ["update", "Test", "27406", "44", "a=c"]),
        ({"status": 500, "method": "POST"}, ["requests", "approve", "Test", "1001"]),
    ],
)
def test_write_with_unknown_outcome_exit_8(
    env: SandboxProcess, cli: Callable[..., Result], fault: dict[str, Any], args: list[str]
) -> None:
    # A record and a request to update or approve.
    assert cli("submit", "Test", "a=b").code == 0
    assert cli("requests", "create", "Test", "a=b").code == 0
    admin(env, "POST", "/faults/script", fault)
    result = cli(*args)
    assert result.code == 8, result
    assert_one_error_line(result)
    assert "outcome unknown" in result.err
    assert "Check before sending it again" in result.err


def test_unreadable_answer_exit_9(
    env: SandboxProcess, cli: Callable[..., Result], stub: Loopback
) -> None:
    stub.handler = lambda seen: Reply(body=b"<html>maintenance</html>")
    result = cli("--base-url", stub.url, "workflows")
    assert result.code == 9, result
    assert_one_error_line(result)
    assert "maintenance" in result.err


def test_unreadable_answer_to_a_write_exit_8(
    env: SandboxProcess, cli: Callable[..., Result], stub: Loopback
) -> None:
    stub.handler = lambda seen: Reply(body=b'{"unexpected": true}')
    # --no-validate: the stub answers the field definitions' GET with the same body.
    result = cli("--base-url", stub.url, "submit", "Test", "a=b", "--no-validate")
    assert result.code == 8, result
    assert_one_error_line(result)
    assert "check before sending it again" in result.err.lower()


def test_keys_echoed_by_a_server_are_redacted(
    env: SandboxProcess, cli: Callable[..., Result], stub: Loopback
) -> None:
    def echo(seen: Seen) -> Reply:
        return Reply(400, json.dumps({"message": f"bad key {seen.header('apikey')}"}).encode())

    stub.handler = echo
    result = cli("--base-url", stub.url, "workflows")  # cli() checks for leaks
    assert result.code == 6, result
    assert "bad key [redacted]" in result.err


def test_module_against_the_sandbox(cli_sandbox: SandboxProcess) -> None:
    environ = subprocess_env(
        CFLOW_API_KEY=API_KEY,
        CFLOW_USER_KEY=USER_KEY,
        CFLOW_USERNAME=USERNAME,
        CFLOW_BASE_URL=cli_sandbox.url,
    )
    result = run_module("workflows", env=environ)
    assert result.code == 0, result
    assert [w["name"] for w in result.json()] == SEED_WORKFLOWS

    result = run_module("process", "Nope", env=environ)
    assert result.code == 5, result
    assert_one_error_line(result)

    result = run_module("workflows", env={**environ, "CFLOW_USER_KEY": "wrong-user-key"})
    assert result.code == 4, result
    assert_one_error_line(result)


def test_sandbox_command_delegates(cli: Callable[..., Result]) -> None:
    result = cli("sandbox", "--help")
    assert result.code == 0
    assert "--port" in result.out
    assert "--fault-rate" in result.out


def test_sandbox_command_refuses_non_loopback(cli: Callable[..., Result]) -> None:
    result = cli("sandbox", "--host", "192.0.2.1", "--port", "0")
    assert result.code == 2
    assert "loopback" in result.err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(
    ("args", "write"), [(["workflows"], False), (["submit", "Test", "a=b"], True)]
)
def test_ctrl_c_exits_130(cli_sandbox: SandboxProcess, args: list[str], write: bool) -> None:
    admin(cli_sandbox, "POST", "/faults/script", {"status": None, "latency": 30})
    environ = subprocess_env(
        CFLOW_API_KEY=API_KEY,
        CFLOW_USER_KEY=USER_KEY,
        CFLOW_USERNAME=USERNAME,
        CFLOW_BASE_URL=cli_sandbox.url,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "cflow_async", *args],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A test runner started in the background may ignore SIGINT; the child must not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 30
        while admin(cli_sandbox, "GET", "/stats")["requests_seen"] == 0:
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
    assert process.returncode == 130, (out, err)
    assert out == ""
    assert err.startswith("cflow: error: interrupted")
    assert err.count("\n") == 1
    assert ("outcome is unknown" in err) is write
