"""Names shared by the benchmark's orchestrator, workers and report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from cflow_async import CflowClient

HERE = Path(__file__).resolve().parent
#: The repository root: child processes run there, so ``-m scripts.bench`` resolves.
ROOT = HERE.parent.parent
RESULTS = ROOT / "scripts" / "bench_results.md"

API_KEY = "bench-api-key"
USER_KEY = "bench-user-key"
USERNAME = "bench@example.com"
AUTH = {"apikey": API_KEY, "userkey": USER_KEY, "username": USERNAME}


def bench_client(base_url: str, **options: Any) -> CflowClient:
    """A facade client with the bench credentials (imported here: the orchestrator and the
    raw workers never load the package)."""
    from cflow_async import CflowClient

    return CflowClient(
        api_key=API_KEY, user_key=USER_KEY, username=USERNAME, base_url=base_url, **options
    )


WORKFLOWS_PATH = "/integromat/api/cflow/getworkflows?username=" + quote(USERNAME, safe="")
#: The OpenAPI call measured (issue 11): ``cflow.requests.list(REQUESTS_WORKFLOW)``.
REQUESTS_WORKFLOW = "wf-1"
REQUESTS_PATH = f"/integromat/api/cflow/workflows/{REQUESTS_WORKFLOW}/requests"

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
#: Issue 11's goal for ``requests.list``: CPU per call at most this many times raw aiohttp's.
OPENAPI_GOAL = 1.3
OPENAPI_VARIANTS = ("raw-aiohttp", "raw-httpx", "facade-aiohttp", "facade-httpx")
OPENAPI_CONCURRENCY = (1, 64)
#: The hooks compared in the otel section (issue 12), on the aiohttp backend.
OTEL_HOOKS = {
    "none": "no hooks",
    "noop": "one no-op hook",
    "otel": "OpenTelemetryHooks (in-memory exporter)",
}
OTEL_CONCURRENCY = (1, 64)
#: Issue 14's goal: the importer's RSS growth whatever the number of rows.
IMPORT_RSS_GOAL_MB = 50.0

#: The parts of a run, for ``--only``: the per-call and pool-size tables against the canned
#: server, the OpenAPI call requests.list, the CPU hooks add, bulk submit_records, the
#: time of ``import cflow_async`` ("imports"), a CSV import_records into the sandbox
#: ("import"), and per-call latency against the sandbox.
SECTIONS = ("http", "openapi", "otel", "bulk", "imports", "import", "sandbox")
#: How the sandbox is served in the sandbox section: the library's helper, and the same
#: create_app() under a plain uvicorn.Server, as a user would deploy an ASGI app.
SANDBOX_SERVERS = {"run_sandbox": "run_sandbox()", "uvicorn": "plain uvicorn"}
#: Legacy calls timed against the sandbox: a read and a write.
SANDBOX_CALLS = {"getworkflows": "GET getworkflows", "submitrecord": "POST submitrecord"}
SANDBOX_BACKENDS = ("aiohttp", "httpx")
#: A sandbox workflow that takes any field, so a submit never fails validation.
SANDBOX_WORKFLOW = "Test"
