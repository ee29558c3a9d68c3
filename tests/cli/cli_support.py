"""Shared helpers of the ``cflow`` tests: distinctive keys, the run result, leak checks, the
sandbox admin API, the in-process runner (``Cli``) and a subprocess runner."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest

from cflow_async.cli import main
from cflow_async.sandbox import SandboxProcess

# Distinctive keys (not the public demo ones) so a leak is easy to spot.
API_KEY = "cli-api-key-S3CRET-cccc"
USER_KEY = "cli-user-key-S3CRET-dddd"
USERNAME = "cli.tester@example.com"
WRONG_API_KEY = "wrong-api-key-S3CRET-zzzz"
LEAK_MARKERS = (API_KEY, USER_KEY, WRONG_API_KEY, "S3CRET")
CREDENTIALS_ENV = {"CFLOW_API_KEY": API_KEY, "CFLOW_USER_KEY": USER_KEY, "CFLOW_USERNAME": USERNAME}

#: What an interrupted write adds to its error line: it may have reached the server.
UNKNOWN_NOTE = "; if the write reached the server its outcome is unknown: check before retrying"

SEED_WORKFLOWS = ["Test", "User Workflow", "SampleWorkflow", "TrWorkflow"]
WORKFLOW_FIELDS = ["Name", "Phone", "Email", "City", "GoogleSheetRowNumber"]


@dataclasses.dataclass(repr=False)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out[:300]!r}, err={self.err!r})"


def check_clean(out: str, err: str) -> None:
    for marker in LEAK_MARKERS:
        assert marker not in out
        assert marker not in err
    assert "Traceback" not in err


def assert_one_error_line(result: Result) -> None:
    assert result.out == ""
    assert result.err.startswith("cflow: error: ")
    assert result.err.endswith("\n")
    assert result.err.count("\n") == 1, result.err


def sandbox_env(proc: SandboxProcess) -> dict[str, str]:
    """A subprocess environment with the test credentials and ``proc`` as the server."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CFLOW_")}
    return {**environ, **CREDENTIALS_ENV, "CFLOW_BASE_URL": proc.url}


def run_module(*args: str, env: dict[str, str], timeout: float = 60) -> Result:
    done = subprocess.run(
        [sys.executable, "-m", "cflow_async", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    check_clean(done.stdout, done.stderr)
    return Result(done.returncode, done.stdout, done.stderr)


class Cli:
    """``main`` run in-process with its output checked for leaks, plus the admin API of the
    shared sandbox."""

    def __init__(self, sandbox: SandboxProcess, capsys: pytest.CaptureFixture[str]) -> None:
        self.sandbox = sandbox
        self._capsys = capsys

    def __call__(self, *args: str) -> Result:
        code = main(list(args))
        captured = self._capsys.readouterr()
        check_clean(captured.out, captured.err)
        return Result(code, captured.out, captured.err)

    def exits(self, code: int, *args: str) -> Result:
        result = self(*args)
        assert result.code == code, result
        return result

    def ok(self, *args: str) -> Result:
        return self.exits(0, *args)

    def fails(self, code: int, *args: str) -> Result:
        """Exit ``code`` with one error line and nothing on stdout."""
        result = self.exits(code, *args)
        assert_one_error_line(result)
        return result

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        url = self.sandbox.url + "/__sandbox__" + path
        response = httpx.request(method, url, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def records(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self.admin("GET", "/records")["records"]
        return records

    def requests_seen(self) -> int:
        return int(self.admin("GET", "/stats")["requests_seen"])

    def script(self, faults: dict[str, Any] | list[dict[str, Any]]) -> None:
        self.admin("POST", "/faults/script", faults)
