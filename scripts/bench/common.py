"""Names shared by the benchmark's orchestrator, workers and report."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
#: The repository root: child processes run there, so ``-m scripts.bench`` resolves.
ROOT = HERE.parent.parent
RESULTS = ROOT / "scripts" / "bench_results.md"

API_KEY = "bench-api-key"
USER_KEY = "bench-user-key"
USERNAME = "bench@example.com"
AUTH = {"apikey": API_KEY, "userkey": USER_KEY, "username": USERNAME}
WORKFLOWS_PATH = "/integromat/api/cflow/getworkflows?username=" + quote(USERNAME, safe="")

VARIANTS = {
    "raw-aiohttp": "raw aiohttp",
    "raw-httpx": "raw httpx",
    "httpx-aiohttp": "httpx-aiohttp",
    "facade-aiohttp": "facade, aiohttp backend",
    "facade-httpx": "facade, httpx backend",
}
CONCURRENCY = (1, 64, 512)
POOL_SIZES = (10, 32, 100)
POOL_CONCURRENCY = (64, 512)
NOT_IMPORTED = ("aiohttp", "starlette", "uvicorn", "cflow_async.sandbox", "cflow_async.cli")
IMPORT_GOAL_MS = 150.0
BULK_RSS_GOAL_MB = 20.0

#: The parts of a run, for ``--only``: the per-call and pool-size tables against the canned
#: server, bulk submit_records, import time, and per-call latency against the sandbox.
SECTIONS = ("http", "bulk", "imports", "sandbox")
#: How the sandbox is served in the sandbox section: the library's helper, and the same
#: create_app() under a plain uvicorn.Server, as a user would deploy an ASGI app.
SANDBOX_SERVERS = {"run_sandbox": "run_sandbox()", "uvicorn": "plain uvicorn"}
#: Legacy calls timed against the sandbox: a read and a write.
SANDBOX_CALLS = {"getworkflows": "GET getworkflows", "submitrecord": "POST submitrecord"}
SANDBOX_BACKENDS = ("aiohttp", "httpx")
#: A sandbox workflow that takes any field, so a submit never fails validation.
SANDBOX_WORKFLOW = "Test"
