"""The CFLOW_LOG switch (issue 12, part 5): logs to stderr with no code change, one DEBUG
line per attempt, no secrets, no query, and never a second handler."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import API_KEY, USER_KEY, USERNAME

PATH = "/integromat/api/cflow/getworkflows"
SCRIPT = textwrap.dedent(
    f"""
    import asyncio, logging
    import httpx
    from cflow_async import CflowClient, RetryPolicy

    answers = iter(["refused", 503, 200])

    def handler(request):
        status = next(answers)
        if status == "refused":
            raise httpx.ConnectError("connection refused")
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


def test_debug_logs_one_line_per_attempt_before_its_retry_without_secrets() -> None:
    result = run("debug")
    assert result.stdout.strip() == "1"
    expected = [
        ("DEBUG", f"GET {PATH} -> CflowConnectionError in ", " ms (attempt 1)"),
        ("INFO", f"Retrying GET {PATH} (attempt 2 of 3)", ""),
        ("DEBUG", f"GET {PATH} -> 503 in ", " ms (attempt 2)"),
        ("INFO", f"Retrying GET {PATH} (attempt 3 of 3)", ""),
        ("DEBUG", f"GET {PATH} -> 200 in ", " ms (attempt 3)"),
    ]
    lines = result.stderr.splitlines()
    assert len(lines) == len(expected), lines
    for line, (level, start, end) in zip(lines, expected, strict=True):
        _date, _time, logged_level, name, message = line.split(maxsplit=4)
        assert (logged_level, name) == (level, "cflow_async:")
        assert message.startswith(start)
        assert message.endswith(end)
    for secret in (API_KEY, USER_KEY, USERNAME, "username="):
        assert secret not in result.stderr


@pytest.mark.parametrize(
    ("level", "said", "unsaid"),
    [
        ("INFO", f"Retrying GET {PATH}", " ms (attempt "),  # retries only
        ("verbose", "CFLOW_LOG='verbose' is not one of: info, debug", "Retrying"),  # ignored
    ],
)
def test_info_logs_retries_only_and_an_unknown_level_is_said_and_ignored(
    level: str, said: str, unsaid: str
) -> None:
    stderr = run(level).stderr
    assert said in stderr
    assert unsaid not in stderr


def test_without_the_switch_nothing_is_logged() -> None:
    result = run(None)
    assert (result.stderr, result.stdout.strip()) == ("", "0")
