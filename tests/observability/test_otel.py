"""OpenTelemetry (issue 12, part 3), with the SDK's in-memory exporter and metric reader,
against the sandbox over loopback: a retried 503, a POST whose outcome is unknown and a
refused connection, each on both backends with exact attributes (so the backends trace
alike), propagation, and no credential anywhere in a span, attribute, event or metric point.
A Recorder hook rides along on every client, so the hook events behind each scenario are
checked (and scanned) too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from conftest import API_KEY, CREDS, FAST_RETRY, USER_KEY, USERNAME, free_port
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pytest_httpx import HTTPXMock
from test_hooks import Recorder

from cflow_async import CflowClient, CflowConnectionError, CflowTimeoutError, RetryPolicy
from cflow_async.otel import OpenTelemetryHooks
from cflow_async.sandbox import run_sandbox
from cflow_async.sandbox.state import SandboxConfig

GETWORKFLOWS = "/integromat/api/cflow/getworkflows"
SUBMIT = "/integromat/api/cflow/submitrecord"
SECRETS = (API_KEY, USER_KEY, USERNAME, "tester%40example.com")


class Telemetry:
    """In-memory providers, and clients whose calls they trace."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.recorder = Recorder()

    def hooks(self, **options: Any) -> OpenTelemetryHooks:
        return OpenTelemetryHooks(self.tracer_provider, self.meter_provider, **options)

    def client(self, url: str | None = None, backend: str = "httpx", **options: Any) -> CflowClient:
        options.setdefault("hooks", [self.hooks(), self.recorder])
        return CflowClient(**CREDS, base_url=url, http_backend=backend, **options)  # type: ignore[arg-type]

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def by_kind(self, kind: SpanKind) -> list[ReadableSpan]:
        return sorted(
            (s for s in self.finished() if s.kind is kind), key=lambda s: s.start_time or 0
        )

    def duration_points(self) -> list[Any]:
        data = self.reader.get_metrics_data()
        assert data is not None
        points = []
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    assert metric.name == "http.client.request.duration"
                    assert metric.unit == "s"
                    points.extend(metric.data.data_points)
        return points

    def assert_no_credentials(self) -> None:
        # Every span (attributes, events, status, links), every metric point, as JSON, and
        # every hook event.
        text = "\n".join(span.to_json() for span in self.finished())
        text += "\n".join(repr(e) for e in self.recorder.events)
        data = self.reader.get_metrics_data()
        assert data is not None
        text += data.to_json()
        for secret in SECRETS:
            assert secret not in text


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    yield t
    t.assert_no_credentials()
    t.tracer_provider.shutdown()
    t.meter_provider.shutdown()


@pytest.fixture
async def sandbox() -> AsyncIterator[Any]:
    # The suite's distinctive credentials, so the leak scan can look for them.
    config = SandboxConfig(api_key=API_KEY, user_key=USER_KEY, username=USERNAME)
    async with run_sandbox(config) as sb:
        yield sb


async def test_a_retried_503(sandbox: Any, backend: str, telemetry: Telemetry) -> None:
    sandbox.set_faults({"script": [{"status": 503, "path_contains": "getworkflows"}]})
    async with telemetry.client(sandbox.url, backend, retry=FAST_RETRY) as cflow:
        assert len(await cflow.get_workflows()) == 4
    (call,) = telemetry.by_kind(SpanKind.INTERNAL)
    first, second = telemetry.by_kind(SpanKind.CLIENT)
    assert call.name == "cflow get_workflows"
    assert call.attributes is not None
    assert call.attributes["cflow.attempts"] == 2
    assert call.attributes["cflow.outcome_unknown"] is False
    assert call.status.status_code is StatusCode.UNSET
    common = {
        "http.request.method": "GET",
        "server.address": httpx.URL(sandbox.url).host,
        "server.port": httpx.URL(sandbox.url).port,
        "url.template": GETWORKFLOWS,
        "url.full": f"{sandbox.url}{GETWORKFLOWS}?username=REDACTED",
    }
    failed = {"http.response.status_code": 503, "error.type": "503"}
    assert first.name == second.name == f"GET {GETWORKFLOWS}"
    assert dict(first.attributes or {}) == {**common, **failed}
    assert first.status.status_code is StatusCode.ERROR
    assert dict(second.attributes or {}) == {
        **common,
        "http.response.status_code": 200,
        "http.request.resend_count": 1,
    }
    for attempt in (first, second):
        assert attempt.parent is not None
        assert attempt.parent.span_id == call.context.span_id
        assert attempt.context.trace_id == call.context.trace_id
    assert [e.name for e in call.events] == ["cflow.retry"]
    points = telemetry.duration_points()
    measured = {p.attributes.get("http.response.status_code"): p for p in points}
    assert set(measured) == {503, 200}
    assert all(p.count == 1 for p in points)
    del common["url.full"]
    assert dict(measured[200].attributes) == {**common, "http.response.status_code": 200}
    assert dict(measured[503].attributes) == {**common, **failed}
    # The hook events behind these spans.
    recorder = telemetry.recorder
    assert recorder.kinds() == "Request1 Response1 Retry1 Request2 Response2 CallEnd2"
    request, response, retry, *_, end = recorder.events
    assert request.path == GETWORKFLOWS
    assert (response.status, retry.status, retry.error_type, end.status) == (503, 503, None, 200)
    assert response.elapsed >= 0
    assert retry.delay > 0


async def test_an_unknown_outcome_post(sandbox: Any, backend: str, telemetry: Telemetry) -> None:
    # The server applies the write, then drops the connection before answering.
    sandbox.set_faults({"script": [{"drop": True, "act": True, "path_contains": "submitrecord"}]})
    async with telemetry.client(sandbox.url, backend, retry=FAST_RETRY) as cflow:
        with pytest.raises(CflowConnectionError) as info:
            await cflow.submit_record("Test", {"Name": "once"})
    assert info.value.outcome_unknown
    (call,) = telemetry.by_kind(SpanKind.INTERNAL)
    (attempt,) = telemetry.by_kind(SpanKind.CLIENT)  # never retried into a duplicate
    assert call.name == "cflow submit_record"
    assert dict(call.attributes or {}) == {
        "http.request.method": "POST",
        "cflow.operation": "submit_record",
        "url.template": SUBMIT,
        "cflow.attempts": 1,
        "cflow.outcome_unknown": True,
        "error.type": "CflowConnectionError",
    }
    assert call.status.status_code is StatusCode.ERROR
    assert attempt.name == f"POST {SUBMIT}"
    assert attempt.attributes is not None
    assert attempt.attributes["error.type"] == "CflowConnectionError"
    assert "http.response.status_code" not in attempt.attributes
    (point,) = telemetry.duration_points()
    assert point.attributes["error.type"] == "CflowConnectionError"


async def test_a_refused_connection(backend: str, telemetry: Telemetry) -> None:
    port = free_port()  # nothing listens there
    async with telemetry.client(f"http://127.0.0.1:{port}", backend, retry=FAST_RETRY) as cflow:
        with pytest.raises(CflowConnectionError) as info:
            await cflow.get_workflows()
    assert not info.value.outcome_unknown
    (call,) = telemetry.by_kind(SpanKind.INTERNAL)
    attempts = [dict(a.attributes or {}) for a in telemetry.by_kind(SpanKind.CLIENT)]
    # A GET whose connection was refused is retried.
    assert [a.get("http.request.resend_count") for a in attempts] == [None, 1, 2]
    assert {a["error.type"] for a in attempts} == {"CflowConnectionError"}
    assert {a["server.port"] for a in attempts} == {port}
    assert call.attributes is not None
    assert call.attributes["cflow.attempts"] == 3
    assert call.attributes["error.type"] == "CflowConnectionError"
    (point,) = telemetry.duration_points()  # one series, three measurements
    assert point.count == 3
    recorder = telemetry.recorder
    assert recorder.kinds() == "Request1 Retry1 Request2 Retry2 Request3 Error3 CallEnd3"
    retry, error = recorder.events[1], recorder.events[-2]
    assert (retry.status, retry.error_type) == (None, "CflowConnectionError")
    assert (error.status, error.outcome_unknown) == (None, False)


async def test_trace_context_goes_out_on_each_attempt_unless_switched_off(
    httpx_mock: HTTPXMock, telemetry: Telemetry
) -> None:
    httpx_mock.add_response(status_code=503)
    httpx_mock.add_response(json=[])
    tracer = telemetry.tracer_provider.get_tracer("app")
    async with telemetry.client(retry=FAST_RETRY) as cflow:
        with tracer.start_as_current_span("handler") as handler:
            # A with_options copy shares the client's hooks.
            await cflow.with_options(timeout=3).roles.list()
    attempts = telemetry.by_kind(SpanKind.CLIENT)
    sent = [r.headers["traceparent"].split("-")[:3] for r in httpx_mock.get_requests()]
    # version-trace id-parent id; the flags depend on the SDK's sampler and id generator.
    expected = [["00", f"{a.context.trace_id:032x}", f"{a.context.span_id:016x}"] for a in attempts]
    assert sent == expected
    assert len(expected) == 2
    (call,) = [s for s in telemetry.finished() if s.name == "cflow roles.list"]
    assert call.parent is not None
    assert call.parent.span_id == handler.get_span_context().span_id
    # Propagation can be switched off.
    httpx_mock.add_response(json=[])
    async with telemetry.client(hooks=[telemetry.hooks(propagate=False)]) as cflow:
        await cflow.users.list()
    assert "traceparent" not in httpx_mock.get_requests()[-1].headers
    assert len(telemetry.finished()) == 6  # handler, call, 2 attempts; then call, attempt


async def test_a_deadline_and_a_cancellation_end_the_call_and_its_spans(
    httpx_mock: HTTPXMock, telemetry: Telemetry
) -> None:
    async def never_answers(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    httpx_mock.add_callback(never_answers, is_reusable=True)
    recorder = telemetry.recorder
    async with telemetry.client() as cflow:
        with pytest.raises(CflowTimeoutError):
            await cflow.with_options(retry=RetryPolicy(deadline=0.05)).get_workflows()
        assert recorder.kinds().endswith(" Error1 CallEnd1")
        assert recorder.events[-1].error_type == "CflowTimeoutError"
        recorder.events.clear()
        telemetry.spans.clear()
        task = asyncio.create_task(cflow.get_workflows())
        while not recorder.events:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    # A cancelled call is no CflowError: no on_error, but on_call_end says so.
    assert recorder.kinds() == "Request1 CallEnd1"
    assert recorder.events[-1].error_type == "CancelledError"
    spans = telemetry.finished()
    assert sorted(s.name for s in spans) == ["GET " + GETWORKFLOWS, "cflow get_workflows"]
    for span in spans:
        assert span.attributes is not None
        assert span.attributes["error.type"] == "CancelledError"
        assert span.status.status_code is StatusCode.ERROR
