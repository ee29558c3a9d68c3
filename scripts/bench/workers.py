"""Worker side: one measurement in this (fresh) process, its result as JSON on the last line.

The orchestrator (runner.py) starts ``python -m scripts.bench --worker SPEC`` once per cell,
so each cell's CPU time (time.process_time) and peak RSS (ru_maxrss) are its own. Modules
are imported inside the functions that need them: a raw-aiohttp cell must not pay for httpx.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import os
import resource
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from .common import (
    AUTH,
    REQUESTS_PATH,
    REQUESTS_WORKFLOW,
    SANDBOX_WORKFLOW,
    WORKFLOWS_PATH,
    bench_client,
)
from .csv_import import import_worker


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _cpu_seconds_of(pid: int | None) -> float | None:
    """utime + stime of another process (the server), from /proc."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_stats(base: str) -> dict[str, int]:
    """The server's connection and request counters, over a plain socket (no client
    library involved, so nothing is added to the measured process's pools)."""
    host, port = base.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /__stats HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return json.loads(data.split(b"\r\n\r\n", 1)[1])  # type: ignore[no-any-return]


async def _make_call(
    spec: dict[str, Any],
) -> tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]:
    """The call to measure, and how to close what it uses. Imports only what it needs.

    ``spec["call"]``: "getworkflows" (legacy, 4 workflows) or "requests" (the OpenAPI
    ``requests.list``, 5 requests); ``spec["hooks"]``: a facade with hooks (otel section).
    """
    variant, base, pool = spec["variant"], spec["base"], spec.get("pool")
    requests = spec.get("call") == "requests"
    url = base + (REQUESTS_PATH if requests else WORKFLOWS_PATH)
    if variant == "raw-aiohttp":
        import aiohttp

        session = aiohttp.ClientSession()  # TCPConnector defaults: limit=100

        async def raw_aiohttp() -> Any:
            async with session.get(url, headers=AUTH) as resp:
                return json.loads(await resp.read())

        return raw_aiohttp, session.close
    if variant in ("raw-httpx", "httpx-aiohttp"):
        import httpx

        if variant == "raw-httpx":
            client = httpx.AsyncClient()  # Limits defaults: 100 connections, 20 keep-alive
        else:
            from httpx_aiohttp import HttpxAiohttpClient

            client = HttpxAiohttpClient()  # its defaults: aiohttp limit=100

        async def raw_httpx() -> Any:
            return (await client.get(url, headers=AUTH)).json()

        return raw_httpx, client.aclose
    if variant in ("facade-aiohttp", "facade-httpx"):
        extra: dict[str, Any] = {} if pool is None else {"max_connections": pool}
        clear = None
        if spec.get("hooks") is not None:
            from .otel import make_hooks

            hooks, clear = make_hooks(spec["hooks"])
            if hooks:
                extra["hooks"] = hooks
        cflow = bench_client(base, http_backend=variant.split("-", 1)[1], **extra)
        call: Callable[[], Awaitable[Any]] = cflow.get_workflows
        if requests:
            # A bound partial adds no coroutine frame, so the call is measured as a user
            # awaiting cflow.requests.list("wf-1") directly.
            call = functools.partial(cflow.requests.list, REQUESTS_WORKFLOW)
        if spec.get("hooks") is not None:
            from .otel import counted

            call = counted(call, clear)
        return call, cflow.aclose
    raise SystemExit(f"unknown variant {variant!r}")


async def _drive(
    call: Callable[[], Awaitable[Any]], concurrency: int, calls: int, seconds: float
) -> tuple[int, int, str | None]:
    """``concurrency`` tasks calling in a loop until ``calls`` are issued or time is up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    left = calls
    ok = errors = 0
    first_error: str | None = None

    async def worker() -> None:
        nonlocal left, ok, errors, first_error
        while left > 0 and loop.time() < deadline:
            left -= 1
            try:
                await call()
            except Exception as exc:
                errors += 1
                if first_error is None:
                    first_error = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
            else:
                ok += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok, errors, first_error


async def _http_worker(spec: dict[str, Any]) -> dict[str, Any]:
    call, close = await _make_call(spec)
    try:
        sample = await call()
        count = len(sample) if isinstance(sample, list) else len(sample["Workflows"])
        if count != (5 if spec.get("call") == "requests" else 4):
            raise SystemExit(f"unexpected response: {sample!r}")
        conc = spec["concurrency"]
        await _drive(call, conc, max(200, 2 * conc), spec["warmup_seconds"])
        gc.collect()
        profiler = None
        if spec.get("profile"):
            import cProfile

            profiler = cProfile.Profile()
        stats0 = _server_stats(spec["base"])
        server_cpu0 = _cpu_seconds_of(spec.get("server_pid"))
        wall0, cpu0 = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        ok, errors, first_error = await _drive(call, conc, spec["calls"], spec["seconds"])
        if profiler is not None:
            profiler.disable()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        server_cpu1 = _cpu_seconds_of(spec.get("server_pid"))
        stats1 = _server_stats(spec["base"])
    finally:
        await close()
    if profiler is not None:
        import pstats

        for order in ("tottime", "cumulative"):
            print(f"\n=== top functions by {order} ===", file=sys.stderr)
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats(order).print_stats(spec.get("profile_top", 30))
    done = ok + errors
    server_pct = None
    if server_cpu0 is not None and server_cpu1 is not None:
        server_pct = 100.0 * (server_cpu1 - server_cpu0) / wall
    return {
        "calls": done,
        "ok": ok,
        "errors": errors,
        "first_error": first_error,
        "cpu_us": 1e6 * cpu / done if done else None,
        "calls_s": ok / wall,
        "wall_s": wall,
        "peak_rss_mb": _peak_rss() / 2**20,
        "server_cpu_pct": server_pct,
        # -1: the stats request's own connection.
        "connections": stats1["connections"] - stats0["connections"] - 1,
    }


def _bulk_rows(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {"Title": f"Bulk row {i}", "Amount": i, "Approved": i % 2 == 0, "Note": "x" * 40}


async def _bulk_worker(spec: dict[str, Any]) -> dict[str, Any]:
    n = spec["rows"]
    async with bench_client(spec["base"], http_backend=spec["backend"]) as cflow:
        # Warm the pool and every code path once, so the baseline holds the steady state.
        warm = cflow.submit_records("Bench", _bulk_rows(spec["concurrency"] * 2))
        async for _ in warm:
            pass
        gc.collect()
        base_rss = peak_rss = _rss_now()
        base_maxrss = _peak_rss()
        ok = row_errors = 0
        seen: set[int] = set()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        stream = cflow.submit_records("Bench", _bulk_rows(n), concurrency=spec["concurrency"])
        async for result in stream:
            seen.add(result.index)
            if result.ok:
                ok += 1
            else:
                row_errors += 1
            if result.index % 250 == 0:
                peak_rss = max(peak_rss, _rss_now())
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        peak_rss = max(peak_rss, _rss_now())
    return {
        "rows": n,
        "ok": ok,
        "row_errors": row_errors,
        "complete": len(seen) == n,
        "rows_s": n / wall,
        "cpu_us": 1e6 * cpu / n,
        "rss_growth_mb": (peak_rss - base_rss) / 2**20,
        "maxrss_growth_mb": (_peak_rss() - base_maxrss) / 2**20,
        "base_rss_mb": base_rss / 2**20,
    }


async def _sandbox_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Per-call latency at concurrency 1: each call timed alone, against the sandbox."""
    async with bench_client(spec["base"], http_backend=spec["backend"]) as cflow:
        if spec["call"] == "getworkflows":

            async def call() -> Any:
                return await cflow.get_workflows()
        else:
            values = {"Title": "bench", "Amount": 1}

            async def call() -> Any:
                return await cflow.submit_record(SANDBOX_WORKFLOW, values)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + spec["warmup_seconds"]
        for _ in range(spec["warmup_calls"]):
            await call()
            if loop.time() > deadline:
                break
        gc.collect()
        latencies: list[float] = []
        wall0, cpu0 = time.perf_counter(), time.process_time()
        deadline = wall0 + spec["seconds"]
        while len(latencies) < spec["calls"]:
            t0 = time.perf_counter()
            await call()
            t1 = time.perf_counter()
            latencies.append(t1 - t0)
            if t1 > deadline:
                break
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    latencies.sort()
    n = len(latencies)
    return {
        "calls": n,
        "p50_ms": 1e3 * latencies[n // 2],
        # Nearest rank: the smallest latency at or above 99% of the calls.
        "p99_ms": 1e3 * latencies[min(n - 1, max(0, -(-99 * n // 100) - 1))],
        "max_ms": 1e3 * latencies[-1],
        "calls_s": n / wall,
        "cpu_us": 1e6 * cpu / n,
    }


_WORKERS: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "http": _http_worker,
    "bulk": _bulk_worker,
    "sandbox": _sandbox_worker,
    "import": import_worker,
}


def worker_main(spec: dict[str, Any]) -> None:
    cpu = spec.get("cpu")
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    result = asyncio.run(_WORKERS[spec["mode"]](spec))
    print(json.dumps(result), flush=True)
