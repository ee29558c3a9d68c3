"""What importing and calling cost in import machinery, each checked in a fresh interpreter
so that nothing this test session imported hides an import: `import cflow_async` must not
pull in the optional or heavy parts (aiohttp, the sandbox's starlette/uvicorn, the CLI), and a
request after the first must not import anything — httpcore runs ``import sniffio`` on every
request, which is a failed, uncached import (a path scan) each time unless sniffio is installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FORBIDDEN = ("aiohttp", "starlette", "uvicorn", "cflow_async.sandbox", "cflow_async.cli")


def run_python(code: str, *args: str) -> str:
    command = [sys.executable, "-c", textwrap.dedent(code), *args]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


_LOADED = """
import json, sys
import cflow_async
for name in cflow_async.__all__:
    getattr(cflow_async, name)
forbidden = sys.argv[1:]
print(json.dumps(sorted(
    name for name in sys.modules
    if any(name == f or name.startswith(f + ".") for f in forbidden)
)))
"""


# Importing, and touching everything the package exports (whatever the import alone pulled
# in is still in sys.modules then), must not import the optional parts.
def test_import_does_not_pull_in_optional_or_heavy_modules() -> None:
    assert json.loads(run_python(_LOADED, *FORBIDDEN)) == []


# Runs in a subprocess: tests/servers.py's keep-alive loopback server (real sockets, so
# httpcore's real connection pool is exercised, which MockTransport would bypass), one warm-up
# call, then a second call while an audit hook records every import the interpreter actually
# performs (event "import": only for modules not already in sys.modules) and a wrapped
# __import__ records every import statement that fails.
_SECOND_CALL = """
import asyncio, builtins, json, sys

tests_dir, backend = sys.argv[1], sys.argv[2]
sys.path.insert(0, tests_dir)


async def main():
    from servers import Loopback, make_client  # Loopback answers with one workflow

    imported, failed = [], []
    recording = False

    def hook(event, args):
        if recording and event == "import":
            imported.append(args[0])

    sys.addaudithook(hook)
    real_import = builtins.__import__

    def watching_import(name, *args, **kwargs):
        try:
            return real_import(name, *args, **kwargs)
        except ImportError as exc:
            if recording:
                failed.append(f"{name}: {type(exc).__name__}: {exc}")
            raise

    async with Loopback(keep_alive=True) as server, make_client(backend, server.url) as cflow:
        await cflow.get_workflows()  # the first call may import what it first needs
        builtins.__import__ = watching_import
        recording = True
        try:
            workflows = await cflow.get_workflows()
        finally:
            recording = False
            builtins.__import__ = real_import
    print(json.dumps({"imported": imported, "failed": failed, "workflows": len(workflows)}))


asyncio.run(main())
"""
TESTS = str(Path(__file__).parents[1])


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
def test_second_request_imports_nothing(backend: str) -> None:
    result = json.loads(run_python(_SECOND_CALL, TESTS, backend))
    assert result["workflows"] == 1
    assert result["failed"] == []  # e.g. no ModuleNotFoundError for sniffio
    assert result["imported"] == []
