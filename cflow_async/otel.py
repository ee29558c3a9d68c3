"""OpenTelemetry tracing and metrics for cflow-async, as a hook (``pip install
"cflow-async[otel]"``)::

    from cflow_async.otel import OpenTelemetryHooks

    cflow = CflowClient(hooks=[OpenTelemetryHooks()])

Per call, one INTERNAL span named for the operation (``cflow submit_record``) with
``cflow.attempts`` and ``cflow.outcome_unknown``; under it one CLIENT span per HTTP
attempt, following the stable HTTP client semantic conventions (name
``{method} {url.template}``; ``http.request.method``, ``server.address``,
``server.port``, ``url.template``, ``url.full`` with every query value replaced by
``REDACTED``, ``http.response.status_code``, ``error.type``, and
``http.request.resend_count`` from the second attempt on); and the
``http.client.request.duration`` histogram (seconds) per attempt. W3C trace context
goes out with each attempt unless ``propagate=False``.

Spans and metrics are built from the hook events, which never hold a header or a query
value, so no credential can reach them. Both backends report through the same retry
loop and produce identical spans.
"""

from __future__ import annotations

import time
from typing import Any, Final
from urllib.parse import urlsplit

try:
    from opentelemetry import propagate as otel_propagate
    from opentelemetry import trace
    from opentelemetry.metrics import MeterProvider, get_meter
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        'cflow_async.otel needs OpenTelemetry: pip install "cflow-async[otel]"'
    ) from exc

from ._hooks import CallEndEvent, ErrorEvent, HookEvent, RequestEvent, ResponseEvent, RetryEvent
from ._version import __version__

__all__ = ["OpenTelemetryHooks"]

_SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.26.0"
# The semantic conventions' advice for http.client.request.duration.
_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

Attributes = dict[str, Any]


class _CallState:
    """The spans of one call in flight."""

    __slots__ = ("attempt_span", "attempt_start", "base", "call_span")

    def __init__(self, call_span: Span, base: Attributes) -> None:
        self.call_span = call_span
        self.base = base  # the low-cardinality attributes every attempt shares
        self.attempt_span: Span | None = None
        self.attempt_start = 0.0


class OpenTelemetryHooks:
    """Traces and measures every call and every attempt; pass it in ``CflowClient(hooks=[...])``.

    ``tracer_provider`` and ``meter_provider`` default to the global ones; ``propagate``
    sends the trace context (the global propagator, W3C ``traceparent`` by default) with
    each attempt.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        *,
        propagate: bool = True,
    ) -> None:
        self._tracer = trace.get_tracer(
            "cflow_async", __version__, tracer_provider, schema_url=_SCHEMA_URL
        )
        meter = get_meter("cflow_async", __version__, meter_provider, schema_url=_SCHEMA_URL)
        self._duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP client requests.",
            explicit_bucket_boundaries_advisory=_BUCKETS,
        )
        self._propagate = propagate
        self._calls: dict[int, _CallState] = {}

    def __repr__(self) -> str:
        return f"<OpenTelemetryHooks propagate={self._propagate}>"

    # -- hook methods ----------------------------------------------------------------------

    def on_request(self, event: RequestEvent) -> None:
        state = self._calls.get(event.call_id)
        if state is None:
            state = self._start_call(event)
        attributes = dict(state.base)
        attributes["url.full"] = event.url
        if event.attempt > 1:
            attributes["http.request.resend_count"] = event.attempt - 1
        name = event.method if event.template is None else f"{event.method} {event.template}"
        span = self._tracer.start_span(
            name,
            context=trace.set_span_in_context(state.call_span),
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        state.attempt_span = span
        state.attempt_start = time.perf_counter()
        if self._propagate:
            otel_propagate.inject(event.headers, context=trace.set_span_in_context(span))

    def on_response(self, event: ResponseEvent) -> None:
        state = self._calls.get(event.call_id)
        if state is not None:
            error = str(event.status) if event.status >= 400 else None
            self._end_attempt(state, event.status, error)

    def on_retry(self, event: RetryEvent) -> None:
        state = self._calls.get(event.call_id)
        if state is None:
            return
        if state.attempt_span is not None:  # no answer came: the attempt failed here
            self._end_attempt(state, None, event.error_type)
        state.call_span.add_event(
            "cflow.retry",
            {"cflow.attempt": event.attempt, "cflow.retry.delay": event.delay},
        )

    def on_error(self, event: ErrorEvent) -> None:
        state = self._calls.get(event.call_id)
        if state is not None:
            state.call_span.set_attribute("error.type", event.error_type)
            state.call_span.set_status(Status(StatusCode.ERROR))

    def on_call_end(self, event: CallEndEvent) -> None:
        state = self._calls.pop(event.call_id, None)
        if state is None:  # failed before its first attempt (a closed client, say)
            return
        if state.attempt_span is not None:  # cut short: deadline, cancellation, size cap
            self._end_attempt(state, None, event.error_type)
        span = state.call_span
        span.set_attribute("cflow.attempts", event.attempt)
        span.set_attribute("cflow.outcome_unknown", event.outcome_unknown)
        if event.error_type is not None:  # on_error has set it, unless cancelled
            span.set_attribute("error.type", event.error_type)
            span.set_status(Status(StatusCode.ERROR))
        span.end()

    # -- helpers ---------------------------------------------------------------------------

    def _start_call(self, event: HookEvent) -> _CallState:
        parts = urlsplit(event.url)
        base: Attributes = {
            "http.request.method": event.method,
            "server.address": parts.hostname or "",
            "server.port": parts.port or _DEFAULT_PORTS.get(parts.scheme, 0),
        }
        if event.template is not None:
            base["url.template"] = event.template
        call_attributes: Attributes = {"http.request.method": event.method}
        if event.operation is not None:
            call_attributes["cflow.operation"] = event.operation
        if event.template is not None:
            call_attributes["url.template"] = event.template
        name = f"cflow {event.operation}" if event.operation else "cflow"
        span = self._tracer.start_span(name, kind=SpanKind.INTERNAL, attributes=call_attributes)
        state = _CallState(span, base)
        self._calls[event.call_id] = state
        return state

    def _end_attempt(self, state: _CallState, status: int | None, error: str | None) -> None:
        span = state.attempt_span
        if span is None:
            return
        state.attempt_span = None
        measured: Attributes = dict(state.base)
        if status is not None:
            span.set_attribute("http.response.status_code", status)
            measured["http.response.status_code"] = status
        if error is not None:
            span.set_attribute("error.type", error)
            span.set_status(Status(StatusCode.ERROR))
            measured["error.type"] = error
        span.end()
        self._duration.record(time.perf_counter() - state.attempt_start, measured)
