"""Credentials and server settings: the environment, ``--credentials-file``, exit 3 and 4."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.cli_support import API_KEY, SEED_WORKFLOWS, USER_KEY, USERNAME, WRONG_API_KEY, Cli

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("env")]


@pytest.mark.parametrize(
    ("environ", "args", "code", "says"),
    [
        (
            {"CFLOW_USER_KEY": "", "CFLOW_USERNAME": ""},
            ["check"],
            3,
            "missing Cflow credentials: user_key, username (pass them or set CFLOW_USER_KEY,"
            " CFLOW_USERNAME)",
        ),
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
