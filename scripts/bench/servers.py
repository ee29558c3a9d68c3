"""The servers the benchmark measures against, each in its own process on its own core.

* the canned server (canned_server.py): fast enough that the client is the bottleneck;
* the sandbox, served by ``cflow_async.sandbox.run_sandbox`` or by the same ``create_app()``
  under a plain ``uvicorn.Server``, to compare the sandbox's serving with uvicorn's own:

      python -m scripts.bench.servers --sandbox run_sandbox|uvicorn [--cpu N]

Every server prints ``READY <port>`` once it answers and exits when its stdin closes, so it
never outlives the benchmark that started it, even after a kill -9.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

from .common import API_KEY, HERE, ROOT, USER_KEY, USERNAME

_START_TIMEOUT = 30.0


class Server:
    """A server child process; always stopped on exit."""

    def __init__(self, cmd: list[str], env: dict[str, str] | None = None) -> None:
        # stdin stays open for the server's lifetime: if we die, it sees EOF and exits.
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
        )
        atexit.register(self.stop)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], _START_TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            self.stop()
            raise SystemExit(f"bench server {cmd[1:]} did not start (got {line!r})")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.pid = self.proc.pid

    def stop(self) -> None:
        proc = self.proc
        if proc.poll() is not None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(3)


def _cpu_args(cpu: int | None) -> list[str]:
    return [] if cpu is None else ["--cpu", str(cpu)]


def canned_server(cpu: int | None, env: dict[str, str] | None = None) -> Server:
    return Server([sys.executable, str(HERE / "canned_server.py"), *_cpu_args(cpu)], env)


def sandbox_server(kind: str, cpu: int | None, env: dict[str, str] | None = None) -> Server:
    cmd = [sys.executable, "-m", "scripts.bench.servers", "--sandbox", kind, *_cpu_args(cpu)]
    return Server(cmd, env)


# --- the sandbox server process -------------------------------------------------------------


def _config() -> Any:
    from cflow_async.sandbox import SandboxConfig

    # The bench's keys rather than the demo ones, so one client spec fits every server.
    return SandboxConfig(api_key=API_KEY, user_key=USER_KEY, username=USERNAME)


async def _serve_run_sandbox() -> None:
    from cflow_async.sandbox import run_sandbox

    config = _config()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    class _Watch(asyncio.Protocol):
        def connection_lost(self, exc: Exception | None) -> None:
            stop.set()

    await loop.connect_read_pipe(_Watch, sys.stdin)
    async with run_sandbox(config) as sandbox:
        print(f"READY {sandbox.url.rsplit(':', 1)[1]}", flush=True)
        await stop.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _serve_uvicorn() -> None:
    import time

    import uvicorn

    from cflow_async.sandbox import create_app

    port = _free_port()
    # A normal Config: uvicorn's defaults for protocol, loop and keep-alive. Only the log
    # level differs: at "info" every request writes an access-log line, which
    # run_sandbox() does not, and the comparison is about serving, not logging.
    config = uvicorn.Config(create_app(_config()), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.01)
        if server.started:
            print(f"READY {port}", flush=True)

    def watch_stdin() -> None:
        sys.stdin.read()  # returns at EOF: the benchmark is gone
        server.should_exit = True

    threading.Thread(target=announce, daemon=True).start()
    threading.Thread(target=watch_stdin, daemon=True).start()
    server.run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the sandbox for the benchmark.")
    parser.add_argument("--sandbox", choices=("run_sandbox", "uvicorn"), required=True)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    if args.sandbox == "run_sandbox":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve_run_sandbox())
    else:
        _serve_uvicorn()


if __name__ == "__main__":
    main()
