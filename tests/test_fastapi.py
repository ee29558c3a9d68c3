"""The FastAPI pattern in scripts/fastapi_app.py, served by uvicorn on a loopback socket,
against the sandbox: one shared client under many concurrent requests, and a client
that disconnects (or a call that is cancelled) leaves it healthy."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from cflow_async import CflowClient, CflowError

pytestmark = pytest.mark.integration

_spec = importlib.util.spec_from_file_location(
    "fastapi_app", Path(__file__).resolve().parents[1] / "scripts" / "fastapi_app.py"
)
assert _spec is not None
assert _spec.loader is not None
fastapi_app = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fastapi_app)


@pytest.fixture
async def served(sandbox: Any, backend: str) -> AsyncIterator[tuple[str, Any]]:
    app = fastapi_app.create_app(
        base_url=sandbox.url,
        api_key=sandbox.api_key,
        user_key=sandbox.user_key,
        username=sandbox.username,
        http_backend=backend,
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    host, port = sock.getsockname()
    try:
        yield f"http://{host}:{port}", app
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_many_concurrent_requests_share_one_client(
    served: tuple[str, Any], sandbox: Any
) -> None:
    url, app = served
    shared = app.state.cflow
    assert isinstance(shared, CflowClient)
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        reads = [http.get("/workflows") for _ in range(200)]
        writes = [
            http.post("/workflows/Test/records", json={"Name": f"row-{i}"}) for i in range(60)
        ]
        responses = await asyncio.gather(*reads, *writes)
    assert [r.status_code for r in responses[:200]] == [200] * 200
    assert responses[0].json() == ["Test", "User Workflow", "SampleWorkflow", "TrWorkflow"]
    assert [r.status_code for r in responses[200:]] == [201] * 60
    ids = {r.json()["record_id"] for r in responses[200:]}
    assert len(ids) == 60
    names = sorted(r["values"]["Name"] for r in sandbox.state.records_json()["records"])
    assert names == sorted(f"row-{i}" for i in range(60))
    assert app.state.cflow is shared  # the same client served every request


async def test_errors_map_to_http_answers(served: tuple[str, Any]) -> None:
    url, _ = served
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        missing = await http.get("/workflows/NoSuchWorkflow/stages")
        assert missing.status_code == 404
        bad = await http.post("/workflows/SampleWorkflow/records", json={"Nope": 1})
        assert bad.status_code == 502
        assert bad.json()["upstream_status"] == 400


async def test_client_disconnect_leaves_the_shared_client_healthy(
    served: tuple[str, Any], sandbox: Any
) -> None:
    url, _ = served
    sandbox.set_faults(
        {"script": [{"status": None, "latency": 1.0, "path_contains": "getprocess"}]}
    )
    async with httpx.AsyncClient(base_url=url, timeout=0.2) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            await impatient.get("/workflows/SampleWorkflow/stages")
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        responses = await asyncio.gather(*(http.get("/workflows") for _ in range(30)))
    assert {r.status_code for r in responses} == {200}


async def test_cancelled_call_leaves_the_shared_client_healthy(
    served: tuple[str, Any], sandbox: Any
) -> None:
    _, app = served
    cflow: CflowClient = app.state.cflow
    sandbox.set_faults(
        {"script": [{"status": None, "latency": 2.0, "path_contains": "getprocess"}]}
    )
    call = asyncio.create_task(cflow.get_process("SampleWorkflow"))
    await asyncio.sleep(0.2)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    stages = await asyncio.gather(*(cflow.get_process("SampleWorkflow") for _ in range(20)))
    assert all(len(s) == 3 for s in stages)


async def test_the_client_is_closed_at_shutdown(sandbox: Any) -> None:
    app = fastapi_app.create_app(
        base_url=sandbox.url,
        api_key=sandbox.api_key,
        user_key=sandbox.user_key,
        username=sandbox.username,
    )
    async with app.router.lifespan_context(app):
        cflow: CflowClient = app.state.cflow
        assert len(await cflow.get_workflows()) == 4
    with pytest.raises(CflowError, match="closed"):
        await cflow.get_workflows()
