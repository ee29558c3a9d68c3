"""Fixtures of the ``cflow`` tests: one sandbox child process for the whole session, reset
before each test; the CLI run in-process with its output checked for leaks; a stub server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from servers import Loopback, Reply, threaded

from cflow_async.sandbox import SandboxProcess
from cli.cli_support import API_KEY, CREDENTIALS_ENV, USER_KEY, USERNAME, Cli, admin


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator[SandboxProcess]:
    with SandboxProcess(api_key=API_KEY, user_key=USER_KEY, username=USERNAME) as proc:
        yield proc


@pytest.fixture
def cli_sandbox(sandbox_process: SandboxProcess) -> SandboxProcess:
    """The shared sandbox, back in its seed state with no faults."""
    admin(sandbox_process, "POST", "/reset")
    return sandbox_process


@pytest.fixture
def env(cli_sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    """Credentials and server in the environment, as a user would set them."""
    for name, value in {**CREDENTIALS_ENV, "CFLOW_BASE_URL": cli_sandbox.url}.items():
        monkeypatch.setenv(name, value)
    return cli_sandbox


@pytest.fixture
def cli(cli_sandbox: SandboxProcess, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Runs ``cflow`` in-process; the environment is the test's (see ``env``)."""
    return Cli(cli_sandbox, capsys)


@pytest.fixture
def stub() -> Iterator[Loopback]:
    """A raw loopback server on its own thread (the CLI runs synchronously): set
    ``stub.handler`` to answer."""
    with threaded(Loopback(lambda seen: Reply(body=b"{}"))) as server:
        yield server
