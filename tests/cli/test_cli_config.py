"""Credentials and server settings: the environment, ``--credentials-file``, exit 3 and 4."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cflow_async.sandbox import SandboxProcess
from cli.cli_support import (
    API_KEY,
    SEED_WORKFLOWS,
    USER_KEY,
    USERNAME,
    WRONG_API_KEY,
    Result,
    admin,
    assert_one_error_line,
    run_module,
    subprocess_env,
)

pytestmark = pytest.mark.integration


def test_missing_credentials_exit_3(
    cli_sandbox: SandboxProcess, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CFLOW_BASE_URL", cli_sandbox.url)
    monkeypatch.setenv("CFLOW_API_KEY", API_KEY)
    result = cli("workflows")
    assert result.code == 3, result
    assert_one_error_line(result)
    assert "CFLOW_USER_KEY" in result.err
    assert "CFLOW_USERNAME" in result.err
    assert "CFLOW_API_KEY" not in result.err
    assert admin(cli_sandbox, "GET", "/stats")["requests_seen"] == 0


def test_missing_credentials_in_subprocess_exit_3(cli_sandbox: SandboxProcess) -> None:
    result = run_module("workflows", env=subprocess_env(CFLOW_BASE_URL=cli_sandbox.url))
    assert result.code == 3, result
    assert_one_error_line(result)
    assert "missing Cflow credentials" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "mars"], "unknown Cflow region 'mars'"),
        (["--base-url", "ftp://example.com"], "http(s) URL"),
        # Keys must not cross the network in cleartext.
        (["--base-url", "http://cflow.example.com"], "refusing plain http://"),
    ],
)
def test_bad_server_settings_exit_3(
    env: SandboxProcess, cli: Callable[..., Result], args: list[str], message: str
) -> None:
    result = cli(*args, "workflows")
    assert result.code == 3, result
    assert_one_error_line(result)
    assert message in result.err


def test_header_unsafe_credentials_exit_3(
    env: SandboxProcess, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CFLOW_USERNAME", "a\r\nX-Injected: 1")
    result = cli("workflows")
    assert result.code == 3, result
    assert_one_error_line(result)


def test_wrong_credentials_exit_4(
    env: SandboxProcess, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CFLOW_API_KEY", WRONG_API_KEY)
    result = cli("workflows")
    assert result.code == 4, result
    assert_one_error_line(result)
    assert "401" in result.err


def test_wrong_credentials_on_check_exit_4(
    env: SandboxProcess, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CFLOW_USERNAME", "someone.else@example.com")
    result = cli("check")
    assert result.code == 4, result
    assert_one_error_line(result)


def test_permission_denied_exit_4(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    admin(env, "POST", "/faults/script", {"status": 403})
    result = cli("users")
    assert result.code == 4, result
    assert_one_error_line(result)


def test_credentials_file_json(
    cli_sandbox: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / "creds.json"
    path.write_text(
        json.dumps(
            {
                "api_key": API_KEY,
                "user_key": USER_KEY,
                "username": USERNAME,
                "base_url": cli_sandbox.url,
            }
        )
    )
    result = cli("--credentials-file", str(path), "check")
    assert result.code == 0, result
    assert result.json()["username"] == USERNAME
    assert result.json()["base_url"] == cli_sandbox.url


def test_credentials_file_dotenv(
    cli_sandbox: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# Cflow credentials\n"
        f"export CFLOW_API_KEY='{API_KEY}'\n"
        "\n"
        f'CFLOW_USER_KEY="{USER_KEY}"\n'
        f"CFLOW_USERNAME={USERNAME}  # the account\n"
    )
    result = cli("workflows", "--credentials-file", str(path), "--base-url", cli_sandbox.url)
    assert result.code == 0, result
    assert [w["name"] for w in result.json()] == SEED_WORKFLOWS


def test_credentials_file_beats_environment(
    env: SandboxProcess,
    cli: Callable[..., Result],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CFLOW_API_KEY", WRONG_API_KEY)
    path = tmp_path / "creds.json"
    # username is missing from the file: it comes from the environment.
    path.write_text(json.dumps({"api_key": API_KEY, "user_key": USER_KEY}))
    result = cli("--credentials-file", str(path), "check")
    assert result.code == 0, result
    assert result.json()["username"] == USERNAME


def test_empty_value_in_credentials_file_falls_back_to_environment(
    env: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / ".env"
    path.write_text("CFLOW_API_KEY=\nCFLOW_USERNAME=''\n")
    result = cli("--credentials-file", str(path), "check")
    assert result.code == 0, result


def test_wrong_key_in_credentials_file_exit_4(
    env: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"api_key": WRONG_API_KEY}))
    result = cli("--credentials-file", str(path), "workflows")
    assert result.code == 4, result
    assert_one_error_line(result)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # Broken files hold secrets: errors name the file and line, never the content.
        ('{"api_key": "' + API_KEY + '", oops}', "not valid JSON"),
        ('["' + API_KEY + '"]', "must hold a JSON object"),
        ("CFLOW_API_KEY " + API_KEY + "\n", "line 1: expected KEY=VALUE"),
        ('{"api_key": ["' + API_KEY + '"]}', "must be a string"),
    ],
)
def test_bad_credentials_file_exit_3(
    env: SandboxProcess,
    cli: Callable[..., Result],
    tmp_path: Path,
    content: str,
    message: str,
) -> None:
    path = tmp_path / "creds"
    path.write_text(content)
    result = cli("--credentials-file", str(path), "workflows")
    assert result.code == 3, result
    assert_one_error_line(result)
    assert message in result.err
    assert admin(env, "GET", "/stats")["requests_seen"] == 0


def test_missing_credentials_file_exit_3(
    env: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli("--credentials-file", str(tmp_path / "absent.json"), "workflows")
    assert result.code == 3, result
    assert_one_error_line(result)
    assert "cannot read credentials file" in result.err
