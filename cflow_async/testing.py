"""pytest plugin (entry point ``pytest11``): a Cflow sandbox and a client on it, as fixtures.

Installed with ``cflow-async[sandbox]``; no conftest needed:

* ``cflow_sandbox``: one sandbox per test session on a loopback port (served from a thread with
  its own event loop, so it works in sync tests and under any pytest-asyncio mode), its state
  reset before each test. See :class:`CflowSandbox`.
* ``cflow_client``: a ``CflowClient`` on it with tiny backoffs, closed after the test.
* ``@pytest.mark.cflow_faults(rate=0.3, seed=1)``: a ``FaultConfig`` for one test.
* ini options ``cflow_sandbox_data`` (a tenant file, relative to the ini file) and
  ``cflow_sandbox_lenient_fields`` (accept any field values).

Loading the plugin imports neither the sandbox (starlette, uvicorn) nor an HTTP backend: they
are imported when a fixture is first used, so ``pytest --version`` stays light.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from cflow_async import CflowClient
    from cflow_async.sandbox import FaultConfig, RunningSandbox, SandboxConfig, SandboxState
    from cflow_async.sandbox.faults import ScriptedFault

__all__ = ["CflowSandbox"]

INI_DATA = "cflow_sandbox_data"
INI_LENIENT = "cflow_sandbox_lenient_fields"
MARKER = "cflow_faults"

_T = TypeVar("_T")
_CALL_TIMEOUT = 30.0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        INI_DATA,
        "tenant file (JSON or YAML) for the cflow_sandbox fixture, relative to the ini file",
        type="string",
        default="",
    )
    parser.addini(
        INI_LENIENT,
        "cflow_sandbox accepts any field values instead of checking them",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**fault_config): faults the cflow_sandbox fixture injects during this test "
        "(keyword arguments of cflow_async.sandbox.FaultConfig, e.g. rate=0.3, seed=1)",
    )


class _ServedSandbox:
    """``run_sandbox`` in a daemon thread running its own event loop, for the whole session.

    Every access to the sandbox's state goes through :meth:`call`, which runs it on that loop,
    so a test never touches the state while a request is being handled.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="cflow-sandbox", daemon=True
        )
        self._context: Any = None
        self.running: RunningSandbox | None = None

    def start(self) -> RunningSandbox:
        from cflow_async.sandbox import run_sandbox

        self._thread.start()

        async def enter() -> RunningSandbox:
            self._context = run_sandbox(self._config)
            running: RunningSandbox = await self._context.__aenter__()
            return running

        try:
            self.running = self._await(enter())
        except BaseException:
            self._stop_loop()
            raise
        return self.running

    def _await(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(_CALL_TIMEOUT)

    def call(self, function: Callable[[], _T]) -> _T:
        async def run() -> _T:
            return function()

        result: _T = self._await(run())
        return result

    def stop(self) -> None:
        if self._context is not None:
            self._await(self._context.__aexit__(None, None, None))
            self._context = None
        self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_CALL_TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()


class CflowSandbox:
    """What the ``cflow_sandbox`` fixture gives: a sandbox on a loopback port.

    ``url`` is the server root to pass as ``base_url``; ``headers`` are the three credential
    headers (``apikey``, ``userkey``, ``username``) for raw HTTP clients.
    """

    def __init__(self, served: _ServedSandbox) -> None:
        assert served.running is not None
        self._served = served
        self._running = served.running
        self.url: str = self._running.url
        self.api_key: str = self._running.api_key
        self.user_key: str = self._running.user_key
        self.username: str = self._running.username

    def __repr__(self) -> str:
        return f"CflowSandbox(url={self.url!r}, username={self.username!r})"

    @property
    def headers(self) -> dict[str, str]:
        return dict(self._running.headers)

    @property
    def state(self) -> SandboxState:
        """The live state; read it between requests (prefer the methods below)."""
        return self._running.state

    def set_faults(
        self, faults: FaultConfig | Mapping[str, Any] | None = None, **options: Any
    ) -> FaultConfig:
        """Replace the fault configuration: a ``FaultConfig``, its JSON form, or its keywords."""
        from cflow_async.sandbox import FaultConfig

        if faults is None:
            faults = FaultConfig(**options)
        elif options:
            raise TypeError("give a FaultConfig or keyword arguments, not both")
        chosen = faults
        return self._served.call(lambda: self._running.set_faults(chosen))

    def script(self, *faults: ScriptedFault) -> None:
        """Queue one-shot faults, each consumed by the first request it matches."""
        self._served.call(lambda: self._running.state.append_script(list(faults)))

    def fail_next(
        self,
        method: str | None = None,
        path_contains: str | None = None,
        *,
        status: int | None = 503,
        act: bool = False,
        drop: bool = False,
        retry_after: str | None = None,
    ) -> None:
        """The next request matching ``method``/``path_contains`` fails once: with ``status``,
        or by closing the connection unanswered (``drop=True``). ``act=True`` applies the
        request anyway, as a server that failed after doing the work would."""
        from cflow_async.sandbox import ScriptedFault

        self.script(
            ScriptedFault(
                status=status,
                act=act,
                drop=drop,
                retry_after=retry_after,
                method=method,
                path_contains=path_contains,
            )
        )

    def records(self) -> list[dict[str, Any]]:
        """The legacy records (``submitrecord``) stored so far, oldest first."""
        records: list[dict[str, Any]] = self._served.call(
            lambda: self._running.state.records_json()["records"]
        )
        return records

    def requests(self) -> list[dict[str, Any]]:
        """Every request stored (OpenAPI-created and legacy-submitted), oldest first."""
        requests: list[dict[str, Any]] = self._served.call(
            lambda: self._running.state.requests_json()["requests"]
        )
        return requests

    def stats(self) -> dict[str, Any]:
        """Counters: requests seen, faults injected, records stored..."""
        return self._served.call(self._running.state.stats_json)

    def reset(self, *, keep_faults: bool = False) -> None:
        """Back to the start-up state: no records, no requests, no faults (unless kept)."""
        self._served.call(lambda: self._running.state.reset(keep_faults=keep_faults))


def _sandbox_config(config: pytest.Config) -> SandboxConfig:
    from cflow_async.sandbox import SandboxConfig
    from cflow_async.sandbox.server import with_data
    from cflow_async.sandbox.tenant import TenantDataError

    raw = str(config.getini(INI_DATA)).strip()
    lenient = bool(config.getini(INI_LENIENT))
    sandbox_config = SandboxConfig(validate_fields=not lenient)
    if not raw:
        return sandbox_config
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    path = Path(os.path.expanduser(raw))
    try:
        return with_data(sandbox_config, path if path.is_absolute() else base / path)
    except TenantDataError as exc:
        # A usage error, reported as one line rather than a traceback in every test.
        raise pytest.UsageError(f"{INI_DATA}: {exc}") from None


@pytest.fixture(scope="session")
def _cflow_sandbox_session(pytestconfig: pytest.Config) -> Iterator[_ServedSandbox]:
    served = _ServedSandbox(_sandbox_config(pytestconfig))
    served.start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def cflow_sandbox(
    _cflow_sandbox_session: _ServedSandbox, request: pytest.FixtureRequest
) -> CflowSandbox:
    """The session's sandbox, reset for this test (faults from ``@pytest.mark.cflow_faults``)."""
    sandbox = CflowSandbox(_cflow_sandbox_session)
    sandbox.reset()
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        sandbox.set_faults(*marker.args, **marker.kwargs)
    return sandbox


async def _client(sandbox: CflowSandbox) -> AsyncIterator[CflowClient]:
    from cflow_async import CflowClient, RetryPolicy

    # Backoffs of a few milliseconds: retries are exercised without slowing the suite.
    retry = RetryPolicy(initial_backoff=0.001, max_backoff=0.005, max_retry_after=1.0)
    async with CflowClient(
        api_key=sandbox.api_key,
        user_key=sandbox.user_key,
        username=sandbox.username,
        base_url=sandbox.url,
        retry=retry,
    ) as client:
        yield client


def _client_fixture() -> Any:
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - exercised only without pytest-asyncio

        def needs_pytest_asyncio(cflow_sandbox: CflowSandbox) -> CflowClient:
            pytest.fail("the cflow_client fixture needs pytest-asyncio: pip install pytest-asyncio")

        return pytest.fixture(needs_pytest_asyncio, name="cflow_client")

    # pytest_asyncio.fixture (not pytest.fixture) so that strict mode accepts it too.
    @pytest_asyncio.fixture
    async def cflow_client(cflow_sandbox: CflowSandbox) -> AsyncIterator[CflowClient]:
        """A ``CflowClient`` on ``cflow_sandbox`` with tiny backoffs, closed after the test."""
        async for client in _client(cflow_sandbox):
            yield client

    return cflow_client


cflow_client = _client_fixture()
