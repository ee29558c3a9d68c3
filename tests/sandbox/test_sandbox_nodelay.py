"""Accepted sandbox connections have TCP_NODELAY, however the sandbox is started.

Without it Nagle's algorithm and delayed ACK hold each response body back for ~40 ms on a
kept-alive connection. Checked on the server's accepted socket (``/__sandbox__/connection``
reads it with getsockopt), not with a clock.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from cflow_async.sandbox import SandboxProcess, run_sandbox

CONNECTION = "/__sandbox__/connection"


def _nodelay_on_one_connection(url: str) -> list[bool | None]:
    # Two requests on one kept-alive connection: the second is the case Nagle delays.
    with httpx.Client(base_url=url) as client:
        return [client.get(CONNECTION).json()["tcp_nodelay"] for _ in range(2)]


async def test_run_sandbox_sets_tcp_nodelay() -> None:
    async with run_sandbox() as sb, httpx.AsyncClient(base_url=sb.url) as client:
        answers = [(await client.get(CONNECTION)).json()["tcp_nodelay"] for _ in range(2)]
    assert answers == [True, True]


async def test_run_sandbox_on_ipv6_loopback_sets_tcp_nodelay() -> None:
    try:
        context = run_sandbox(host="::1")
        sb = await context.__aenter__()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        async with httpx.AsyncClient(base_url=sb.url) as client:
            assert (await client.get(CONNECTION)).json()["tcp_nodelay"] is True
    finally:
        await context.__aexit__(None, None, None)


def test_sandbox_process_sets_tcp_nodelay() -> None:
    with SandboxProcess() as proc:
        assert _nodelay_on_one_connection(proc.url) == [True, True]


@pytest.fixture
def cflow_cli_sandbox() -> Iterator[str]:
    """``cflow sandbox --port 0`` (the CLI's subcommand) as a child; yields its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cflow_async.cli", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"on (http://\S+)", line)
        assert match, line
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def test_cflow_sandbox_command_sets_tcp_nodelay(cflow_cli_sandbox: str) -> None:
    assert _nodelay_on_one_connection(cflow_cli_sandbox) == [True, True]


async def test_in_process_transport_has_no_socket_to_report() -> None:
    from cflow_async.sandbox import create_app

    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        assert (await client.get(CONNECTION)).json() == {"tcp_nodelay": None}
