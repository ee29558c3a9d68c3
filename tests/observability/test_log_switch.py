"""The CFLOW_LOG switch (issue 12, part 5): logs to stderr with no code change, one DEBUG
line per attempt, no secrets, no query, and never a second handler."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from typing import Any

import httpx
import pytest
from conftest import API_KEY, CREDS, FAST_RETRY, USER_KEY, USERNAME

from cflow_async import CflowClient

SCRIPT = textwrap.dedent(
    f"""
    import asyncio, logging
    import httpx
    from cflow_async import CflowClient, RetryPolicy

    answers = iter([503, 200])

    def handler(request):
        status = next(answers)
        body = {{"Workflows": []}} if status == 200 else {{"error": "{API_KEY}"}}
        return httpx.Response(status, json=body)

    async def main():
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        retry = RetryPolicy(initial_backoff=0.001, max_backoff=0.001)
        creds = dict(api_key="{API_KEY}", user_key="{USER_KEY}", username="{USERNAME}")
        async with CflowClient(**creds, http_client=http, retry=retry) as cflow:
            CflowClient(**creds)  # a second client adds no second handler
            await cflow.get_workflows()
        await http.aclose()
        print(len(logging.getLogger("cflow_async").handlers))

    asyncio.run(main())
    """
)


def run(level: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CFLOW_")}
    if level is not None:
        env["CFLOW_LOG"] = level
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result


def test_debug_logs_one_line_per_attempt_without_secrets() -> None:
    result = run("debug")
    assert result.stdout.strip() == "1"
    lines = result.stderr.splitlines()
    attempts = [line for line in lines if " ms (attempt " in line]
    assert len(attempts) == 2
    assert "DEBUG" in attempts[0]
    assert "cflow_async: GET /integromat/api/cflow/getworkflows -> 503 in " in attempts[0]
    assert attempts[0].endswith(" ms (attempt 1)")
    assert "-> 200 in " in attempts[1]
    assert attempts[1].endswith(" ms (attempt 2)")
    assert any("INFO" in line and "Retrying GET" in line for line in lines)
    for secret in (API_KEY, USER_KEY, USERNAME, "username="):
        assert secret not in result.stderr


def test_info_logs_retries_only() -> None:
    stderr = run("INFO").stderr
    assert "Retrying GET /integromat/api/cflow/getworkflows" in stderr
    assert "(attempt 1)" not in stderr


def test_without_the_switch_nothing_is_logged() -> None:
    result = run(None)
    assert (result.stderr, result.stdout.strip()) == ("", "0")


def test_an_unknown_level_is_said_and_ignored() -> None:
    assert "CFLOW_LOG='verbose' is not one of: info, debug" in run("verbose").stderr


async def test_a_failed_attempt_is_logged_before_its_retry(
    httpx_mock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    httpx_mock.add_exception(httpx.ConnectError("connection refused"))
    httpx_mock.add_response(json={"Workflows": []})
    caplog.set_level(logging.DEBUG, logger="cflow_async")
    async with CflowClient(**CREDS, http_backend="httpx", retry=FAST_RETRY) as cflow:
        await cflow.get_workflows()
    lines = [r.getMessage() for r in caplog.records if r.name == "cflow_async"]
    assert lines[0].startswith("GET /integromat/api/cflow/getworkflows -> CflowConnectionError in ")
    assert lines[0].endswith(" ms (attempt 1)")
    assert lines[1].startswith("Retrying GET /integromat/api/cflow/getworkflows (attempt 2 of 3)")
    assert lines[2].startswith("GET /integromat/api/cflow/getworkflows -> 200 in ")
    assert len(lines) == 3
