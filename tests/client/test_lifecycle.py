"""Review findings pinned down: event-loop binding, closing mid-retry, values JSON cannot
carry, every 5xx to a write is outcome-unknown, and direct generated calls stay typed."""

from __future__ import annotations

import asyncio
import math
import pickle
from typing import Any

import httpx
import pytest
from cflow_openapi.api.users import list_users
from conftest import CREDS, FAST_RETRY

from cflow_async import (
    CflowClient,
    CflowError,
    InvalidArgumentError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
)

WORKFLOWS = {"Workflows": [{"WorkflowName": "Test", "WorkflowDisplayName": "Test"}]}


def _mock(
    status: int, retry: RetryPolicy | None = None, **response: Any
) -> tuple[list[httpx.Request], httpx.AsyncClient, CflowClient]:
    """A client on an httpx.MockTransport answering every request with
    ``httpx.Response(status, **response)``, and the list of requests it saw."""
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(status, **response))
    http = httpx.AsyncClient(transport=transport)
    return seen, http, CflowClient(**CREDS, http_client=http, retry=retry)


@pytest.mark.parametrize("light_copy", [False, True], ids=["client", "light-copy"])
def test_a_client_is_bound_to_one_event_loop(light_copy: bool) -> None:
    seen, _, cflow = _mock(200, json=WORKFLOWS)
    assert [w.name for w in asyncio.run(cflow.get_workflows())] == ["Test"]
    # A light copy (with_options) shares the binding.
    second = cflow.with_options(timeout=3) if light_copy else cflow
    with pytest.raises(CflowError, match="another event loop"):
        asyncio.run(second.get_workflows())
    assert len(seen) == 1


async def test_closing_during_a_backoff_stops_the_retry() -> None:
    seen, http, cflow = _mock(503, headers={"retry-after": "0.3"})
    call = asyncio.create_task(cflow.get_workflows())
    await asyncio.sleep(0.1)
    await cflow.aclose()
    with pytest.raises(CflowError, match="closed"):
        await call
    assert len(seen) == 1
    await http.aclose()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "\ud800", {"a": {"b": {1, 2}}}])
async def test_values_json_cannot_carry_are_refused_before_sending(value: Any) -> None:
    seen, http, cflow = _mock(200, json={"Record_Id": "1"})
    with pytest.raises(InvalidArgumentError):
        await cflow.submit_record("Test", {"Amount": value})
    with pytest.raises(InvalidArgumentError):
        await cflow.requests.create("Test", {"Amount": value})
    assert seen == []
    await http.aclose()


@pytest.mark.parametrize("status", [501, 505, 507, 520, 524, 599])
async def test_any_5xx_to_a_write_is_an_unknown_outcome(status: int) -> None:
    seen, http, cflow = _mock(status, FAST_RETRY, json={"message": "origin timeout"})
    with pytest.raises(ServerError) as info:
        await cflow.submit_record("Test", {"Name": "x"})
    assert info.value.outcome_unknown
    assert "outcome is unknown" in str(info.value)
    assert len(seen) == 1
    await http.aclose()


async def test_direct_generated_call_with_html_body_is_typed() -> None:
    _, http, cflow = _mock(200, text="<html>maintenance</html>")
    with pytest.raises(ResponseValidationError, match="maintenance"):
        await list_users.asyncio(client=cflow.openapi)
    await http.aclose()


async def test_with_options_checks_its_arguments() -> None:
    async with CflowClient(**CREDS, http_backend="httpx") as cflow:
        with pytest.raises(InvalidArgumentError):
            cflow.with_options(retry=3)  # type: ignore[arg-type]
        copy = cflow.with_options(retry=RetryPolicy(max_retries=0), timeout=2)
        assert copy.retry.max_retries == 0
        assert copy.timeout.read == 2
        assert cflow.retry.max_retries == 2


async def test_errors_survive_pickling() -> None:
    _, http, cflow = _mock(429, headers={"retry-after": "120"}, json={"message": "slow down"})
    with pytest.raises(CflowError) as info:
        await cflow.get_workflows()
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is type(info.value)
    assert str(copy) == str(info.value)
    assert copy.status_code == 429  # type: ignore[attr-defined]
    assert copy.retry_after == 120  # type: ignore[attr-defined]
    assert copy.body == {"message": "slow down"}  # type: ignore[attr-defined]
    assert copy.response.request.headers["apikey"] == "[redacted]"  # type: ignore[attr-defined]
    await http.aclose()


def test_a_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="deadline"):
        RetryPolicy(deadline=0)


async def test_the_generated_sync_functions_refuse_to_bypass_the_request_path() -> None:
    seen, http, cflow = _mock(200, json=[])
    with pytest.raises(CflowError, match="async-only"):
        list_users.sync(client=cflow.openapi)
    assert await list_users.asyncio(client=cflow.openapi) == []
    assert len(seen) == 1
    await http.aclose()


def test_the_default_backend_is_aiohttp_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert CflowClient(**CREDS).http_backend == "aiohttp"
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "aiohttp" else real(name)
    )
    assert CflowClient(**CREDS).http_backend == "httpx"


def test_backend_choices_are_checked() -> None:
    with pytest.raises(ValueError, match="valid backends"):
        CflowClient(**CREDS, http_backend="curl")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not both"):
        CflowClient(**CREDS, http_backend="httpx", http_client=httpx.AsyncClient())
