"""Shared fixtures. Unit tests mock httpx with pytest-httpx (so they use the httpx backend);
integration tests run against the sandbox over real loopback sockets, on both backends."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cflow_async import CflowClient, RetryPolicy

# Distinctive values so leak tests can search for them anywhere.
API_KEY = "test-api-key-S3CRET-aaaa"
USER_KEY = "test-user-key-S3CRET-bbbb"
USERNAME = "tester@example.com"
CREDS: dict[str, Any] = {"api_key": API_KEY, "user_key": USER_KEY, "username": USERNAME}

#: Retries with backoffs short enough to keep the suite fast.
FAST_RETRY = RetryPolicy(initial_backoff=0.001, max_backoff=0.005)

BASE = "https://us.cflowapps.com/integromat/api"

BACKENDS = ["aiohttp", "httpx"]


def free_port(host: str = "127.0.0.1") -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def creds() -> dict[str, Any]:
    """The test credentials (a copy: change it freely)."""
    return dict(CREDS)


class RecordingAsyncio:
    """Stands in for ``asyncio`` inside ``cflow_async._transport`` only: records the backoff
    delays it is asked to sleep instead of sleeping them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> RecordingAsyncio:
    import cflow_async._transport as transport_module

    recorder = RecordingAsyncio()
    monkeypatch.setattr(transport_module, "asyncio", recorder)
    return recorder


@pytest.fixture(autouse=True)
def _no_cflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests must not pick up a developer's real settings.
    names = ("CFLOW_API_KEY", "CFLOW_USER_KEY", "CFLOW_USERNAME", "CFLOW_REGION", "CFLOW_BASE_URL")
    for name in names:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def client(creds: dict[str, Any]) -> AsyncIterator[CflowClient]:
    """A client for pytest-httpx unit tests (httpx backend, tiny backoffs)."""
    async with CflowClient(**creds, http_backend="httpx", retry=FAST_RETRY) as c:
        yield c


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sandbox(cflow_sandbox: Any) -> Any:
    """The plugin's sandbox (cflow_async.testing): one per session, reset for each test."""
    return cflow_sandbox


@pytest.fixture
async def sandbox_client(sandbox: Any, backend: str) -> AsyncIterator[CflowClient]:
    """A real client on the given backend talking to the sandbox over loopback."""
    async with CflowClient(
        api_key=sandbox.api_key,
        user_key=sandbox.user_key,
        username=sandbox.username,
        base_url=sandbox.url,
        http_backend=backend,  # type: ignore[arg-type]
        retry=FAST_RETRY,
    ) as c:
        yield c
