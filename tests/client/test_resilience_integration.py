"""Retries, unknown outcomes, timeouts and cancellation against the sandbox over real loopback
sockets, on both HTTP backends (issue "Resilience").

Faults are one-shot ``script`` entries, so each test knows exactly which request fails.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from cflow_openapi.api.requests import create_request
from cflow_openapi.api.users import list_users
from cflow_openapi.models import RequestCreate, RequestCreateFields
from conftest import FAST_RETRY, RecordingAsyncio, free_port
from servers import Loopback, Reply
from sockets import tcp_sockets

from cflow_async import (
    CflowClient,
    CflowConnectionError,
    CflowError,
    CflowTimeoutError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)

pytestmark = pytest.mark.integration

UNKNOWN_HINT = "outcome is unknown"


# --- helpers -----------------------------------------------------------------------------------


def _port(url: str) -> int:
    port = httpx.URL(url).port
    assert port is not None
    return port


async def eventually(check: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


def _script(sandbox: Any, *items: dict[str, Any]) -> None:
    sandbox.set_faults({"script": list(items)})


def _stats(sandbox: Any) -> dict[str, Any]:
    return dict(sandbox.state.stats_json())


def _records_with(sandbox: Any, marker: str) -> list[dict[str, Any]]:
    records = sandbox.state.records_json()["records"]
    return [r for r in records if r["values"].get("Name") == marker]


def _marker() -> str:
    return f"m-{uuid.uuid4().hex}"


def _client_for(sandbox: Any, **kwargs: Any) -> CflowClient:
    kwargs.setdefault("retry", FAST_RETRY)
    return CflowClient(
        api_key=sandbox.api_key,
        user_key=sandbox.user_key,
        username=sandbox.username,
        base_url=sandbox.url,
        **kwargs,
    )


# --- retried reads -----------------------------------------------------------------------------


async def test_503_then_success(sandbox: Any, sandbox_client: CflowClient) -> None:
    _script(sandbox, {"status": 503, "method": "GET"})
    workflows = await sandbox_client.get_workflows()
    assert "Test" in [w.name for w in workflows]
    stats = _stats(sandbox)
    assert stats["requests_seen"] == 2
    assert stats["faults_by_status"] == {"503": 1}


async def test_generated_call_is_retried_on_503(sandbox: Any, sandbox_client: CflowClient) -> None:
    _script(sandbox, {"status": 503}, {"status": 502})
    response = await list_users.asyncio_detailed(client=sandbox_client.openapi)
    assert response.status_code == 200
    assert response.parsed
    assert _stats(sandbox)["requests_seen"] == 3


async def test_generated_post_is_not_retried_on_503(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    _script(sandbox, {"status": 503, "method": "POST"})
    body = RequestCreate(fields=RequestCreateFields.from_dict({"Name": _marker()}))
    with pytest.raises(ServerError) as info:
        await create_request.asyncio_detailed("Test", client=sandbox_client.openapi, body=body)
    assert info.value.outcome_unknown
    assert info.value.attempts == 1
    stats = _stats(sandbox)
    assert stats["requests_seen"] == 1
    assert stats["requests_created"] == 0


async def test_dropped_connection_on_get_is_retried(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    _script(sandbox, {"drop": True, "method": "GET"})
    assert await sandbox_client.get_process("Test")
    stats = _stats(sandbox)
    assert stats["requests_seen"] == 2
    assert stats["faults_injected"]["drop"] == 1


async def test_dropped_connection_on_put_is_retried(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    created = await sandbox_client.requests.create("Test", {"Name": _marker()})
    _script(sandbox, {"drop": True, "method": "PUT", "act": True})
    updated = await sandbox_client.requests.update("Test", created.id, {"Note": "x"})
    assert updated.fields["Note"] == "x"
    assert _stats(sandbox)["requests_seen"] == 3


# --- Retry-After -------------------------------------------------------------------------------


async def test_retry_after_seconds_is_waited(
    sandbox: Any, sandbox_client: CflowClient, sleeps: RecordingAsyncio
) -> None:
    _script(sandbox, {"status": 503, "retry_after": "1", "method": "GET"})
    assert await sandbox_client.get_workflows()
    assert sleeps.delays == [1.0]  # FAST_RETRY alone would wait milliseconds
    assert _stats(sandbox)["requests_seen"] == 2


async def test_retry_after_ms_is_waited(
    sandbox: Any, sandbox_client: CflowClient, sleeps: RecordingAsyncio
) -> None:
    _script(sandbox, {"status": 429, "retry_after_ms": 300, "method": "GET"})
    assert await sandbox_client.get_workflows()
    assert sleeps.delays == [0.3]
    assert _stats(sandbox)["requests_seen"] == 2


async def test_retry_after_http_date_is_honoured(
    sandbox: Any, sandbox_client: CflowClient, sleeps: RecordingAsyncio
) -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    _script(sandbox, {"status": 503, "retry_after": when, "method": "GET"})
    assert await sandbox_client.get_workflows()
    (delay,) = sleeps.delays
    assert 15 <= delay <= 21
    assert _stats(sandbox)["requests_seen"] == 2


async def test_post_429_with_retry_after_is_retried_and_stored_once(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    marker = _marker()
    _script(sandbox, {"status": 429, "retry_after": "0", "method": "POST"})
    record_id = await sandbox_client.submit_record("Test", {"Name": marker})
    (record,) = _records_with(sandbox, marker)
    assert record["Record_Id"] == record_id
    assert _stats(sandbox)["requests_seen"] == 2


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_above_the_cap_raises_at_once(
    sandbox: Any, sandbox_client: CflowClient, status: int, sleeps: RecordingAsyncio
) -> None:
    _script(sandbox, {"status": status, "retry_after": "3600", "method": "GET"})
    with pytest.raises(RateLimitError if status == 429 else ServerError) as info:
        await sandbox_client.get_workflows()
    assert sleeps.delays == []  # not waited at all
    assert info.value.attempts == 1
    if isinstance(info.value, RateLimitError):
        assert info.value.retry_after == 3600
    assert _stats(sandbox)["requests_seen"] == 1


# --- unknown outcomes of writes ----------------------------------------------------------------


@pytest.mark.parametrize("act", [True, False], ids=["acted", "not-acted"])
async def test_500_on_submit_is_not_retried(
    sandbox: Any, sandbox_client: CflowClient, act: bool
) -> None:
    marker = _marker()
    _script(sandbox, {"status": 500, "act": act, "method": "POST", "path_contains": "submitrecord"})
    with pytest.raises(ServerError) as info:
        await sandbox_client.submit_record("Test", {"Name": marker})
    error = info.value
    assert error.status_code == 500
    assert error.outcome_unknown is True
    assert UNKNOWN_HINT in str(error)
    assert error.attempts == 1
    assert _stats(sandbox)["requests_seen"] == 1
    assert len(_records_with(sandbox, marker)) == (1 if act else 0)


@pytest.mark.parametrize("act", [True, False], ids=["acted", "not-acted"])
async def test_connection_dropped_after_submit_was_read(
    sandbox: Any, sandbox_client: CflowClient, act: bool
) -> None:
    marker = _marker()
    _script(sandbox, {"drop": True, "act": act, "method": "POST", "path_contains": "submitrecord"})
    with pytest.raises(CflowConnectionError) as info:
        await sandbox_client.submit_record("Test", {"Name": marker})
    error = info.value
    assert error.outcome_unknown is True
    assert UNKNOWN_HINT in str(error)
    assert error.attempts == 1
    stats = _stats(sandbox)
    assert stats["requests_seen"] == 1
    assert stats["faults_injected"]["drop"] == 1
    assert len(_records_with(sandbox, marker)) == (1 if act else 0)
    # The client is fine afterwards.
    assert await sandbox_client.submit_record("Test", {"Name": _marker()})


@pytest.mark.parametrize(
    ("path", "call"),
    [
        ("updaterecord", lambda c, rid: c.update_record("Test", "27406", rid, {"Note": "n"})),
        ("/requests", lambda c, rid: c.requests.create("Test", {"Name": "n"})),
        ("/drafts", lambda c, rid: c.requests.create_draft("Test", {"Name": "n"})),
    ],
    ids=["updaterecord", "requests.create", "requests.create_draft"],
)
@pytest.mark.parametrize("fault", [{"status": 502}, {"drop": True}], ids=["502", "drop"])
async def test_other_writes_are_not_retried_on_ambiguous_failures(
    sandbox: Any,
    sandbox_client: CflowClient,
    path: str,
    call: Callable[[CflowClient, str], Any],
    fault: dict[str, Any],
) -> None:
    record_id = await sandbox_client.submit_record("Test", {"Name": _marker()})
    before = _stats(sandbox)["requests_seen"]
    _script(sandbox, {**fault, "method": "POST", "path_contains": path})
    with pytest.raises(CflowError) as info:
        await call(sandbox_client, record_id)
    assert info.value.outcome_unknown is True
    assert info.value.attempts == 1
    assert _stats(sandbox)["requests_seen"] == before + 1


async def test_approve_and_reject_are_not_retried_on_5xx(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    created = await sandbox_client.requests.create("Test", {"Name": _marker()})
    for action in (sandbox_client.requests.approve, sandbox_client.requests.reject):
        before = _stats(sandbox)["requests_seen"]
        _script(sandbox, {"status": 503, "method": "POST"})
        with pytest.raises(ServerError) as info:
            await action("Test", created.id)
        assert info.value.outcome_unknown
        assert _stats(sandbox)["requests_seen"] == before + 1


# --- connection refused ------------------------------------------------------------------------


def _refused_client(backend: str, **kwargs: Any) -> CflowClient:
    return CflowClient(
        api_key="k",
        user_key="u",
        username="someone@example.com",
        base_url=f"http://127.0.0.1:{free_port()}",
        http_backend=backend,  # type: ignore[arg-type]
        retry=FAST_RETRY,
        **kwargs,
    )


async def test_connection_refused_get_is_retried_then_fails(backend: str) -> None:
    async with _refused_client(backend) as cflow:
        with pytest.raises(CflowConnectionError) as info:
            await cflow.get_workflows()
    error = info.value
    assert not isinstance(error, CflowTimeoutError)
    assert error.attempts == 3
    assert error.outcome_unknown is False
    assert UNKNOWN_HINT not in str(error)


async def test_connection_refused_post_is_retried_since_never_sent(backend: str) -> None:
    async with _refused_client(backend) as cflow:
        with pytest.raises(CflowConnectionError) as info:
            await cflow.submit_record("Test", {"Name": "x"})
        with pytest.raises(CflowConnectionError) as generated:
            await cflow.requests.create("Test", {"Name": "x"})
    for error in (info.value, generated.value):
        assert error.attempts == 3
        assert error.outcome_unknown is False


async def test_connection_refused_logs_one_line_per_retry(
    backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with _refused_client(backend) as cflow:
        with caplog.at_level(logging.INFO, logger="cflow_async"), pytest.raises(CflowError):
            await cflow.get_workflows()
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "cflow_async" and r.getMessage().startswith("Retrying")
    ]
    assert len(lines) == 2
    for line in lines:
        assert "GET /integromat/api/cflow/getworkflows" in line
        assert "someone" not in line
        assert "?" not in line


# --- read timeouts -----------------------------------------------------------------------------

SHORT_READ = httpx.Timeout(5.0, read=0.25)


async def test_read_timeout_on_get_is_retried(sandbox: Any, sandbox_client: CflowClient) -> None:
    cflow = sandbox_client.with_options(timeout=SHORT_READ)
    _script(sandbox, {"status": None, "latency": 1.0, "method": "GET"})
    assert await cflow.get_workflows()
    assert _stats(sandbox)["requests_seen"] == 2
    await cflow.aclose()


async def test_read_timeout_on_get_gives_up_with_timeout_error(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    cflow = sandbox_client.with_options(timeout=SHORT_READ)
    _script(sandbox, *[{"status": None, "latency": 0.8, "method": "GET"}] * 3)
    with pytest.raises(CflowTimeoutError) as info:
        await cflow.get_workflows()
    assert info.value.attempts == 3
    assert not info.value.outcome_unknown
    assert _stats(sandbox)["requests_seen"] == 3
    await cflow.aclose()


async def test_read_timeout_on_post_is_not_retried(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    cflow = sandbox_client.with_options(timeout=SHORT_READ)
    marker = _marker()
    _script(sandbox, {"status": None, "latency": 1.0, "method": "POST"})
    with pytest.raises(CflowTimeoutError) as info:
        await cflow.submit_record("Test", {"Name": marker})
    error = info.value
    assert error.outcome_unknown is True
    assert UNKNOWN_HINT in str(error)
    assert error.attempts == 1
    assert _stats(sandbox)["requests_seen"] == 1
    await asyncio.sleep(1.0)  # let the slow request finish on the server
    assert len(_records_with(sandbox, marker)) <= 1
    assert _stats(sandbox)["requests_seen"] == 1
    await cflow.aclose()


async def test_deadline_bounds_the_call(sandbox: Any, sandbox_client: CflowClient) -> None:
    policy = RetryPolicy(initial_backoff=0.001, max_backoff=0.005, deadline=0.3)
    cflow = sandbox_client.with_options(retry=policy)
    _script(sandbox, {"status": None, "latency": 1.5, "method": "GET"})
    # Not a clock reading: without the deadline the call would succeed after 1.5 s.
    with pytest.raises(CflowTimeoutError, match="deadline"):
        await cflow.get_workflows()
    await cflow.aclose()


# --- injected http_client with httpx-aiohttp ---------------------------------------------------


@pytest.fixture
async def httpx_aiohttp_client(sandbox: Any) -> AsyncIterator[CflowClient]:
    httpx_aiohttp = pytest.importorskip("httpx_aiohttp")
    http_client = httpx.AsyncClient(transport=httpx_aiohttp.AiohttpTransport())
    async with _client_for(sandbox, http_client=http_client) as cflow:
        yield cflow
    await http_client.aclose()


@pytest.mark.parametrize("act", [True, False], ids=["acted", "not-acted"])
async def test_httpx_aiohttp_post_is_not_retried_on_a_drop(
    sandbox: Any, httpx_aiohttp_client: CflowClient, act: bool
) -> None:
    # httpx-aiohttp reports this drop as httpx.ConnectTimeout ("never sent"): not believed.
    marker = _marker()
    _script(sandbox, {"drop": True, "act": act, "method": "POST"})
    with pytest.raises(CflowConnectionError) as info:
        await httpx_aiohttp_client.submit_record("Test", {"Name": marker})
    assert info.value.outcome_unknown is True
    assert info.value.attempts == 1
    assert _stats(sandbox)["requests_seen"] == 1
    assert len(_records_with(sandbox, marker)) == (1 if act else 0)


async def test_httpx_aiohttp_get_is_retried_on_a_drop(
    sandbox: Any, httpx_aiohttp_client: CflowClient
) -> None:
    _script(sandbox, {"drop": True, "method": "GET"})
    assert await httpx_aiohttp_client.get_workflows()
    assert _stats(sandbox)["requests_seen"] == 2


async def test_httpx_aiohttp_connection_refused_post_is_not_retried() -> None:
    httpx_aiohttp = pytest.importorskip("httpx_aiohttp")
    http_client = httpx.AsyncClient(transport=httpx_aiohttp.AiohttpTransport())
    cflow = CflowClient(
        api_key="k",
        user_key="u",
        username="someone@example.com",
        base_url=f"http://127.0.0.1:{free_port()}",
        http_client=http_client,
        retry=FAST_RETRY,
    )
    async with cflow:
        with pytest.raises(CflowConnectionError) as info:
            await cflow.submit_record("Test", {"Name": "x"})
        assert info.value.attempts == 1
        assert info.value.outcome_unknown is True
        with pytest.raises(CflowConnectionError) as get_info:
            await cflow.get_workflows()
        assert get_info.value.attempts == 3
    await http_client.aclose()


# --- with_options, cancellation and connection leaks -------------------------------------------


async def test_closing_a_with_options_copy_keeps_the_pool(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    port = _port(sandbox.url)
    await sandbox_client.get_workflows()
    copy = sandbox_client.with_options(timeout=7, retry=RetryPolicy(max_retries=0))
    await copy.get_workflows()
    open_before = tcp_sockets(port, side="client")
    assert open_before >= 1
    await copy.aclose()
    await asyncio.sleep(0.05)
    assert tcp_sockets(port, side="client") == open_before
    assert await sandbox_client.get_workflows()
    await sandbox_client.aclose()
    assert await eventually(lambda: tcp_sockets(port, side="client") == 0)


async def test_cancelled_calls_leave_the_client_usable_and_leak_nothing(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    port = _port(sandbox.url)
    assert await sandbox_client.get_workflows()  # the pool is warm: cancels hit mid-flight
    slow = {"status": None, "latency": 1.0, "method": "GET"}
    _script(sandbox, *[slow] * 4)

    for number in range(1, 4):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(sandbox_client.get_workflows(), 0.3)
        assert _stats(sandbox)["requests_seen"] == 1 + number

    task = asyncio.create_task(sandbox_client.get_process("Test"))
    assert await eventually(lambda: _stats(sandbox)["requests_seen"] == 5)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Cancelled calls were not retried behind our back.
    await asyncio.sleep(0.1)
    assert _stats(sandbox)["requests_seen"] == 5
    assert _stats(sandbox)["script_remaining"] == 0

    # Usable: the next calls succeed, reads and writes alike.
    assert await sandbox_client.get_workflows()
    assert await sandbox_client.submit_record("Test", {"Name": _marker()})

    # The four cancelled exchanges did not leave their connections open on either side.
    assert await eventually(lambda: tcp_sockets(port, side="client") <= 2), tcp_sockets(
        port, side="client"
    )
    assert await eventually(lambda: tcp_sockets(port, side="server") <= 2)

    await sandbox_client.aclose()
    assert await eventually(lambda: tcp_sockets(port, side="client") == 0)
    assert await eventually(lambda: tcp_sockets(port, side="server") == 0)


async def test_cancelled_write_is_not_retried(sandbox: Any, sandbox_client: CflowClient) -> None:
    assert await sandbox_client.get_workflows()
    marker = _marker()
    _script(sandbox, {"status": None, "latency": 0.6, "method": "POST"})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sandbox_client.submit_record("Test", {"Name": marker}), 0.3)
    await asyncio.sleep(0.6)
    assert _stats(sandbox)["requests_seen"] == 2
    assert len(_records_with(sandbox, marker)) <= 1


async def test_aclose_leaves_no_connection_open(sandbox: Any, backend: str) -> None:
    port = _port(sandbox.url)
    cflow = _client_for(sandbox, http_backend=backend)
    await asyncio.gather(*(cflow.get_workflows() for _ in range(20)))
    assert tcp_sockets(port, side="client") >= 1
    await cflow.aclose()
    assert await eventually(lambda: tcp_sockets(port, side="client") == 0)


# --- no secrets or query strings in messages ---------------------------------------------------


def raw_server(answer: bytes) -> Loopback:
    """A loopback server answering every request with the same raw bytes."""
    return Loopback(lambda seen: Reply(raw=answer))


@pytest.fixture
async def garbage_server() -> AsyncIterator[str]:
    """A server that answers every request with a malformed status line."""
    async with raw_server(b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}") as server:
        yield server.url


async def test_malformed_response_error_shows_no_query_string(
    garbage_server: str, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret_user = "secret-user@example.com"
    cflow = CflowClient(
        api_key="api-key-XYZ",
        user_key="user-key-XYZ",
        username=secret_user,
        base_url=garbage_server,
        http_backend=backend,  # type: ignore[arg-type]
        retry=FAST_RETRY,
    )
    async with cflow:
        with (
            caplog.at_level(logging.INFO, logger="cflow_async"),
            pytest.raises(CflowConnectionError) as info,
        ):
            await cflow.get_workflow_fieldsets("Secret Workflow")
    assert info.value.attempts == 3
    texts = [str(info.value), repr(info.value)]
    texts += [r.getMessage() for r in caplog.records if r.name == "cflow_async"]
    for text in texts:
        for leak in ("secret-user", "Secret%20Workflow", "WorkflowName=", "username=", "XYZ"):
            assert leak not in text, f"{leak!r} leaked into {text!r}"


# --- every failure is a CflowError -------------------------------------------------------------

CORRUPT_GZIP = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    b"Content-Length: 9\r\n\r\nnotgzip!!"
)


async def test_undecodable_body_is_a_cflow_error(backend: str) -> None:
    async with raw_server(CORRUPT_GZIP) as server:
        cflow = CflowClient(
            api_key="k",
            user_key="u",
            username="someone@example.com",
            base_url=server.url,
            http_backend=backend,  # type: ignore[arg-type]
            retry=FAST_RETRY,
        )
        async with cflow:
            with pytest.raises(CflowError):
                await cflow.get_workflows()
            before = len(server.seen)
            with pytest.raises(CflowError) as info:
                await cflow.submit_record("Test", {"Name": "x"})
            # The server answered 2xx to the write: it must not be sent again.
            assert len(server.seen) == before + 1
            assert info.value.attempts == 1


# --- the sandbox's fault model agrees with the retry rule --------------------------------------


async def test_sandbox_random_429_never_applies_the_write(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    """A 429 means the server did not act on the request (RFC 6585), which is why a POST may
    be retried on it; so ``act_before_fault`` must never store a write answered with 429."""
    sandbox.set_faults(
        {"rate": 1.0, "statuses": [429], "act_before_fault": 1.0, "methods": ["POST"], "seed": 3}
    )
    cflow = sandbox_client.with_options(retry=RetryPolicy(max_retries=0))
    marker = _marker()
    with pytest.raises(RateLimitError) as info:
        await cflow.submit_record("Test", {"Name": marker})
    assert not info.value.outcome_unknown
    assert _records_with(sandbox, marker) == []
    await cflow.aclose()
