"""`make bench`: the facade against raw aiohttp, raw httpx and httpx-aiohttp.

    .venv/bin/python scripts/bench.py            # full run (a few minutes), writes
                                                 # scripts/bench_results.md
    .venv/bin/python scripts/bench.py --quick    # short run, printed only
    .venv/bin/python scripts/bench.py --profile facade-aiohttp --concurrency 64

A canned-response HTTP/1.1 server (scripts/bench_server.py) runs in its own process on its
own core; every client variant runs in a fresh subprocess pinned to another core, so its
CPU time (time.process_time) and peak RSS (ru_maxrss) are its own. The variants and
concurrency levels are run round-robin, ``--repeats`` times, so drift on the machine hits
them all alike; the tables report medians.

Also measured: ``import cflow_async`` time (``-X importtime``), which heavy or optional
modules that import pulls in, and ``submit_records`` of many lazily generated rows (rows
per second, RSS growth). Nothing here needs the sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import datetime as dt
import gc
import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "bench_results.md"

API_KEY = "bench-api-key"
USER_KEY = "bench-user-key"
USERNAME = "bench@example.com"
AUTH = {"apikey": API_KEY, "userkey": USER_KEY, "username": USERNAME}
WORKFLOWS_PATH = "/integromat/api/cflow/getworkflows?username=" + quote(USERNAME, safe="")

VARIANTS = {
    "raw-aiohttp": "raw aiohttp",
    "raw-httpx": "raw httpx",
    "httpx-aiohttp": "httpx-aiohttp",
    "facade-aiohttp": "facade, aiohttp backend",
    "facade-httpx": "facade, httpx backend",
}
CONCURRENCY = (1, 64, 512)
POOL_SIZES = (10, 32, 100)
POOL_CONCURRENCY = (64, 512)
NOT_IMPORTED = ("aiohttp", "starlette", "uvicorn", "cflow_async.sandbox", "cflow_async.cli")
IMPORT_GOAL_MS = 150.0
BULK_RSS_GOAL_MB = 20.0


# ---------------------------------------------------------------------------------------
# Worker side: one measurement in this (fresh) process, result as JSON on the last line.
# ---------------------------------------------------------------------------------------


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
    variant: str, base: str, pool: int | None
) -> tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]:
    """The call to measure, and how to close what it uses. Imports only what it needs."""
    url = base + WORKFLOWS_PATH
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
        from cflow_async import CflowClient

        extra: dict[str, Any] = {} if pool is None else {"max_connections": pool}
        cflow = CflowClient(
            api_key=API_KEY,
            user_key=USER_KEY,
            username=USERNAME,
            base_url=base,
            http_backend=variant.split("-", 1)[1],  # type: ignore[arg-type]
            **extra,
        )
        return cflow.get_workflows, cflow.aclose
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
    call, close = await _make_call(spec["variant"], spec["base"], spec.get("pool"))
    try:
        sample = await call()
        count = len(sample) if isinstance(sample, list) else len(sample["Workflows"])
        if count != 4:
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
    from cflow_async import CflowClient

    n = spec["rows"]
    async with CflowClient(
        api_key=API_KEY,
        user_key=USER_KEY,
        username=USERNAME,
        base_url=spec["base"],
        http_backend=spec["backend"],
    ) as cflow:
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


def worker_main(spec: dict[str, Any]) -> None:
    cpu = spec.get("cpu")
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    coro = _bulk_worker(spec) if spec["mode"] == "bulk" else _http_worker(spec)
    result = asyncio.run(coro)
    print(json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------
# Orchestrator side.
# ---------------------------------------------------------------------------------------


class Server:
    """scripts/bench_server.py in a child process; always stopped on exit."""

    def __init__(self, cpu: int | None) -> None:
        cmd = [sys.executable, str(HERE / "bench_server.py")]
        if cpu is not None:
            cmd += ["--cpu", str(cpu)]
        # stdin stays open for the server's lifetime: if we die, it sees EOF and exits.
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        atexit.register(self.stop)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            self.stop()
            raise SystemExit(f"bench server did not start (got {line!r})")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.pid = self.proc.pid

    def stop(self) -> None:
        proc = self.proc
        if proc.poll() is not None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(3)


def _child_env(pycache: str) -> dict[str, str]:
    env = dict(os.environ)
    # Cached bytecode, as an installed package has, kept outside the source tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    for name in list(env):
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            del env[name]  # loopback must not be proxied
    return env


def run_worker(
    spec: dict[str, Any], env: dict[str, str], *, timeout: float, show_stderr: bool = False
) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    try:
        proc = subprocess.run(
            cmd,
            env=env,
            capture_output=not show_stderr,
            stdout=subprocess.PIPE if show_stderr else None,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"failed": f"timed out after {timeout:g} s"}
    if proc.returncode != 0:
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        return {"failed": f"exit {proc.returncode}: {' | '.join(tail)}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def machine_info() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    os_name = platform.platform()
    with contextlib.suppress(OSError), open("/etc/os-release") as f:
        for line in f:
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip().strip(chr(34))} ({os_name})"
    versions = []
    for dist in ("aiohttp", "httpx", "httpcore", "httpx-aiohttp", "h11", "yarl"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{dist} {metadata.version(dist)}")
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": os_name,
        "packages": ", ".join(versions),
    }


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


# httpx's __init__ imports its CLI (httpx._main: click, rich, pygments) whenever those
# happen to be installed, as they are in this dev venv; a production install usually lacks
# them. Blocking them shows what `import cflow_async` costs there.
_NO_HTTPX_CLI = "import sys; sys.modules.update(dict.fromkeys(('click', 'rich', 'pygments')))"
_IMPORT_CPU = (
    "import time; t = time.process_time(); import cflow_async;"
    " print((time.process_time() - t) * 1000)"
)


def _parse_importtime(stderr: str, module: str = "cflow_async") -> tuple[float, dict[str, float]]:
    """``module``'s cumulative ms, and self ms per top-level package in its subtree."""
    # "import time: self [us] | cumulative | imported package"; a module's imports are
    # listed before it, indented two more spaces.
    own: dict[str, float] = {}
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        depth, name = len(m[3]) // 2, m[4]
        if depth == 0 and name == module:
            own[module] = own.get(module, 0.0) + int(m[1]) / 1000
            return int(m[2]) / 1000, own
        if depth == 0:
            own = {}
        else:
            top = name.split(".")[0]
            own[top] = own.get(top, 0.0) + int(m[1]) / 1000
    raise SystemExit(f"{module} not found in -X importtime output")


def measure_imports(env: dict[str, str], runs: int, cpu: int | None) -> dict[str, Any]:
    def run(code: str, *flags: str, run_env: dict[str, str] = env) -> str:
        proc = subprocess.run(
            [sys.executable, *flags, "-c", code],
            env=run_env,
            capture_output=True,
            text=True,
            check=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None,
        )
        return proc.stdout + proc.stderr

    cold_env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    cold_env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="cflow-bench-nocache-")
    try:
        cold_ms, _ = _parse_importtime(
            run("import cflow_async", "-X", "importtime", run_env=cold_env)
        )
    finally:
        shutil.rmtree(cold_env["PYTHONPYCACHEPREFIX"], ignore_errors=True)
    run("import cflow_async")  # fill the bytecode cache
    dev: list[tuple[float, dict[str, float]]] = []
    prod: list[tuple[float, dict[str, float]]] = []
    cpu_ms: list[float] = []
    refs: dict[str, list[float]] = {"httpx": [], "asyncio": []}
    for _ in range(runs):  # interleaved, so load on the machine hits both alike
        dev.append(_parse_importtime(run("import cflow_async", "-X", "importtime")))
        prod.append(
            _parse_importtime(run(f"{_NO_HTTPX_CLI}; import cflow_async", "-X", "importtime"))
        )
        cpu_ms.append(float(run(_IMPORT_CPU).split()[-1]))
        for ref, values in refs.items():
            out = run(f"{_NO_HTTPX_CLI}; import {ref}", "-X", "importtime")
            values.append(_parse_importtime(out, ref)[0])
    dev.sort(key=lambda s: s[0])
    prod.sort(key=lambda s: s[0])
    check = (
        "import json, sys, cflow_async\n"
        f"names = {list(NOT_IMPORTED)!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if any(m == n or m.startswith(n + '.') for n in names))))"
    )
    leaked = json.loads(run(check).split("\n")[0])
    by_package = prod[0][1]  # the fastest, least disturbed run
    return {
        "runs": runs,
        "dev": [s[0] for s in dev],
        "prod": [s[0] for s in prod],
        "cpu_ms": sorted(cpu_ms),
        "cold_ms": cold_ms,
        "top": sorted(by_package.items(), key=lambda kv: -kv[1])[:10],
        "leaked": leaked,
        "refs": refs,
    }


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def _ratio(value: float | None, ref: float | None) -> str:
    if value is None or not ref:
        return "n/a"
    return f"{value / ref:.2f}x"


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    good = [r for r in runs if "failed" not in r]
    if not good:
        return {"failed": runs[0]["failed"] if runs else "not run"}
    cpus = [r["cpu_us"] for r in good if r["cpu_us"] is not None]
    errors = [r for r in good if r["errors"]]
    return {
        "cpu_us": _median(cpus),
        "cpu_min": min(cpus) if cpus else None,
        "cpu_max": max(cpus) if cpus else None,
        "calls_s": _median([r["calls_s"] for r in good]),
        "peak_rss_mb": _median([r["peak_rss_mb"] for r in good]),
        "server_cpu_pct": _median([r["server_cpu_pct"] for r in good]),
        "connections": _median([r["connections"] for r in good]),
        "calls": _median([r["calls"] for r in good]),
        "errors": sum(r["errors"] for r in good),
        "first_error": errors[0]["first_error"] if errors else None,
        "failed_runs": len(runs) - len(good),
    }


def _row(label: str, conc: int, pool: str, cell: dict[str, Any], refs: list[dict[str, Any]]) -> str:
    if "failed" in cell:
        return f"| {label} | {conc} | {pool} | failed: {cell['failed']} |" + " |" * 10
    cpu = f"{_fmt(cell['cpu_us'])} ({_fmt(cell['cpu_min'])}-{_fmt(cell['cpu_max'])})"
    cols = [label, str(conc), pool, cpu]
    cols += [_ratio(cell["cpu_us"], ref.get("cpu_us")) for ref in refs]
    cols.append(_fmt(cell["calls_s"]))
    cols += [_ratio(cell["calls_s"], ref.get("calls_s")) for ref in refs]
    cols += [
        _fmt(cell["peak_rss_mb"], 1),
        _fmt(cell["server_cpu_pct"]),
        f"{_fmt(cell['calls'])}",
        _fmt(cell["connections"]),
        str(cell["errors"])
        + (f" ({cell['failed_runs']} runs failed)" if cell["failed_runs"] else ""),
    ]
    return "| " + " | ".join(cols) + " |"


_HEADER = (
    "| client | conc | pool | CPU µs/call (min-max) | CPU vs raw aiohttp | CPU vs raw httpx"
    " | calls/s | calls/s vs raw aiohttp | calls/s vs raw httpx | peak RSS MiB"
    " | server CPU % | calls/run | new conns/run | errors |\n"
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _pool_label(variant: str, pool: int | None, default_pool: int) -> str:
    if variant == "raw-aiohttp":
        return "100 (default)"
    if variant in ("raw-httpx", "httpx-aiohttp"):
        return "100 (default)" if variant == "httpx-aiohttp" else "100/20 ka (default)"
    if pool is None or pool == default_pool:
        return f"{default_pool} (default)"
    return str(pool)


def render(
    args: argparse.Namespace,
    info: dict[str, str],
    cells: dict[tuple[str, int, int | None], dict[str, Any]],
    default_pool: int,
    imports: dict[str, Any] | None,
    bulk: list[tuple[dict[str, Any], dict[str, Any]]],
    meta: dict[str, Any],
) -> str:
    out: list[str] = []
    title = "quick run" if args.quick else "full run"
    out.append(f"# cflow-async benchmark ({title})\n")
    out.append(f"- Date: {meta['date']}; took {meta['elapsed']:.0f} s")
    out.append(f"- Machine: {info['cpu']}, {info['cores']} cores; {info['os']}")
    out.append(f"- Python: {info['python']}; {info['packages']}")
    out.append(
        f"- Load average (1/5/15 min) at start: {meta['load_start']}; at end: {meta['load_end']}"
        " (other work on the machine inflates wall-clock figures more than CPU/call)"
    )
    out.append(f"- Pinning: {meta['pinning']}")
    out.append(
        f"- Method: {args.repeats} round-robin repeat(s); each cell is a fresh client process"
        f" that warms up, then makes up to {args.calls} calls (or stops after"
        f" {args.seconds:g} s); medians across repeats, CPU range in brackets. CPU/call ="
        " client process CPU time / calls. server CPU % = server process CPU / wall time"
        " during the run (well under 100% means the client is the bottleneck). calls/run"
        f" below {args.calls} means the run hit the time cap. new conns/run = connections"
        " the server accepted during the measured window (0 = pure keep-alive)."
    )
    out.append(
        "- Workload: GET .../cflow/getworkflows?username=... with the three auth headers,"
        ' answered with `{"Workflows": [4 items]}` (~300 bytes); raw clients json.loads the'
        " body, the facade builds 4 typed Workflow objects."
    )
    out.append(
        "- Pools: raw aiohttp `ClientSession()` (TCPConnector limit=100); raw httpx"
        " `AsyncClient()` (max_connections=100, max_keepalive_connections=20, pool timeout"
        " 5 s); httpx-aiohttp `HttpxAiohttpClient()` (limit=100); the facade at its defaults"
        f" (max_connections={default_pool})."
    )
    refs_keys = ("raw-aiohttp", "raw-httpx")
    out.append("\n## Per-call cost\n")
    out.append(_HEADER)
    for conc in args.concurrency:
        refs = [cells.get((k, conc, None), {}) for k in refs_keys]
        for variant in args.variants:
            cell = cells.get((variant, conc, None))
            if cell is not None:
                label = VARIANTS[variant]
                out.append(_row(label, conc, _pool_label(variant, None, default_pool), cell, refs))
    if args.pool_sizes and args.pool_concurrency:
        levels = " and ".join(str(c) for c in args.pool_concurrency)
        out.append(f"\n## Facade pool size (max_connections) at concurrency {levels}\n")
        out.append(_HEADER)
        for variant in args.pool_variants:
            if variant not in args.variants:
                continue
            for conc in args.pool_concurrency:
                refs = [cells.get((k, conc, None), {}) for k in refs_keys]
                for pool in sorted(set(args.pool_sizes) | {default_pool}):
                    key = (variant, conc, None if pool == default_pool else pool)
                    if key in cells:
                        label = VARIANTS[variant]
                        pool_label = _pool_label(variant, pool, default_pool)
                        out.append(_row(label, conc, pool_label, cells[key], refs))
    errors = [
        f"- {VARIANTS[v]} at concurrency {c}: {cell['first_error']}"
        for (v, c, _), cell in cells.items()
        if cell.get("first_error")
    ]
    if errors:
        out.append("\nFirst error per cell with errors (errors count as calls for CPU/call):\n")
        out.extend(errors)
    if imports is not None:
        out.append("\n## Import\n")
        out.append(
            "Wall-clock import times move with load on the machine, so the goal is judged on"
            " the fastest run (least disturbed); compare with the reference rows, measured"
            " interleaved with it.\n"
        )
        out.append("| measure | fastest | median | slowest | goal (on fastest) |")
        out.append("|---|---:|---:|---:|---|")

        def line(what: str, values: list[float], goal: bool) -> None:
            best, median, worst = min(values), statistics.median(values), max(values)
            verdict = ("met" if best <= IMPORT_GOAL_MS else "NOT MET") if goal else "(info)"
            goal_text = f"≤ {IMPORT_GOAL_MS:g} ms: {verdict}" if goal else verdict
            out.append(
                f"| {what} | {best:.1f} ms | {median:.1f} ms | {worst:.1f} ms | {goal_text} |"
            )

        n = imports["runs"]
        line(
            f"`python -X importtime -c 'import cflow_async'`, cumulative, bytecode cached,"
            f" this venv ({n} runs)",
            imports["dev"],
            True,
        )
        line(
            "same, with httpx's optional CLI deps (click, rich, pygments) absent, as in a"
            " production install",
            imports["prod"],
            True,
        )
        line(
            "process CPU time of `import cflow_async` (less sensitive to load)",
            imports["cpu_ms"],
            False,
        )
        line(
            "`-X importtime`, no bytecode cache (1 run; how this dev tree runs with"
            " PYTHONDONTWRITEBYTECODE=1)",
            [imports["cold_ms"]],
            False,
        )
        for ref, values in imports["refs"].items():
            line(f"for reference: `import {ref}` alone (no httpx CLI deps)", values, False)
        leaked = imports["leaked"]
        names = ", ".join(NOT_IMPORTED)
        verdict = "none imported" if not leaked else "IMPORTED: " + ", ".join(leaked)
        out.append(f"| imported by `import cflow_async` among {names} | {verdict} | | | none |")
        top = ", ".join(f"{name} {ms:.1f}" for name, ms in imports["top"])
        out.append(
            "\nSelf time (ms) by top-level package under `import cflow_async`, fastest run"
            f" without httpx's CLI deps: {top}"
        )
    if bulk:
        out.append("\n## Bulk submit_records (rows from a generator)\n")
        out.append(
            "| backend | concurrency | rows | ok | rows/s | CPU µs/row | RSS growth MiB"
            " (sampled) | ru_maxrss growth MiB | goal < 20 MB |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for spec, res in bulk:
            if "failed" in res:
                out.append(
                    f"| {spec['backend']} | {spec['concurrency']} | failed: {res['failed']} |"
                )
                continue
            met = res["rss_growth_mb"] < BULK_RSS_GOAL_MB * 1e6 / 2**20
            out.append(
                f"| {spec['backend']} | {spec['concurrency']} | {res['rows']:,} | {res['ok']:,}"
                f" | {_fmt(res['rows_s'])} | {_fmt(res['cpu_us'])} | {res['rss_growth_mb']:.1f}"
                f" | {res['maxrss_growth_mb']:.1f} | {'met' if met else 'NOT MET'} |"
            )
    return "\n".join(out) + "\n"


def orchestrate(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    load_start = _loadavg()
    info = machine_info()
    try:
        from cflow_async._client import DEFAULT_MAX_CONNECTIONS as default_pool
    except ImportError:  # pragma: no cover - the constant moved; fall back to "unknown"
        default_pool = 0
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) >= 2 and not args.no_pin:
        client_cpu, server_cpu = cpus[0], cpus[-1]
        pinning = f"client processes on CPU {client_cpu}, server on CPU {server_cpu}"
    else:
        client_cpu = server_cpu = None
        pinning = "none (fewer than 2 CPUs available, or --no-pin)"
    pycache = tempfile.mkdtemp(prefix="cflow-bench-pycache-")
    atexit.register(shutil.rmtree, pycache, True)
    env = _child_env(pycache)
    # Compile everything once so no measured process pays for it (or counts it in RSS).
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import aiohttp, httpx, httpx_aiohttp, cflow_async,"
            " cflow_async._aiohttp, cflow_async._bulk",
        ],
        env=env,
        check=True,
    )
    server = Server(server_cpu)
    try:
        base = {
            "mode": "http",
            "base": server.url,
            "server_pid": server.pid,
            "cpu": client_cpu,
            "calls": args.calls,
            "seconds": args.seconds,
            "warmup_seconds": args.warmup_seconds,
        }
        if args.profile:
            spec = {
                **base,
                "variant": args.profile,
                "concurrency": args.concurrency[0],
                "profile": True,
                "profile_top": args.profile_top,
            }
            result = run_worker(spec, env, timeout=args.seconds * 10 + 120, show_stderr=True)
            print(json.dumps(result, indent=2))
            return 0 if "failed" not in result else 1

        plan: list[tuple[str, int, int | None]] = [
            (v, c, None) for c in args.concurrency for v in args.variants
        ]
        for variant in args.pool_variants:
            if variant not in args.variants:
                continue
            for conc in args.pool_concurrency:
                for pool in [None, *(p for p in args.pool_sizes if p != default_pool)]:
                    if (variant, conc, pool) not in plan:
                        plan.append((variant, conc, pool))
        results: dict[tuple[str, int, int | None], list[dict[str, Any]]] = {k: [] for k in plan}
        total = len(plan) * args.repeats
        n = 0
        for rep in range(args.repeats):
            order = plan if rep % 2 == 0 else list(reversed(plan))
            for variant, conc, pool in order:
                n += 1
                spec = {**base, "variant": variant, "concurrency": conc, "pool": pool}
                res = run_worker(spec, env, timeout=args.seconds + args.warmup_seconds + 90)
                results[(variant, conc, pool)].append(res)
                what = f"{variant} conc={conc}" + (f" pool={pool}" if pool else "")
                if "failed" in res:
                    summary = res["failed"]
                else:
                    summary = (
                        f"{res['cpu_us']:.0f} µs/call, {res['calls_s']:.0f} calls/s,"
                        f" {res['peak_rss_mb']:.1f} MiB, server {res['server_cpu_pct'] or 0:.0f}%"
                        + (f", {res['errors']} errors" if res["errors"] else "")
                    )
                print(f"[{n}/{total}] {what}: {summary}", file=sys.stderr, flush=True)
        cells = {k: summarize(v) for k, v in results.items()}

        bulk: list[tuple[dict[str, Any], dict[str, Any]]] = []
        if args.bulk_rows:
            for backend, conc in args.bulk:
                spec = {
                    "mode": "bulk",
                    "base": server.url,
                    "cpu": client_cpu,
                    "backend": backend,
                    "concurrency": conc,
                    "rows": args.bulk_rows,
                }
                res = run_worker(spec, env, timeout=300)
                bulk.append((spec, res))
                print(f"bulk {backend} conc={conc}: {res}", file=sys.stderr, flush=True)
    finally:
        server.stop()

    imports = None if args.no_imports else measure_imports(env, args.import_runs, client_cpu)
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "elapsed": time.perf_counter() - started,
        "load_start": load_start,
        "load_end": _loadavg(),
        "pinning": pinning,
    }
    text = render(args, info, cells, default_pool, imports, bulk, meta)
    print(text)
    output = args.output if args.output is not None else (None if args.quick else RESULTS)
    if output is not None:
        Path(output).write_text(text, encoding="utf-8")
        print(f"written to {output}", file=sys.stderr)
    return 0


def _bulk_spec(text: str) -> tuple[str, int]:
    backend, _, conc = text.partition(":")
    if backend not in ("aiohttp", "httpx") or not conc.isdigit():
        raise argparse.ArgumentTypeError("expected BACKEND:CONCURRENCY, e.g. aiohttp:8")
    return backend, int(conc)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the facade against raw aiohttp, raw httpx and httpx-aiohttp.",
    )
    parser.add_argument("--quick", action="store_true", help="a short run; printed only")
    parser.add_argument("--repeats", type=int, help="round-robin repeats (default 3, quick 1)")
    parser.add_argument("--calls", type=int, help="calls per measured run (default 4000)")
    parser.add_argument("--seconds", type=float, help="time cap per measured run (1.5; quick 1)")
    parser.add_argument("--warmup-seconds", type=float, help="warm-up time cap (0.5; quick 0.3)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=list(CONCURRENCY), help="default 1 64 512"
    )
    parser.add_argument(
        "--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS), metavar="V"
    )
    parser.add_argument(
        "--pool-sizes",
        type=int,
        nargs="*",
        default=list(POOL_SIZES),
        help="facade max_connections to compare (default 10 32 100; the default is always in)",
    )
    parser.add_argument(
        "--pool-concurrency",
        type=int,
        nargs="*",
        help="concurrency levels for the pool-size table (default 64 512; quick: 512)",
    )
    parser.add_argument(
        "--pool-variants",
        nargs="*",
        choices=["facade-httpx", "facade-aiohttp"],
        help="facade backends in the pool-size table (default both; quick: httpx)",
    )
    parser.add_argument("--bulk-rows", type=int, help="rows per submit_records run")
    parser.add_argument(
        "--bulk",
        type=_bulk_spec,
        nargs="*",
        metavar="BACKEND:CONC",
        help="submit_records runs (default aiohttp:8 httpx:8 aiohttp:64; quick: no :64)",
    )
    parser.add_argument("--import-runs", type=int, help="default 5, quick 3")
    parser.add_argument("--no-imports", action="store_true", help="skip the import checks")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--output", type=Path, help=f"markdown file (default {RESULTS.name})")
    parser.add_argument(
        "--profile",
        choices=list(VARIANTS),
        help="instead of the tables, cProfile one variant at the first --concurrency level",
    )
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    if args.repeats is None:
        args.repeats = 1 if quick else 3
    if args.calls is None:
        args.calls = 1500 if quick else 4000
    if args.seconds is None:
        args.seconds = 1.0 if quick else 1.5
    if args.warmup_seconds is None:
        args.warmup_seconds = 0.3 if quick else 0.5
    if args.bulk_rows is None:
        args.bulk_rows = 2000 if quick else 10_000
    if quick and args.pool_sizes == list(POOL_SIZES):
        args.pool_sizes = [10, 100]
    if args.pool_concurrency is None:
        args.pool_concurrency = [512] if quick else list(POOL_CONCURRENCY)
    if args.pool_variants is None:
        args.pool_variants = ["facade-httpx"] if quick else ["facade-httpx", "facade-aiohttp"]
    if args.import_runs is None:
        args.import_runs = 3 if quick else 5
    if args.bulk is None:
        args.bulk = [("aiohttp", 8), ("httpx", 8)]
        if not quick:
            args.bulk.append(("aiohttp", 64))
    if args.profile and args.concurrency == list(CONCURRENCY):
        args.concurrency = [64]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker is not None:
        worker_main(json.loads(args.worker))
        return 0
    # SIGTERM (e.g. from make's caller) must still run the finally that stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())
