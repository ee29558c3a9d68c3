"""Retries, unknown outcomes, timeouts and cancellation against the sandbox over real loopback
sockets, on both HTTP backends and, where it behaves differently, on an injected httpx client
with httpx-aiohttp's transport (issue "Resilience").

Faults are one-shot ``script`` entries, so each test knows exactly which request fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from cflow_openapi.api.requests import create_request
from cflow_openapi.api.users import list_users
from cflow_openapi.models import RequestCreate, RequestCreateFields
from conftest import FAST_RETRY, RecordingAsyncio, free_port
from servers import Loopback, Reply, make_client
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
#: The two backends, and an injected httpx.AsyncClient on httpx-aiohttp's transport.
KINDS = ["aiohttp", "httpx", "httpx-aiohttp"]
SOMEONE = {"api_key": "k", "user_key": "u", "username": "someone@example.com"}
SHORT_READ = httpx.Timeout(5.0, read=0.25)
GET = {"method": "GET"}
SLOW_GET = {"status": None, **GET}  # let through, ``latency`` seconds late


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


async def _generated_users_listed(c: CflowClient) -> bool:
    response = await list_users.asyncio_detailed(client=c.openapi)
    return response.status_code == 200 and bool(response.parsed)


async def _process_read(c: CflowClient) -> bool:
    return bool(await c.get_process("Test"))


async def _listed_despite_a_read_timeout(c: CflowClient) -> bool:
    async with c.with_options(timeout=SHORT_READ) as short_read:
        return await _workflows_listed(short_read)


async def _record_updated(c: CflowClient) -> bool:
    created = await c.requests.create("Test", {"Name": _marker()})
    updated = await c.requests.update("Test", created.id, {"Note": "x"})
    return bool(updated.fields["Note"] == "x")


# The scripted faults, the call, the requests the sandbox sees, the backoffs waited (None:
# FAST_RETRY's own).
RETRIED = {
    "503": ([{"status": 503, **GET}], _workflows_listed, 2, None),
    "generated": ([{"status": 503}, {"status": 502}], _generated_users_listed, 3, None),
    "drop": ([{"drop": True, **GET}], _process_read, 2, None),
    "drop-list": ([{"drop": True, **GET}], _workflows_listed, 2, None),
    "read-timeout": ([{**SLOW_GET, "latency": 1.0}], _listed_despite_a_read_timeout, 2, None),
    # A PUT is idempotent: retried even after a drop that followed the update.
    "drop-put": ([{"drop": True, "method": "PUT", "act": True}], _record_updated, 3, None),
    # Retry-After is waited for: FAST_RETRY alone would wait milliseconds.
    "retry-after": ([{"status": 503, "retry_after": "1", **GET}], _workflows_listed, 2, [1.0]),
    "ms": ([{"status": 429, "retry_after_ms": 300, **GET}], _workflows_listed, 2, [0.3]),
}


@pytest.mark.parametrize(
    ("script", "call", "requests_seen", "delays"), RETRIED.values(), ids=RETRIED.keys()
)
async def test_idempotent_calls_are_retried_until_they_succeed(
    sandbox: Any,
    cflow: CflowClient,
    sleeps: RecordingAsyncio,
    script: list[dict[str, Any]],
    call: Callable[[CflowClient], Awaitable[bool]],
    requests_seen: int,
    delays: list[float] | None,
) -> None:
    _script(sandbox, *script)
    assert await call(cflow)
    stats = sandbox.stats()
    assert stats["requests_seen"] == requests_seen
    assert stats["faults_by_status"] == Counter(str(f["status"]) for f in script if f.get("status"))
    assert stats["faults_injected"]["drop"] == sum("drop" in f for f in script)
    if delays is None:  # FAST_RETRY's backoffs only
        assert all(delay <= FAST_RETRY.max_backoff for delay in sleeps.delays)
    else:
        assert sleeps.delays == delays


async def test_retry_after_http_date_is_honoured(
    sandbox: Any, sandbox_client: CflowClient, sleeps: RecordingAsyncio
) -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    _script(sandbox, {"status": 503, "retry_after": when, "method": "GET"})
    assert await sandbox_client.get_workflows()
    (delay,) = sleeps.delays
    assert 15 <= delay <= 21
    assert sandbox.stats()["requests_seen"] == 2


async def test_post_429_with_retry_after_is_retried_and_stored_once(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    marker = _marker()
    _script(sandbox, {"status": 429, "retry_after": "0", "method": "POST"})
    record_id = await sandbox_client.submit_record("Test", {"Name": marker})
    (record,) = _records_with(sandbox, marker)
    assert record["Record_Id"] == record_id
    assert sandbox.stats()["requests_seen"] == 2


# --- unknown outcomes of writes ----------------------------------------------------------------


@pytest.mark.parametrize("act", [True, False], ids=["acted", "not-acted"])
@pytest.mark.parametrize(
    ("fault", "error_type", "status_code"),
    [
        ({"status": 500}, ServerError, 500),
        # httpx-aiohttp reports this drop as httpx.ConnectTimeout ("never sent"): not believed.
        ({"drop": True}, CflowConnectionError, None),
    ],
    ids=["500", "drop"],
)
async def test_failed_submit_is_not_retried_and_its_outcome_is_unknown(
    sandbox: Any,
    cflow: CflowClient,
    fault: dict[str, Any],
    error_type: type[CflowError],
    status_code: int | None,
    act: bool,
) -> None:
    marker = _marker()
    _script(sandbox, {**fault, "act": act, "method": "POST", "path_contains": "submitrecord"})
    with pytest.raises(error_type) as info:
        await cflow.submit_record("Test", {"Name": marker})
    error = info.value
    assert getattr(error, "status_code", None) == status_code
    assert error.outcome_unknown is True
    assert UNKNOWN_HINT in str(error)
    assert error.attempts == 1
    stats = sandbox.stats()
    assert stats["requests_seen"] == 1
    assert stats["faults_injected"]["total"] == 1
    assert stats["faults_injected"]["drop"] == (1 if "drop" in fault else 0)
    assert len(_records_with(sandbox, marker)) == (1 if act else 0)
    # The client is fine afterwards.
    assert await cflow.submit_record("Test", {"Name": _marker()})


def _generated_create(c: CflowClient, record_id: str) -> Awaitable[Any]:
    body = RequestCreate(fields=RequestCreateFields.from_dict({"Name": "n"}))
    return create_request.asyncio_detailed("Test", client=c.openapi, body=body)


@pytest.mark.parametrize(
    ("path", "call"),
    [
        ("updaterecord", lambda c, rid: c.update_record("Test", "27406", rid, {"Note": "n"})),
        ("/requests", lambda c, rid: c.requests.create("Test", {"Name": "n"})),
        ("/drafts", lambda c, rid: c.requests.create_draft("Test", {"Name": "n"})),
        ("/approve", lambda c, rid: c.requests.approve("Test", rid)),
        ("/reject", lambda c, rid: c.requests.reject("Test", rid)),
        ("/requests", _generated_create),
    ],
    ids=["updaterecord", "requests.create", "create_draft", "approve", "reject", "generated"],
)
@pytest.mark.parametrize(
    ("fault", "error_type"),
    [
        ({"status": 502}, ServerError),
        ({"status": 503}, ServerError),
        ({"drop": True}, CflowConnectionError),
    ],
    ids=["502", "503", "drop"],
)
async def test_other_writes_are_not_retried_on_ambiguous_failures(
    sandbox: Any,
    sandbox_client: CflowClient,
    path: str,
    call: Callable[[CflowClient, str], Awaitable[Any]],
    fault: dict[str, Any],
    error_type: type[CflowError],
) -> None:
    # A submitted record is also a request of its workflow: approve and reject act on it.
    record_id = await sandbox_client.submit_record("Test", {"Name": _marker()})
    before = sandbox.stats()
    _script(sandbox, {**fault, "method": "POST", "path_contains": path})
    with pytest.raises(error_type) as info:
        await call(sandbox_client, record_id)
    assert info.value.outcome_unknown is True
    assert info.value.attempts == 1
    stats = sandbox.stats()
    assert stats["requests_seen"] == before["requests_seen"] + 1
    assert stats["requests_created"] == before["requests_created"]


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
        with pytest.raises(CflowConnectionError) as generated:
            await cflow.requests.create("Test", {"Name": "x"})

    assert type(got.value) is get_error
    assert got.value.attempts == 3
    assert got.value.outcome_unknown is False
    assert UNKNOWN_HINT not in str(got.value)
    assert len(retry_lines) == 2  # one line per retry, without secrets or query strings
    for line in retry_lines:
        assert "GET /integromat/api/cflow/getworkflows" in line
        assert "someone" not in line
        assert "?" not in line
    for error in (submitted.value, generated.value):
        assert error.attempts == post_attempts
        assert error.outcome_unknown is post_unknown


# --- reads that keep failing, read timeouts, deadlines ------------------------------------------

DEADLINE = RetryPolicy(initial_backoff=0.001, max_backoff=0.005, deadline=0.3)


@pytest.mark.parametrize(
    ("script", "options", "error_type", "attempts", "match"),
    [
        # A Retry-After above the cap is not waited for at all.
        ([{"status": 429, "retry_after": "3600", **GET}], {}, RateLimitError, 1, None),
        ([{"status": 503, "retry_after": "3600", **GET}], {}, ServerError, 1, None),
        # Read timeouts are retried, then reported as timeouts.
        ([{**SLOW_GET, "latency": 0.8}] * 3, {"timeout": SHORT_READ}, CflowTimeoutError, 3, None),
        # Not a clock reading: without the deadline the call would succeed after 1.5 s.
        ([{**SLOW_GET, "latency": 1.5}], {"retry": DEADLINE}, CflowTimeoutError, 1, "deadline"),
    ],
    ids=["retry-after-above-cap-429", "retry-after-above-cap-503", "read-timeouts", "deadline"],
)
async def test_a_read_that_keeps_failing_raises(
    sandbox: Any,
    sandbox_client: CflowClient,
    sleeps: RecordingAsyncio,
    script: list[dict[str, Any]],
    options: dict[str, Any],
    error_type: type[CflowError],
    attempts: int,
    match: str | None,
) -> None:
    _script(sandbox, *script)
    cflow = sandbox_client.with_options(**options)
    with pytest.raises(error_type, match=match) as info:
        await cflow.get_workflows()
    await cflow.aclose()
    assert type(info.value) is error_type
    assert info.value.attempts == attempts
    assert not info.value.outcome_unknown
    assert len(sleeps.delays) == attempts - 1
    assert sandbox.stats()["requests_seen"] == attempts
    if isinstance(info.value, RateLimitError):
        assert info.value.retry_after == 3600


async def test_read_timeout_on_post_is_not_retried(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    cflow = sandbox_client.with_options(timeout=SHORT_READ)
    marker = _marker()
    _script(sandbox, {**SLOW_GET, "latency": 1.0, "method": "POST"})
    with pytest.raises(CflowTimeoutError) as info:
        await cflow.submit_record("Test", {"Name": marker})
    error = info.value
    assert error.outcome_unknown is True
    assert UNKNOWN_HINT in str(error)
    assert error.attempts == 1
    assert sandbox.stats()["requests_seen"] == 1
    await asyncio.sleep(1.0)  # let the slow request finish on the server
    assert len(_records_with(sandbox, marker)) <= 1
    assert sandbox.stats()["requests_seen"] == 1
    await cflow.aclose()


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
    await sandbox_client.aclose()
    assert await eventually(lambda: _sockets(sandbox) == 0)


async def test_cancelled_calls_leave_the_client_usable_and_leak_nothing(
    sandbox: Any, sandbox_client: CflowClient
) -> None:
    assert await sandbox_client.get_workflows()  # the pool is warm: cancels hit mid-flight
    slow = {"status": None, "latency": 1.0, "method": "GET"}
    _script(sandbox, *[slow] * 4)

    for number in range(1, 4):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(sandbox_client.get_workflows(), 0.3)
        assert sandbox.stats()["requests_seen"] == 1 + number

    task = asyncio.create_task(sandbox_client.get_process("Test"))
    assert await eventually(lambda: sandbox.stats()["requests_seen"] == 5)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Cancelled calls were not retried behind our back.
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


async def test_cancelled_write_is_not_retried(sandbox: Any, sandbox_client: CflowClient) -> None:
    assert await sandbox_client.get_workflows()
    marker = _marker()
    _script(sandbox, {"status": None, "latency": 0.6, "method": "POST"})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sandbox_client.submit_record("Test", {"Name": marker}), 0.3)
    await asyncio.sleep(0.6)
    assert sandbox.stats()["requests_seen"] == 2
    assert len(_records_with(sandbox, marker)) <= 1


async def test_aclose_leaves_no_connection_open(sandbox: Any, backend: str) -> None:
    creds = {"api_key": sandbox.api_key, "user_key": sandbox.user_key, "username": sandbox.username}
    async with _client(backend, sandbox.url, creds) as cflow:
        await asyncio.gather(*(cflow.get_workflows() for _ in range(20)))
        assert _sockets(sandbox) >= 1
    assert await eventually(lambda: _sockets(sandbox) == 0)


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
