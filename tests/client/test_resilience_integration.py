"""Retries, unknown outcomes, timeouts and cancellation against the sandbox over real loopback
sockets, on both HTTP backends and, where it behaves differently, on an injected httpx client
with httpx-aiohttp's transport (issue "Resilience").

The retry rules themselves (which status and method is retried, attempts, Retry-After, the
deadline) are pinned once, on a mocked transport, in test_retry_unit.py. This file pins what
only real sockets show: which socket failure each backend reports as which httpx error (so
"never sent" or "maybe sent"), that a real server's answers reach the rules, and that nothing
leaks. Faults are one-shot ``script`` entries, so each test knows exactly which request fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from conftest import FAST_RETRY, RecordingAsyncio, free_port
from servers import Loopback, Reply, make_client
from sockets import tcp_sockets

from cflow_async import (
    CflowClient,
    CflowConnectionError,
    CflowError,
    CflowTimeoutError,
    RetryPolicy,
)

pytestmark = pytest.mark.integration

UNKNOWN_HINT = "outcome is unknown"
#: The two backends, and an injected httpx.AsyncClient on httpx-aiohttp's transport.
KINDS = ["aiohttp", "httpx", "httpx-aiohttp"]
SOMEONE = {"api_key": "k", "user_key": "u", "username": "someone@example.com"}
SHORT_READ = httpx.Timeout(5.0, read=0.25)
GET = {"method": "GET"}


# --- helpers -----------------------------------------------------------------------------------


async def eventually(check: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


def _script(sandbox: Any, *items: dict[str, Any]) -> None:
    sandbox.set_faults({"script": list(items)})


def _records_with(sandbox: Any, marker: str) -> list[dict[str, Any]]:
    records = sandbox.state.records_json()["records"]
    return [r for r in records if r["values"].get("Name") == marker]


def _marker() -> str:
    return f"m-{uuid.uuid4().hex}"


def _sockets(sandbox: Any, side: str = "client") -> int:
    """This process's open TCP sockets to (``client``) or on (``server``) the sandbox."""
    port = httpx.URL(sandbox.url).port
    assert port is not None
    return tcp_sockets(port, side=side)


@contextlib.asynccontextmanager
async def _client(kind: str, base_url: str, creds: dict[str, Any]) -> AsyncIterator[CflowClient]:
    """A client of one of ``KINDS``, with tiny backoffs."""
    if kind != "httpx-aiohttp":
        async with make_client(kind, base_url, creds, retry=FAST_RETRY) as cflow:
            yield cflow
        return
    httpx_aiohttp = pytest.importorskip("httpx_aiohttp")
    async with (
        httpx.AsyncClient(transport=httpx_aiohttp.AiohttpTransport()) as http_client,
        CflowClient(**creds, base_url=base_url, http_client=http_client, retry=FAST_RETRY) as c,
    ):
        yield c


@pytest.fixture(params=KINDS)
async def cflow(sandbox: Any, request: pytest.FixtureRequest) -> AsyncIterator[CflowClient]:
    """A client on the sandbox, on each of ``KINDS``."""
    creds = {"api_key": sandbox.api_key, "user_key": sandbox.user_key, "username": sandbox.username}
    async with _client(request.param, sandbox.url, creds) as client:
        yield client


# --- retried calls -----------------------------------------------------------------------------


async def _workflows_listed(c: CflowClient) -> bool:
    return "Test" in [w.name for w in await c.get_workflows()]


async def _listed_despite_a_read_timeout(c: CflowClient) -> bool:
    async with c.with_options(timeout=SHORT_READ) as short_read:
        return await _workflows_listed(short_read)


async def _record_updated(c: CflowClient) -> bool:
    created = await c.requests.create("Test", {"Name": _marker()})
    updated = await c.requests.update("Test", created.id, {"Note": "x"})
    return bool(updated.fields["Note"] == "x")


# The scripted faults, the call, the requests the sandbox sees.
RETRIED = {
    "drop": ([{"drop": True, **GET}], _workflows_listed, 2),
    # Let through, but answered after the read timeout.
    "read-timeout": ([{"status": None, "latency": 1.0, **GET}], _listed_despite_a_read_timeout, 2),
    # A PUT is idempotent: retried even after a drop that followed the update.
    "drop-put": ([{"drop": True, "method": "PUT", "act": True}], _record_updated, 3),
    # The real server's Retry-After reaches the rules, on every backend.
    "retry-after": ([{"status": 503, "retry_after": "1", **GET}], _workflows_listed, 2),
}


@pytest.mark.parametrize(("script", "call", "requests_seen"), RETRIED.values(), ids=RETRIED.keys())
async def test_idempotent_calls_are_retried_until_they_succeed(
    sandbox: Any,
    cflow: CflowClient,
    sleeps: RecordingAsyncio,
    script: list[dict[str, Any]],
    call: Callable[[CflowClient], Awaitable[bool]],
    requests_seen: int,
) -> None:
    _script(sandbox, *script)
    assert await call(cflow)
    stats = sandbox.stats()
    assert stats["requests_seen"] == requests_seen
    assert stats["faults_by_status"] == Counter(str(f["status"]) for f in script if f.get("status"))
    assert stats["faults_injected"]["drop"] == sum("drop" in f for f in script)
    waits = [float(f["retry_after"]) for f in script if "retry_after" in f]
    if not waits:  # FAST_RETRY's backoffs only
        assert all(delay <= FAST_RETRY.max_backoff for delay in sleeps.delays)
    else:  # FAST_RETRY alone would wait milliseconds
        assert sleeps.delays == waits


# --- unknown outcomes of writes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error_type", "stored"),
    [
        # httpx-aiohttp reports a drop as httpx.ConnectTimeout ("never sent"): not believed.
        ({"drop": True, "act": True}, CflowConnectionError, {1}),
        ({"drop": True}, CflowConnectionError, {0}),
        # Let through, but answered after the read timeout.
        ({"status": None, "latency": 1.0}, CflowTimeoutError, {0, 1}),
    ],
    ids=["drop-acted", "drop-not-acted", "read-timeout"],
)
async def test_lost_submit_is_not_retried_and_its_outcome_is_unknown(
    sandbox: Any,
    cflow: CflowClient,
    fault: dict[str, Any],
    error_type: type[CflowError],
    stored: set[int],
) -> None:
    marker = _marker()
    _script(sandbox, {**fault, "method": "POST", "path_contains": "submitrecord"})
    async with cflow.with_options(timeout=SHORT_READ) as short_read:
        with pytest.raises(error_type) as info:
            await short_read.submit_record("Test", {"Name": marker})
    error = info.value
    assert error.outcome_unknown is True
    assert UNKNOWN_HINT in str(error)
    assert error.attempts == 1
    await asyncio.sleep(fault.get("latency", 0))  # let a slow request finish on the server
    stats = sandbox.stats()
    assert stats["requests_seen"] == 1
    faults = stats["faults_injected"]
    assert faults["drop"] == faults["total"] == fault.get("drop", 0)
    assert len(_records_with(sandbox, marker)) in stored
    assert await cflow.submit_record("Test", {"Name": _marker()})  # the client is fine after


# --- connection refused ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "get_error", "post_attempts", "post_unknown"),
    [
        # Refused means never sent: reads and writes alike are retried...
        ("aiohttp", CflowConnectionError, 3, False),
        ("httpx", CflowConnectionError, 3, False),
        # ...but httpx-aiohttp reports a refused connection as httpx.ConnectTimeout, which
        # cannot be told from a drop: writes are not retried.
        ("httpx-aiohttp", CflowTimeoutError, 1, True),
    ],
    ids=KINDS,
)
async def test_connection_refused(
    kind: str,
    get_error: type[CflowConnectionError],
    post_attempts: int,
    post_unknown: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with _client(kind, f"http://127.0.0.1:{free_port()}", SOMEONE) as cflow:
        with (
            caplog.at_level(logging.INFO, logger="cflow_async"),
            pytest.raises(CflowConnectionError) as got,
        ):
            await cflow.get_workflows()
        retry_lines = [
            r.getMessage()
            for r in caplog.records
            if r.name == "cflow_async" and r.getMessage().startswith("Retrying")
        ]
        with pytest.raises(CflowConnectionError) as submitted:
            await cflow.submit_record("Test", {"Name": "x"})

    assert type(got.value) is get_error
    assert got.value.attempts == 3
    assert got.value.outcome_unknown is False
    assert len(retry_lines) == 2  # one line per retry, without secrets or query strings
    for line in retry_lines:
        assert "GET /integromat/api/cflow/getworkflows" in line
        assert "someone" not in line
        assert "?" not in line
    assert submitted.value.attempts == post_attempts
    assert submitted.value.outcome_unknown is post_unknown


# --- a pool timeout: the request never left --------------------------------------------------


async def test_a_write_waiting_for_the_pool_is_never_sent(sandbox: Any, backend: str) -> None:
    # One connection, held by a slow read; the write can only wait for it.
    _script(sandbox, {"status": None, "latency": 2.5, "path_contains": "getprocess"})
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


# --- with_options, cancellation and connection leaks -------------------------------------------


async def test_closing_a_with_options_copy_keeps_the_pool(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    await sandbox_client.get_workflows()
    copy = sandbox_client.with_options(timeout=7, retry=RetryPolicy(max_retries=0))
    await copy.get_workflows()
    open_before = _sockets(sandbox)
    assert open_before >= 1
    await copy.aclose()
    await asyncio.sleep(0.05)
    assert _sockets(sandbox) == open_before
    assert await sandbox_client.get_workflows()


async def test_cancelled_calls_leave_the_client_usable_and_leak_nothing(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    assert await sandbox_client.get_workflows()  # the pool is warm: cancels hit mid-flight
    _script(sandbox, *[{"status": None, "latency": 1.0}] * 4)

    for number in range(1, 4):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(sandbox_client.get_workflows(), 0.3)
        assert sandbox.stats()["requests_seen"] == 1 + number

    marker = _marker()
    task = asyncio.create_task(sandbox_client.submit_record("Test", {"Name": marker}))
    assert await eventually(lambda: sandbox.stats()["requests_seen"] == 5)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Cancelled calls, the write too, were not retried behind our back.
    await asyncio.sleep(0.1)
    assert sandbox.stats()["requests_seen"] == 5
    assert sandbox.stats()["script_remaining"] == 0

    # Usable: the next calls succeed, reads and writes alike.
    assert await sandbox_client.get_workflows()
    assert await sandbox_client.submit_record("Test", {"Name": _marker()})

    # The four cancelled exchanges did not leave their connections open on either side.
    assert await eventually(lambda: _sockets(sandbox) <= 2), _sockets(sandbox)
    assert await eventually(lambda: _sockets(sandbox, "server") <= 2)

    await sandbox_client.aclose()
    assert await eventually(lambda: _sockets(sandbox) == 0)
    assert await eventually(lambda: _sockets(sandbox, "server") == 0)
    assert len(_records_with(sandbox, marker)) <= 1


# --- raw servers: no secrets in messages, every failure is a CflowError ------------------------

MALFORMED_STATUS_LINE = b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}"
CORRUPT_GZIP = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    b"Content-Length: 9\r\n\r\nnotgzip!!"
)


def raw_server(answer: bytes) -> Loopback:
    """A loopback server answering every request with the same raw bytes."""
    return Loopback(lambda seen: Reply(raw=answer))


async def test_malformed_response_error_shows_no_query_string(
    backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    creds = {"api_key": "api-key-XYZ", "user_key": "user-key-XYZ"}
    async with (
        raw_server(MALFORMED_STATUS_LINE) as server,
        _client(backend, server.url, {**creds, "username": "secret-user@example.com"}) as cflow,
    ):
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


async def test_undecodable_body_is_a_cflow_error(backend: str) -> None:
    async with raw_server(CORRUPT_GZIP) as server, _client(backend, server.url, SOMEONE) as cflow:
        with pytest.raises(CflowError):
            await cflow.get_workflows()
        before = len(server.seen)
        with pytest.raises(CflowError) as info:
            await cflow.submit_record("Test", {"Name": "x"})
        # The server answered 2xx to the write: it must not be sent again.
        assert len(server.seen) == before + 1
        assert info.value.attempts == 1
