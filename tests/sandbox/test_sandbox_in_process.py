"""The client against the sandbox in-process (httpx.ASGITransport), as the README shows."""

from __future__ import annotations

import httpx
import pytest

from cflow_async import CflowClient, NotFoundError
from cflow_async.sandbox import DEMO_API_KEY, DEMO_USER_KEY, DEMO_USERNAME, create_app


async def test_the_client_runs_against_the_in_process_sandbox() -> None:
    app = create_app()
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http,
        CflowClient(
            api_key=DEMO_API_KEY,
            user_key=DEMO_USER_KEY,
            username=DEMO_USERNAME,
            base_url="http://127.0.0.1",
            http_client=http,
        ) as cflow,
    ):
        assert [s.process_id for s in await cflow.get_process("SampleWorkflow")] == [
            "27405",
            "27406",
            "27407",
        ]
        record_id = await cflow.submit_record("Test", {"Name": "in-process"})
        request = await cflow.requests.create("TrWorkflow", {"Amount": 5})
        approved = await cflow.requests.approve("TrWorkflow", str(request.id), comment="ok")
        with pytest.raises(NotFoundError):
            await cflow.get_process("NoSuchWorkflow")
    assert record_id == "44"
    assert app.state.sandbox.records_stored == 1
    assert str(approved.status) == "approved"
