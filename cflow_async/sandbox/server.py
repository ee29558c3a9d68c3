"""Serving the sandbox on a real loopback socket in the current event loop (``run_sandbox``);
the child-process variant, ``SandboxProcess``, lives in ``process``."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator, Generator, Mapping
from types import FrameType
from typing import Any

import attrs
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from cflow_async.sandbox.app import ABORT_EXTENSION, SandboxApp, create_app
from cflow_async.sandbox.faults import FaultConfig
from cflow_async.sandbox.state import SandboxConfig, SandboxState
from cflow_async.sandbox.tenant import TenantData, load_tenant

_STARTUP_TIMEOUT = 10.0
_LOOPBACK_NAMES = {"localhost": "127.0.0.1"}


class SandboxH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus an ASGI extension that lets the app abort the connection.

    uvicorn answers a 500 when an app fails before starting its response, so an app alone can
    never make the client see "connection closed, no response". With the transport it can.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # asyncio sets TCP_NODELAY on accepted sockets only when the listening socket was made
        # with proto=IPPROTO_TCP; a socket handed in by a caller may not be. Without it Nagle
        # and delayed ACK hold every response body back for ~40 ms on a kept-alive connection.
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        inner = self.app
        extension = {"abort": transport.abort, "tcp_nodelay": lambda: _tcp_nodelay(sock)}

        async def app(scope: Any, receive: Any, send: Any) -> None:
            scope.setdefault("extensions", {})[ABORT_EXTENSION] = extension
            await inner(scope, receive, send)

        self.app = app


def _tcp_nodelay(sock: Any) -> bool | None:
    """Whether ``sock`` (an accepted connection) has TCP_NODELAY; ``None`` if not a TCP socket."""
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    try:
        return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    except OSError:
        return None


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handling, or with handling that exits cleanly.

    uvicorn re-raises a captured SIGINT/SIGTERM after shutting down, which would kill the
    CLI with a signal status and would hijack Ctrl-C in a test run hosting an embedded sandbox.
    """

    def __init__(self, config: uvicorn.Config, *, handle_signals: bool) -> None:
        super().__init__(config)
        self._handle_signals = handle_signals

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if not self._handle_signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = [signal.SIGINT, signal.SIGTERM]
        previous = {sig: signal.signal(sig, self._on_signal) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.should_exit and signum == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True


def check_loopback(host: str) -> str:
    """The address to bind for ``host``; only loopback addresses are allowed."""
    address = _LOOPBACK_NAMES.get(host.lower(), host)
    try:
        loopback = ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"the sandbox only listens on loopback addresses (127.0.0.1, ::1), not {host!r}"
        )
    return address.strip("[]")


def _bind(host: str, port: int) -> socket.socket:
    address = check_loopback(host)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    # proto=IPPROTO_TCP (not the default 0) is what makes asyncio set TCP_NODELAY on every
    # accepted connection.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class _Serving:
    """A uvicorn server running as a task of the current event loop."""

    def __init__(
        self, app: SandboxApp, host: str, port: int, *, handle_signals: bool, **uvicorn_options: Any
    ) -> None:
        self.sock = _bind(host, port)
        self.url = _url(self.sock)
        options: dict[str, Any] = {
            "http": SandboxH11Protocol,
            "ws": "none",
            "lifespan": "off",
            # None leaves the host process's logging configuration alone.
            "log_config": None,
            "access_log": False,
            "timeout_graceful_shutdown": 5,
        }
        options.update(uvicorn_options)
        self.server = _Server(uvicorn.Config(app, **options), handle_signals=handle_signals)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        try:
            async with asyncio.timeout(_STARTUP_TIMEOUT):
                while not self.server.started:
                    if self.task.done():
                        self.task.result()
                        raise RuntimeError("the sandbox server stopped during start-up")
                    await asyncio.sleep(0.005)
        except BaseException:
            await self.stop()
            raise

    async def wait(self) -> None:
        if self.task is not None:
            await self.task

    async def stop(self) -> None:
        self.server.should_exit = True
        task = self.task
        if task is not None:
            try:
                await task
            except asyncio.CancelledError:
                task.cancel()
                raise
        self.sock.close()


class RunningSandbox:
    """A sandbox served on a loopback socket; what ``run_sandbox`` yields."""

    def __init__(self, app: SandboxApp, url: str) -> None:
        self.app = app
        self.url = url
        config = app.sandbox.config
        self.api_key = config.api_key
        self.user_key = config.user_key
        self.username = config.username

    def __repr__(self) -> str:
        return f"RunningSandbox(url={self.url!r}, username={self.username!r})"

    @property
    def state(self) -> SandboxState:
        return self.app.sandbox

    @property
    def headers(self) -> dict[str, str]:
        """The authentication headers every Cflow route wants."""
        return {"apikey": self.api_key, "userkey": self.user_key, "username": self.username}

    def set_faults(self, faults: FaultConfig | Mapping[str, Any]) -> FaultConfig:
        return self.state.set_faults(faults)

    def reset(self, *, keep_faults: bool = False) -> None:
        self.state.reset(keep_faults=keep_faults)


def with_data(
    config: SandboxConfig | None, data: str | os.PathLike[str] | TenantData | None
) -> SandboxConfig:
    """``config`` with the tenant ``data`` (a file path or a loaded ``TenantData``) in it."""
    config = config if config is not None else SandboxConfig()
    if data is None:
        return config
    tenant = data if isinstance(data, TenantData) else load_tenant(data)
    return attrs.evolve(config, data=tenant)


@contextlib.asynccontextmanager
async def run_sandbox(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    data: str | os.PathLike[str] | TenantData | None = None,
) -> AsyncIterator[RunningSandbox]:
    """Serve a fresh sandbox in the current event loop on a loopback socket (port 0: any).

    ``data``: a tenant file (JSON or YAML, see ``cflow_async.sandbox.tenant``) whose workflows,
    users and roles replace the seed's; a bad file raises ``TenantDataError`` before serving.
    """
    app = create_app(with_data(config, data))
    serving = _Serving(app, host, port, handle_signals=False)
    await serving.start()
    try:
        yield RunningSandbox(app, serving.url)
    finally:
        await serving.stop()


async def serve_forever(
    config: SandboxConfig,
    host: str,
    port: int,
    *,
    on_started: Any = None,
    **uvicorn_options: Any,
) -> None:
    """Serve until SIGINT/SIGTERM; ``on_started(url)`` is called once the socket accepts."""
    serving = _Serving(create_app(config), host, port, handle_signals=True, **uvicorn_options)
    await serving.start()
    try:
        if on_started is not None:
            on_started(serving.url)
        await serving.wait()
    finally:
        await serving.stop()


# Kept importable from here, where it used to live.
from cflow_async.sandbox.process import SandboxProcess  # noqa: E402

__all__ = [
    "RunningSandbox",
    "SandboxH11Protocol",
    "SandboxProcess",
    "check_loopback",
    "run_sandbox",
    "serve_forever",
    "with_data",
]
