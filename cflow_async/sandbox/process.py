"""The sandbox as a child process (``python -m cflow_async.sandbox``), for sync or async code."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from cflow_async.sandbox import data

_URL_RE = re.compile(r"\bon (http://\S+)")
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class SandboxProcess:
    """``python -m cflow_async.sandbox --port 0`` as a child process, for sync or async ``with``.

    Credentials other than the demo ones travel through the environment (never the command
    line, which other local users can read).
    """

    def __init__(
        self,
        *args: str,
        host: str = "127.0.0.1",
        api_key: str = data.DEMO_API_KEY,
        user_key: str = data.DEMO_USER_KEY,
        username: str = data.DEMO_USERNAME,
        python: str | None = None,
        startup_timeout: float = 20.0,
        stop_timeout: float = 10.0,
        data: str | os.PathLike[str] | None = None,
        lenient_fields: bool = False,
    ) -> None:
        extra = [] if data is None else ["--data", os.path.abspath(data)]
        if lenient_fields:
            extra.append("--lenient-fields")
        self.args: Sequence[str] = [*extra, *args]
        self.host = host
        self.api_key = api_key
        self.user_key = user_key
        self.username = username
        self.python = python or sys.executable
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.url: str = ""
        self.banner: str = ""
        self.returncode: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def __repr__(self) -> str:
        pid = None if self._process is None else self._process.pid
        return f"SandboxProcess(url={self.url!r}, pid={pid})"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def headers(self) -> dict[str, str]:
        return {"apikey": self.api_key, "userkey": self.user_key, "username": self.username}

    def start(self) -> Self:
        env = dict(os.environ)
        # The child must import this very package even when it is not installed.
        env["PYTHONPATH"] = os.pathsep.join(
            [str(_PACKAGE_ROOT), *filter(None, [env.get("PYTHONPATH")])]
        )
        env["PYTHONUNBUFFERED"] = "1"
        env["CFLOW_SANDBOX_API_KEY"] = self.api_key
        env["CFLOW_SANDBOX_USER_KEY"] = self.user_key
        env["CFLOW_SANDBOX_USERNAME"] = self.username
        command = [self.python, "-m", "cflow_async.sandbox", "--host", self.host, "--port", "0"]
        self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [*command, *self.args],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            env=env,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(
            target=_pump, args=(self._process, lines), name="sandbox-stdout", daemon=True
        )
        self._reader.start()
        deadline = time.monotonic() + self.startup_timeout
        match: re.Match[str] | None = None
        while match is None:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise TimeoutError(
                    f"the sandbox printed no URL within {self.startup_timeout} s"
                ) from None
            if line is None:
                code = self.stop()
                raise RuntimeError(f"the sandbox exited with status {code} before serving")
            match = _URL_RE.search(line)
            self.banner = line.rstrip("\n")
        self.url = match.group(1)
        return self

    def send_signal(self, signum: int) -> None:
        if self._process is not None:
            self._process.send_signal(signum)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to exit on its own (after ``send_signal``); its exit status."""
        if self._process is None:
            raise RuntimeError("the sandbox process is not running")
        return self._process.wait(timeout)

    def stop(self) -> int | None:
        process = self._process
        if process is None:
            return self.returncode
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._reader is not None:
            self._reader.join(self.stop_timeout)
        if process.stdout is not None:
            process.stdout.close()
        self.returncode = process.returncode
        self._process = None
        return self.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        _exc_type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        _exc_type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    # Keeps reading after the URL line so a chatty child can never block on a full pipe.
    assert process.stdout is not None
    forwarding = True
    with contextlib.suppress(ValueError, OSError):
        for line in process.stdout:
            if forwarding:
                lines.put(line)
                forwarding = _URL_RE.search(line) is None
    if forwarding:
        lines.put(None)
