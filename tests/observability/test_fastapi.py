"""The FastAPI pattern in scripts/fastapi_app.py, served by uvicorn on a loopback socket,
against the sandbox: one shared client under many concurrent requests, a client that
disconnects (or a call that is cancelled) leaves it healthy, Cflow's errors become
sensible HTTP answers, and the app's calls are traced by OpenTelemetryHooks."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cflow_async import CflowClient, CflowError
from cflow_async.otel import OpenTelemetryHooks

pytestmark = pytest.mark.integration

_script = Path(__file__).resolve().parents[2] / "scripts" / "fastapi_app.py"
_spec = importlib.util.spec_from_file_location("fastapi_app", _script)
assert _spec is not None
assert _spec.loader is not None
fastapi_app = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fastapi_app)


@dataclasses.dataclass
class Served:
    url: str
    app: Any
    http: httpx.AsyncClient  # a caller of the app


@contextlib.asynccontextmanager
async def serve(sandbox: Any, **options: Any) -> AsyncIterator[Served]:
    credentials = {k: getattr(sandbox, k) for k in ("api_key", "user_key", "username")}
    app = fastapi_app.create_app(base_url=sandbox.url, **{**credentials, **options})
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # A long keep-alive: with the default 5 s, a loaded machine lets uvicorn close an idle
    # pooled connection just as the test's own client reuses it (a ReadError in the test
    # client, not in the app under test).
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_keep_alive=60)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    url = "http://{}:{}".format(*sock.getsockname())
    limits = httpx.Limits(max_connections=50)
    try:
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
            yield Served(url, app, http)
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def served(sandbox: Any, backend: str) -> AsyncIterator[Served]:
    async with serve(sandbox, http_backend=backend) as served:
        yield served


async def test_errors_map_to_http_answers_and_the_app_is_traced(sandbox: Any, backend: str) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    hooks = [OpenTelemetryHooks(tracer_provider=provider)]
    async with serve(sandbox, http_backend=backend, hooks=hooks) as served:
        assert (await served.http.get("/workflows")).status_code == 200
        missing = await served.http.get("/workflows/NoSuchWorkflow/stages")
        assert missing.status_code == 404
        spans = sorted(exporter.get_finished_spans(), key=lambda s: s.start_time or 0)
        bad = await served.http.post("/workflows/SampleWorkflow/records", json={"Nope": 1})
        assert bad.status_code == 502
        assert bad.json()["upstream_status"] == 400
        # Cflow stores the record, then the connection drops before its answer.
        script = [{"drop": True, "act": True, "path_contains": "submitrecord"}]
        sandbox.set_faults({"script": script})
        answer = await served.http.post("/workflows/Test/records", json={"Name": "maybe"})
    assert answer.status_code == 502
    body = answer.json()
    assert body["outcome_unknown"] is True
    assert "outcome is unknown" in body["detail"]
    assert len(sandbox.state.records_json()["records"]) == 1  # it was in fact applied
    assert [s.name for s in spans] == [
        "cflow get_workflows",
        "GET /integromat/api/cflow/getworkflows",
        "cflow get_process",
        "GET /integromat/api/cflow/getprocess",
    ]
    assert spans[3].attributes is not None
    assert spans[3].attributes["http.response.status_code"] == 404


async def test_one_shared_client_stays_healthy_under_disconnects_cancels_and_load(
    served: Served, sandbox: Any
) -> None:
    shared = served.app.state.cflow
    assert isinstance(shared, CflowClient)
    slow = {"status": None, "latency": 1.0, "path_contains": "getprocess"}
    sandbox.set_faults({"script": [slow, {**slow, "latency": 2.0}]})
    # A caller of the app that disconnects, then a call of the app's that is cancelled.
    async with httpx.AsyncClient(base_url=served.url, timeout=0.2) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            await impatient.get("/workflows/SampleWorkflow/stages")
    call = asyncio.create_task(shared.get_process("SampleWorkflow"))
    await asyncio.sleep(0.2)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    stages = await asyncio.gather(*(shared.get_process("SampleWorkflow") for _ in range(20)))
    assert all(len(s) == 3 for s in stages)
    # Then many concurrent requests, all served by the same client.
    reads = [served.http.get("/workflows") for _ in range(200)]
    writes = [
        served.http.post("/workflows/Test/records", json={"Name": f"row-{i}"}) for i in range(60)
    ]
    responses = await asyncio.gather(*reads, *writes)
    assert [r.status_code for r in responses[:200]] == [200] * 200
    assert responses[0].json() == ["Test", "User Workflow", "SampleWorkflow", "TrWorkflow"]
    assert [r.status_code for r in responses[200:]] == [201] * 60
    ids = {r.json()["record_id"] for r in responses[200:]}
    assert len(ids) == 60
    names = sorted(r["values"]["Name"] for r in sandbox.state.records_json()["records"])
    assert names == sorted(f"row-{i}" for i in range(60))
    assert served.app.state.cflow is shared  # the same client served every request


async def test_refused_credentials_are_a_bad_gateway_and_shutdown_closes_the_client(
    sandbox: Any,
) -> None:
    async with serve(sandbox, api_key="not-the-key") as served:
        answer = await served.http.get("/workflows")
        cflow: CflowClient = served.app.state.cflow
    with pytest.raises(CflowError, match="closed"):
        await cflow.get_workflows()
    assert answer.status_code == 502
    assert answer.json() == {
        "detail": "Cflow refused this service's credentials",
        "error": "AuthenticationError",
    }
    assert "not-the-key" not in answer.text
