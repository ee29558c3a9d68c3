"""The otel section (issue 12): CPU per call that hooks add to ``get_workflows()`` on the
aiohttp backend, with no hooks, one no-op hook (the dispatch cost) and
``cflow_async.otel.OpenTelemetryHooks`` on the OTel SDK with an in-memory span exporter
(SimpleSpanProcessor, so the export is in the measured process's CPU) and an in-memory
metric reader. Folded in from the former standalone ``scripts/bench_otel.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .common import OTEL_HOOKS

#: Clear the in-memory exporter every this many calls, so memory stays flat; the clearing
#: is part of the measured cost, as exporting is in production.
CLEAR_EVERY = 500


def make_hooks(kind: str) -> tuple[list[object], Callable[[], None] | None]:
    """The ``hooks=`` list for one variant, and how to clear what it accumulates."""
    if kind == "none":
        return [], None
    if kind == "noop":

        class Noop:
            def on_request(self, event: Any) -> None:
                pass

        return [Noop()], None
    if kind != "otel":
        raise SystemExit(f"unknown hooks {kind!r}")
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from cflow_async.otel import OpenTelemetryHooks

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return [OpenTelemetryHooks(tracer_provider, meter_provider)], exporter.clear


def counted(
    call: Callable[[], Awaitable[Any]], clear: Callable[[], None] | None
) -> Callable[[], Awaitable[Any]]:
    """``call`` with the periodic clearing; every hooks variant goes through this same
    wrapper, so its own small cost cancels out of the differences."""
    n = 0

    async def wrapped() -> Any:
        nonlocal n
        n += 1
        if clear is not None and n % CLEAR_EVERY == 0:
            clear()
        return await call()

    return wrapped


def otel_table(
    args: Any, cells: dict[tuple[str, int, int | None], dict[str, Any]], fmt: Any
) -> list[str]:
    """One row per hooks variant and concurrency; "added" is against no hooks at the same
    concurrency (medians of the repeats), in µs and as a share of the no-hooks figure."""
    out = [
        "\n## Hooks and OpenTelemetry (aiohttp backend, `get_workflows()`)\n",
        "Same canned server and method as the per-call table, in separate cells: CPU per"
        f" call with {', '.join(OTEL_HOOKS.values())}. The OTel SDK's work (two spans, one"
        " histogram record, the in-memory export, a clear every"
        f" {CLEAR_EVERY} calls) runs in the measured process, so it is counted.\n",
        "| hooks | conc | CPU µs/call (min-max) | added vs no hooks | added % | calls/s"
        " | peak RSS MiB | calls/run | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for conc in args.otel_concurrency:
        base = cells.get(("none", conc, None), {}).get("cpu_us")
        for kind, label in OTEL_HOOKS.items():
            cell = cells.get((kind, conc, None))
            if cell is None:
                continue
            if "failed" in cell:
                out.append(f"| {label} | {conc} | failed: {cell['failed']} |" + " |" * 6)
                continue
            cpu = cell["cpu_us"]
            added = None if cpu is None or base is None else cpu - base
            share = "n/a" if added is None or not base else f"{100 * added / base:+.0f}%"
            out.append(
                f"| {label} | {conc} | {fmt(cpu)} ({fmt(cell['cpu_min'])}-{fmt(cell['cpu_max'])})"
                f" | {'n/a' if added is None else f'{added:+.0f} µs'} | {share}"
                f" | {fmt(cell['calls_s'])} | {fmt(cell['peak_rss_mb'], 1)} | {fmt(cell['calls'])}"
                f" | {cell['errors']} |"
            )
    return out
