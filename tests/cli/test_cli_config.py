"""Credentials and server settings: the environment, ``--credentials-file``, exit 3 and 4."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.cli_support import API_KEY, SEED_WORKFLOWS, USER_KEY, USERNAME, WRONG_API_KEY, Cli

pytestmark = pytest.mark.integration


def test_missing_credentials_exit_3(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFLOW_BASE_URL", cli.sandbox.url)
    monkeypatch.setenv("CFLOW_API_KEY", API_KEY)
    result = cli.fails(3, "workflows")
    assert "CFLOW_USER_KEY" in result.err
    assert "CFLOW_USERNAME" in result.err
    assert "CFLOW_API_KEY" not in result.err
    assert "missing Cflow credentials" in result.err
    assert cli.requests_seen() == 0


@pytest.mark.parametrize(
    ("environ", "args", "code", "says"),
    [
        ({}, ["--region", "mars", "workflows"], 3, "unknown Cflow region 'mars'"),
        # Keys must not cross the network in cleartext.
        ({}, ["--base-url", "http://cflow.example.com", "workflows"], 3, "refusing plain http://"),
        ({"CFLOW_USERNAME": "a\r\nX-Injected: 1"}, ["workflows"], 3, "username contains"),
        ({"CFLOW_API_KEY": WRONG_API_KEY}, ["workflows"], 4, "401"),
    ],
)
@pytest.mark.usefixtures("env")
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


def test_credentials_file_dotenv(cli: Cli, tmp_path: Path) -> None:
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


@pytest.mark.usefixtures("env")
def test_credentials_file_json_beats_environment(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CFLOW_API_KEY", WRONG_API_KEY)
    monkeypatch.setenv("CFLOW_USERNAME", "someone.else@example.com")
    monkeypatch.setenv("CFLOW_BASE_URL", "http://127.0.0.1:9")
    path = tmp_path / "creds.json"
    creds = {"api_key": API_KEY, "user_key": USER_KEY, "username": USERNAME}
    path.write_text(json.dumps({**creds, "base_url": cli.sandbox.url}))
    result = cli.ok("--credentials-file", str(path), "check").json()
    assert (result["username"], result["base_url"]) == (USERNAME, cli.sandbox.url)


@pytest.mark.usefixtures("env")
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
@pytest.mark.usefixtures("env")
def test_bad_credentials_file_exit_3(
    cli: Cli, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "creds"
    if content is not None:
        path.write_text(content)
    assert message in cli.fails(3, "--credentials-file", str(path), "workflows").err
    assert cli.requests_seen() == 0
