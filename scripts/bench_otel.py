"""CPU per call added by hooks and by OpenTelemetryHooks (issue 12), standalone until it
is folded into the bench package.

    .venv/bin/python scripts/bench_otel.py                       # this checkout
    .venv/bin/python scripts/bench_otel.py --source /work/main   # add another checkout's
                                                                 # no-hooks figure

The canned-answer server (scripts/bench/canned_server.py) runs in its own process on one core;
each measurement is a fresh process pinned to the other core, timing ``get_workflows()``
on the aiohttp backend with ``time.process_time`` (its own CPU only, exporter included).
Variants: no hooks; one no-op hook (the dispatch cost); OpenTelemetryHooks with the
SDK's in-memory span exporter (SimpleSpanProcessor) and in-memory metric reader. Rounds
are interleaved so drift hits every variant alike; medians are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CREDS = {"api_key": "bench-api-key", "user_key": "bench-user-key", "username": "b@example.com"}
VARIANTS = ("none", "noop-hook", "otel")


async def _measure(spec: dict[str, Any]) -> dict[str, Any]:
    if spec["source"]:
        sys.path.insert(0, spec["source"])
        sys.path.insert(1, os.path.join(spec["source"], "generated"))
    from cflow_async import CflowClient

    hooks: list[object] = []
    exporter: Any = None
    if spec["variant"] == "noop-hook":

        class Noop:
            def on_request(self, event: Any) -> None:
                pass

        hooks = [Noop()]
    elif spec["variant"] == "otel":
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
        hooks = [OpenTelemetryHooks(tracer_provider, meter_provider)]

    options: dict[str, Any] = {"hooks": hooks} if hooks else {}
    calls, concurrency = spec["calls"], spec["concurrency"]
    async with CflowClient(
        **CREDS, base_url=spec["url"], http_backend="aiohttp", **options
    ) as cflow:

        async def worker(n: int) -> None:
            for i in range(n):
                await cflow.get_workflows()
                if exporter is not None and i % 500 == 0:
                    exporter.clear()  # keep memory flat; clearing is part of the cost

        async def run(n: int) -> None:
            await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))

        await run(max(concurrency * 20, 400))  # warm-up: connections, caches
        start = time.process_time()
        await run(calls)
        cpu = time.process_time() - start
    return {"cpu_us_per_call": cpu / (calls // concurrency * concurrency) * 1e6}


def _run_one(spec: dict[str, Any], cpu: int | None) -> float:
    code = (
        "import asyncio, json, os, sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        + (f"os.sched_setaffinity(0, {{{cpu}}})\n" if cpu is not None else "")
        + "import bench_otel\n"
        f"print(json.dumps(asyncio.run(bench_otel._measure({spec!r}))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["cpu_us_per_call"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--source", help="another checkout, measured with no hooks as 'base'")
    args = parser.parse_args()
    two_cores = hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2
    server_cpu, client_cpu = (1, 0) if two_cores else (None, None)
    command = [sys.executable, str(HERE / "bench" / "canned_server.py"), "--port", "0"]
    if server_cpu is not None:
        command += ["--cpu", str(server_cpu)]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        ready = server.stdout.readline().split()
        url = f"http://127.0.0.1:{ready[1]}"
        variants = [("base", args.source)] if args.source else []
        variants += [(v, "") for v in VARIANTS]
        results: dict[tuple[str, int], list[float]] = {}
        for _ in range(args.repeats):
            for concurrency in args.concurrency:
                for variant, source in variants:
                    spec = {
                        "variant": "none" if variant == "base" else variant,
                        "source": source,
                        "url": url,
                        "calls": args.calls,
                        "concurrency": concurrency,
                    }
                    value = _run_one(spec, client_cpu)
                    results.setdefault((variant, concurrency), []).append(value)
    finally:
        server.terminate()
        server.wait()
    print("| variant | concurrency | CPU µs/call (median) | runs | added vs none |")
    print("|---|---:|---:|---|---:|")
    for (variant, concurrency), values in results.items():
        median = statistics.median(values)
        none = statistics.median(results[("none", concurrency)])
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"| {variant} | {concurrency} | {median:.0f} | {runs} | {median - none:+.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
