"""Hooks (issue 12, part 2): every attempt reported, through both doors, with no
credentials or query in any event, and a failing hook never changing a call's outcome."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from cflow_openapi.api.users import list_users
from conftest import API_KEY, CREDS, FAST_RETRY, USER_KEY, USERNAME
from endpoints import select
from pytest_httpx import HTTPXMock

import cflow_async._transport as transport_module
from cflow_async import (
    CallEndEvent,
    CflowClient,
    CflowError,
    ErrorEvent,
    InvalidArgumentError,
    RequestEvent,
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


async def test_events_through_every_door_and_a_failing_hook_changes_no_outcome(
    httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def on_request(self, event: RequestEvent) -> None:
            raise RuntimeError("hook bug")

        def on_error(self, event: ErrorEvent) -> None:
            raise RuntimeError("hook bug")

        async def on_call_end(self, event: CallEndEvent) -> None:
            raise RuntimeError("async hook bug")

    for body in (WORKFLOWS, [], []):
        httpx_mock.add_response(json=body)
    httpx_mock.add_response(status_code=503)
    caplog.set_level(logging.WARNING, logger="cflow_async")
    recorder = Recorder()
    async with make_client(Broken(), recorder) as cflow:
        assert [w.name for w in await cflow.get_workflows()] == ["Test"]
        assert await list_users.asyncio(client=cflow.openapi) == []
        assert await cflow.requests.list("wf/1") == []
        earlier = list(recorder.events)
        recorder.events.clear()
        # The hook's error does not hide the call's, and the other hooks still hear of it.
        with pytest.raises(ServerError):
            await cflow.submit_record("Test", {"Name": "x"})
    _, first, second = (e for e in earlier if isinstance(e, RequestEvent))
    # Named alike through both doors: the facade's name for the operation.
    assert (first.operation, first.template) == ("users.list", "/integromat/api/cflow/users")
    assert (second.operation, second.template) == (
        "requests.list",
        "/integromat/api/cflow/workflows/{workflowId}/requests",
    )
    assert second.path == "/integromat/api/cflow/workflows/wf%2F1/requests"
    assert_no_secrets(earlier)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3  # one per failing hook method, not one per call
    named = sorted(str(r.args[0]).rsplit(".", 1)[-1] for r in warnings)  # type: ignore[index]
    assert named == ["on_call_end", "on_error", "on_request"]
    # A POST answered 503 is not retried, and its outcome is unknown.
    assert recorder.kinds() == "Request1 Response1 Error1 CallEnd1"
    error, end = recorder.events[2:]
    assert (error.error_type, error.status, error.outcome_unknown) == ("ServerError", 503, True)
    assert (end.error_type, end.outcome_unknown) == ("ServerError", True)
    assert_no_secrets(recorder.events)


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

    httpx_mock.add_response(json=WORKFLOWS)
    async with make_client(Propagator()) as cflow:
        await cflow.get_workflows()
        # The client's shared header set is untouched by per-attempt additions.
        assert "traceparent" not in cflow._transport.get_headers
    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["traceparent"].startswith("00-" + "0" * 31 + "1")
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


def test_the_operations_table_is_the_facades_and_keeps_ids_out_of_templates() -> None:
    # The generated door must name an operation as the facade's namespace method does.
    facade = {(ep.name, ep.method, ep.path) for ep in select(kind="openapi")}
    assert set(OPERATIONS) == facade
    assert match_operation("GET", "/integromat/api/cflow/workflows/a%2Fb/requests/7") == (
        "requests.get",
        "/integromat/api/cflow/workflows/{workflowId}/requests/{requestId}",
    )
    assert match_operation("PATCH", "/integromat/api/cflow/workflows/a/requests/7") is None
    assert match_operation("GET", "/integromat/api/cflow/workflows/a/b/requests") is None


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
