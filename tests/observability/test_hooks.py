"""Hooks (issue 12, part 2): every attempt reported, through both doors, with no
credentials or query in any event, and a failing hook never changing a call's outcome."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from cflow_openapi.api.users import list_users
from conftest import API_KEY, CREDS, FAST_RETRY, USER_KEY, USERNAME
from endpoints import select
from pytest_httpx import HTTPXMock

import cflow_async._transport as transport_module
from cflow_async import (
    CallEndEvent,
    CflowClient,
    CflowConnectionError,
    CflowError,
    CflowTimeoutError,
    ErrorEvent,
    InvalidArgumentError,
    NotFoundError,
    RequestEvent,
    ResponseEvent,
    RetryPolicy,
    ServerError,
)
from cflow_async._operations import OPERATIONS, match_operation

WORKFLOWS = {"Workflows": [{"WorkflowName": "Test", "WorkflowDisplayName": "Test"}]}
GETWORKFLOWS = "/integromat/api/cflow/getworkflows"


class Recorder:
    """Records every event; async on two methods, plain on the others, as users mix them."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def record(self, event: Any) -> None:
        self.events.append(event)

    async def record_async(self, event: Any) -> None:
        self.events.append(event)

    on_request = on_retry = record_async
    on_response = on_error = on_call_end = record

    def kinds(self) -> str:
        """Each event's kind and attempt: "Request1 Response1 CallEnd1"."""
        return " ".join(f"{type(e).__name__.removesuffix('Event')}{e.attempt}" for e in self.events)


def make_client(*hooks: object, **options: Any) -> CflowClient:
    return CflowClient(**CREDS, http_backend="httpx", retry=FAST_RETRY, hooks=hooks, **options)


def assert_no_secrets(events: list[Any]) -> None:
    text = "\n".join(repr(e) for e in events)
    for secret in (API_KEY, USER_KEY, USERNAME, "tester%40example.com"):
        assert secret not in text


async def test_a_retried_503_reports_every_attempt(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=503)
    httpx_mock.add_response(json=WORKFLOWS)
    recorder = Recorder()
    async with make_client(recorder) as cflow:
        await cflow.get_workflows()
    assert recorder.kinds() == "Request1 Response1 Retry1 Request2 Response2 CallEnd2"
    first, response, retry, *_, end = recorder.events
    assert {e.call_id for e in recorder.events} == {first.call_id}
    assert (first.operation, first.method) == ("get_workflows", "GET")
    assert first.template == first.path == GETWORKFLOWS
    # The query's keys stay, its values (the username among them) do not.
    assert first.url == f"https://us.cflowapps.com{GETWORKFLOWS}?username=REDACTED"
    assert response.status == 503
    assert response.elapsed >= 0
    assert (retry.status, retry.error_type) == (503, None)
    assert retry.delay > 0
    assert (end.status, end.error_type, end.outcome_unknown) == (200, None, False)
    assert_no_secrets(recorder.events)


async def test_an_unknown_outcome_post_is_on_the_error_event(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=503)
    recorder = Recorder()
    async with make_client(recorder) as cflow:
        with pytest.raises(ServerError):
            await cflow.submit_record("Test", {"Name": "x"})
    assert recorder.kinds() == "Request1 Response1 Error1 CallEnd1"
    error, end = recorder.events[2:]
    assert (error.error_type, error.status, error.outcome_unknown) == ("ServerError", 503, True)
    assert (end.error_type, end.outcome_unknown) == ("ServerError", True)
    assert_no_secrets(recorder.events)


async def test_connection_failures_are_retried_and_reported(httpx_mock: HTTPXMock) -> None:
    for _ in range(3):
        httpx_mock.add_exception(httpx.ConnectError("connection refused"))
    recorder = Recorder()
    async with make_client(recorder) as cflow:
        with pytest.raises(CflowConnectionError):
            await cflow.get_workflows()
    assert recorder.kinds() == "Request1 Retry1 Request2 Retry2 Request3 Error3 CallEnd3"
    retry = recorder.events[1]
    assert (retry.status, retry.error_type) == (None, "CflowConnectionError")
    error = recorder.events[-2]
    assert (error.status, error.outcome_unknown) == (None, False)


async def test_generated_layer_and_namespaces_are_named_from_the_spec(
    httpx_mock: HTTPXMock,
) -> None:
    httpx_mock.add_response(json=[])
    httpx_mock.add_response(json=[])
    recorder = Recorder()
    async with make_client(recorder) as cflow:
        await list_users.asyncio(client=cflow.openapi)
        await cflow.requests.list("wf/1")
    first, second = (e for e in recorder.events if isinstance(e, RequestEvent))
    # Named alike through both doors: the facade's name for the operation.
    assert (first.operation, first.template) == ("users.list", "/integromat/api/cflow/users")
    assert (second.operation, second.template) == (
        "requests.list",
        "/integromat/api/cflow/workflows/{workflowId}/requests",
    )
    assert second.path == "/integromat/api/cflow/workflows/wf%2F1/requests"
    assert_no_secrets(recorder.events)


async def test_a_hook_that_raises_is_logged_once_and_changes_nothing(
    httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def on_request(self, event: RequestEvent) -> None:
            raise RuntimeError("hook bug")

        async def on_call_end(self, event: CallEndEvent) -> None:
            raise RuntimeError("async hook bug")

    httpx_mock.add_response(json=WORKFLOWS)
    httpx_mock.add_response(json=WORKFLOWS)
    caplog.set_level(logging.WARNING, logger="cflow_async")
    async with make_client(Broken()) as cflow:
        assert [w.name for w in await cflow.get_workflows()] == ["Test"]
        assert [w.name for w in await cflow.get_workflows()] == ["Test"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one per failing hook method, not one per call
    named = sorted(str(r.args[0]).rsplit(".", 1)[-1] for r in warnings)  # type: ignore[index]
    assert named == ["on_call_end", "on_request"]


async def test_a_hook_error_does_not_hide_the_calls_error(httpx_mock: HTTPXMock) -> None:
    class Broken:
        def on_error(self, event: ErrorEvent) -> None:
            raise RuntimeError("hook bug")

    httpx_mock.add_response(status_code=404, json={"error": "no"})
    async with make_client(Broken()) as cflow:
        with pytest.raises(NotFoundError):
            await cflow.get_workflows()


async def test_with_options_copies_share_the_hooks(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=WORKFLOWS)
    recorder = Recorder()
    async with make_client(recorder) as cflow:
        await cflow.with_options(timeout=3).get_workflows()
    assert [type(e) for e in recorder.events] == [RequestEvent, ResponseEvent, CallEndEvent]


async def test_hooks_add_headers_but_never_credentials(httpx_mock: HTTPXMock) -> None:
    class Propagator:
        def on_request(self, event: RequestEvent) -> None:
            event.headers["traceparent"] = f"00-{event.attempt:032x}-{1:016x}-01"
            event.headers["apikey"] = "stolen"
            event.headers["x-evil"] = "a\r\nb: c"
            # Headers the client manages (framing, encoding) and names that are no names.
            event.headers["content-length"] = "0"
            event.headers["transfer-encoding"] = "chunked"
            event.headers["x-bad\r\nx-injected"] = "1"

    httpx_mock.add_response(status_code=503)
    httpx_mock.add_response(json=WORKFLOWS)
    async with make_client(Propagator()) as cflow:
        await cflow.get_workflows()
        # The client's shared header set is untouched by per-attempt additions.
        assert "traceparent" not in cflow._transport.get_headers
    first, second = httpx_mock.get_requests()
    assert first.headers["traceparent"].startswith("00-" + "0" * 31 + "1")
    assert second.headers["traceparent"].startswith("00-" + "0" * 31 + "2")
    for request in (first, second):
        assert request.headers["apikey"] == API_KEY
        assert "x-evil" not in request.headers
        assert "transfer-encoding" not in request.headers
        assert "x-injected" not in request.headers


def test_hooks_are_checked_when_the_client_is_built() -> None:
    with pytest.raises(InvalidArgumentError, match="none of"):
        make_client(object())
    with pytest.raises(InvalidArgumentError, match="list"):
        CflowClient(**CREDS, hooks="on_request")  # type: ignore[arg-type]


async def test_without_hooks_no_observer_is_built(
    httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The no-hooks path must build no events: make building an observer fail loudly.
    def refuse(*args: Any) -> None:
        raise AssertionError("observer built without hooks")

    monkeypatch.setattr(transport_module, "CallObserver", refuse)
    monkeypatch.setattr(logging.getLogger("cflow_async"), "level", logging.INFO)
    httpx_mock.add_response(json=WORKFLOWS)
    httpx_mock.add_response(json=[])
    async with CflowClient(**CREDS, http_backend="httpx") as cflow:
        await cflow.get_workflows()
        await list_users.asyncio(client=cflow.openapi)


def test_the_operations_table_is_the_facades() -> None:
    # The generated door must name an operation as the facade's namespace method does.
    facade = {(ep.name, ep.method, ep.path) for ep in select(kind="openapi")}
    assert set(OPERATIONS) == facade


def test_operation_matching_keeps_ids_out_of_templates() -> None:
    assert match_operation("GET", "/integromat/api/cflow/workflows/a%2Fb/requests/7") == (
        "requests.get",
        "/integromat/api/cflow/workflows/{workflowId}/requests/{requestId}",
    )
    assert match_operation("PATCH", "/integromat/api/cflow/workflows/a/requests/7") is None
    assert match_operation("GET", "/integromat/api/cflow/workflows/a/b/requests") is None


async def test_a_deadline_and_a_cancellation_end_the_call(httpx_mock: HTTPXMock) -> None:
    async def never_answers(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    httpx_mock.add_callback(never_answers, is_reusable=True)
    recorder = Recorder()
    policy = RetryPolicy(deadline=0.05)
    async with make_client(recorder) as cflow:
        with pytest.raises(CflowTimeoutError):
            await cflow.with_options(retry=policy).get_workflows()
        assert recorder.kinds().endswith(" Error1 CallEnd1")
        assert recorder.events[-1].error_type == "CflowTimeoutError"
        recorder.events.clear()
        task = asyncio.create_task(cflow.get_workflows())
        while not recorder.events:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    # A cancelled call is no CflowError: no on_error, but on_call_end says so.
    assert recorder.kinds() == "Request1 CallEnd1"
    assert recorder.events[-1].error_type == "CancelledError"


async def test_closing_while_a_hook_runs_opens_no_new_session() -> None:
    # aiohttp backend: the pool is created on first use, so a late first use after
    # aclose() would leave a session nobody closes.
    cflow: CflowClient

    class Closer:
        async def on_request(self, event: RequestEvent) -> None:
            await cflow.aclose()

    cflow = CflowClient(
        **CREDS, base_url="http://127.0.0.1:9", http_backend="aiohttp", hooks=[Closer()]
    )
    with pytest.raises(CflowError, match="closed") as info:
        await cflow.get_workflows()
    assert info.value.attempts <= 1
    assert cflow._transport.inner._session is None  # type: ignore[attr-defined]
