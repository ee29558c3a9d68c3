"""Shared helpers of the ``cflow`` tests: distinctive keys, the run result, leak checks, the
sandbox admin API, a subprocess runner and a stub HTTP server for answers the sandbox never
gives (broken bodies, echoed keys)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import httpx

from cflow_async.sandbox import SandboxProcess

# Distinctive keys (not the public demo ones) so a leak is easy to spot.
API_KEY = "cli-api-key-S3CRET-cccc"
USER_KEY = "cli-user-key-S3CRET-dddd"
USERNAME = "cli.tester@example.com"
WRONG_API_KEY = "wrong-api-key-S3CRET-zzzz"
LEAK_MARKERS = (API_KEY, USER_KEY, WRONG_API_KEY, "S3CRET")

SEED_WORKFLOWS = ["Test", "User Workflow", "SampleWorkflow", "TrWorkflow"]
SEED_STAGES = [
    {"stage": "User Workflow", "display_name": "User Workflow", "process_id": "27405"},
    {"stage": "Manager Review", "display_name": "Manager Review", "process_id": "27406"},
    {"stage": "END", "display_name": "END", "process_id": "27407"},
]
WORKFLOW_FIELDS = ["Name", "Phone", "Email", "City", "GoogleSheetRowNumber"]
PROCESS_FIELDS = [
    "City",
    "Email",
    "R_Approved By2",
    "R_Approved Date2",
    "GoogleSheetRowNumber",
    "R_Approved By1",
    "R_Approved Date1",
    "R_Comments1",
    "R_Status1",
    "Name",
    "Phone",
]


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err

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


def admin(proc: SandboxProcess, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, proc.url + "/__sandbox__" + path, json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def subprocess_env(**extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CFLOW_")}
    environ.update(extra)
    return environ


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
