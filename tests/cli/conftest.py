"""Fixtures of the ``cflow`` tests: one sandbox child process for the whole session, reset
before each test; the CLI run in-process with its output checked for leaks; a stub server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from servers import Loopback, Reply, threaded

from cflow_async.sandbox import SandboxProcess
from cli.cli_support import API_KEY, CREDENTIALS_ENV, USER_KEY, USERNAME, Cli


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator[SandboxProcess]:
    with SandboxProcess(api_key=API_KEY, user_key=USER_KEY, username=USERNAME) as proc:
        yield proc


@pytest.fixture
def cli(sandbox_process: SandboxProcess, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Runs ``cflow`` in-process against the shared sandbox, back in its seed state with no
    faults. The environment is the test's own (see ``env``)."""
    cli = Cli(sandbox_process, capsys)
    cli.admin("POST", "/reset")
    return cli


@pytest.fixture
def env(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and server in the environment, as a user would set them."""
    for name, value in {**CREDENTIALS_ENV, "CFLOW_BASE_URL": cli.sandbox.url}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def stub() -> Iterator[Loopback]:
    """A raw loopback server on its own thread (the CLI runs synchronously): set
    ``stub.handler`` to answer."""
    with threaded(Loopback(lambda seen: Reply(body=b"{}"))) as server:
        yield server
