"""Waiting for a free connection proves a request was never sent, on both backends: a POST
that times out waiting for the pool is retried, reported as a known outcome, and never
stored twice (issue "Resilience": connect and pool timeouts; each backend classifies)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from servers import make_client

from cflow_async import CflowTimeoutError, RetryPolicy

pytestmark = pytest.mark.integration


async def test_a_write_waiting_for_the_pool_is_never_sent(sandbox: Any, backend: str) -> None:
    # One connection, held by a slow read; the write can only wait for it.
    sandbox.set_faults(
        {"script": [{"status": None, "latency": 2.5, "path_contains": "getprocess"}]}
    )
    creds = {"api_key": sandbox.api_key, "user_key": sandbox.user_key, "username": sandbox.username}
    async with make_client(
        backend,
        sandbox.url,
        creds,
        max_connections=1,
        timeout=httpx.Timeout(10, connect=0.2, pool=0.2),
        retry=RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.02),
    ) as cflow:
        slow_read = asyncio.create_task(cflow.get_process("SampleWorkflow"))
        await asyncio.sleep(0.3)  # the read now holds the only connection
        with pytest.raises(CflowTimeoutError) as info:
            await cflow.submit_record("Test", {"Name": "pool-wait"})
        assert info.value.attempts == 3  # retried: waiting for the pool sends nothing
        assert not info.value.outcome_unknown
        assert len(await slow_read) == 3
        assert await cflow.submit_record("Test", {"Name": "after"}) == "44"
    names = [r["values"]["Name"] for r in sandbox.state.records_json()["records"]]
    assert names == ["after"]
