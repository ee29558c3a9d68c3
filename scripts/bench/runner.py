"""Orchestrator: starts the servers, runs every cell in a fresh worker process, renders.

Client cells are pinned to one CPU and servers to another (when two are available), and
cells run round-robin, ``--repeats`` times, so drift on the machine hits them all alike.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from .common import (
    OPENAPI_VARIANTS,
    OTEL_HOOKS,
    RESULTS,
    ROOT,
    SANDBOX_BACKENDS,
    SANDBOX_CALLS,
    SANDBOX_SERVERS,
)
from .imports import measure_imports
from .options import parse_args
from .report import Results, render, summarize, summarize_sandbox
from .servers import Server, canned_server, sandbox_server


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
    # -m from the repository root: the worker imports this package, not a copy by path.
    cmd = [sys.executable, "-m", "scripts.bench", "--worker", json.dumps(spec)]
    try:
        proc = subprocess.run(
            cmd,
            env=env,
            capture_output=not show_stderr,
            stdout=subprocess.PIPE if show_stderr else None,
            text=True,
            timeout=timeout,
            check=False,
            cwd=ROOT,
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


class _Cpus:
    """Where clients and servers run: two different CPUs when there are two."""

    def __init__(self, no_pin: bool) -> None:
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        if len(cpus) >= 2 and not no_pin:
            self.client: int | None = cpus[0]
            self.server: int | None = cpus[-1]
            self.pinning = f"client processes on CPU {self.client}, servers on CPU {self.server}"
        else:
            self.client = self.server = None
            self.pinning = "none (fewer than 2 CPUs available, or --no-pin)"


def _describe(res: dict[str, Any]) -> str:
    if "failed" in res:
        return str(res["failed"])
    return (
        f"{res['cpu_us']:.0f} µs/call, {res['calls_s']:.0f} calls/s,"
        f" {res['peak_rss_mb']:.1f} MiB, server {res['server_cpu_pct'] or 0:.0f}%"
        + (f", {res['errors']} errors" if res["errors"] else "")
    )


def _run_cells(
    plan: list[tuple[Any, dict[str, Any], str]], args: argparse.Namespace, env: dict[str, str]
) -> dict[Any, dict[str, Any]]:
    """Run each (key, worker spec, label) cell ``--repeats`` times, round-robin, reversing
    the order on odd rounds; the median summary of each key."""
    runs: dict[Any, list[dict[str, Any]]] = {key: [] for key, _, _ in plan}
    total = len(plan) * args.repeats
    n = 0
    for rep in range(args.repeats):
        for key, spec, label in plan if rep % 2 == 0 else list(reversed(plan)):
            n += 1
            res = run_worker(spec, env, timeout=args.seconds + args.warmup_seconds + 90)
            runs[key].append(res)
            print(f"[{n}/{total}] {label}: {_describe(res)}", file=sys.stderr, flush=True)
    return {key: summarize(v) for key, v in runs.items()}


def _run_http(
    args: argparse.Namespace, env: dict[str, str], cpus: _Cpus, results: Results
) -> int | None:
    """Everything against the canned server: the per-call and pool-size tables, the
    OpenAPI call, hooks, bulk submission. Returns an exit status in --profile mode (which
    prints a profile instead of tables)."""
    default_pool = results.default_pool
    server = canned_server(cpus.server, env)
    try:
        base = {
            "mode": "http",
            "base": server.url,
            "server_pid": server.pid,
            "cpu": cpus.client,
            "calls": args.calls,
            "seconds": args.seconds,
            "warmup_seconds": args.warmup_seconds,
        }
        if args.profile:
            spec = {
                **base,
                "variant": args.profile,
                "call": args.profile_call,
                "concurrency": args.concurrency[0],
                "profile": True,
                "profile_top": args.profile_top,
            }
            result = run_worker(spec, env, timeout=args.seconds * 10 + 120, show_stderr=True)
            print(json.dumps(result, indent=2))
            return 0 if "failed" not in result else 1
        if "http" in args.sections:
            keys: list[tuple[str, int, int | None]] = [
                (v, c, None) for c in args.concurrency for v in args.variants
            ]
            for variant in args.pool_variants:
                if variant not in args.variants:
                    continue
                for conc in args.pool_concurrency:
                    for pool in [None, *(p for p in args.pool_sizes if p != default_pool)]:
                        if (variant, conc, pool) not in keys:
                            keys.append((variant, conc, pool))
            plan = [
                (
                    (v, c, p),
                    {**base, "variant": v, "concurrency": c, "pool": p},
                    f"{v} conc={c}" + (f" pool={p}" if p else ""),
                )
                for v, c, p in keys
            ]
            results.cells = _run_cells(plan, args, env)
        if "openapi" in args.sections:
            plan = [
                (
                    (v, c, None),
                    {**base, "variant": v, "concurrency": c, "call": "requests"},
                    f"requests.list {v} conc={c}",
                )
                for c in args.openapi_concurrency
                for v in OPENAPI_VARIANTS
            ]
            results.openapi = _run_cells(plan, args, env)
        if "otel" in args.sections:
            plan = [
                (
                    (kind, c, None),
                    {**base, "variant": "facade-aiohttp", "concurrency": c, "hooks": kind},
                    f"hooks={kind} conc={c}",
                )
                for c in args.otel_concurrency
                for kind in OTEL_HOOKS
            ]
            results.otel = _run_cells(plan, args, env)
        if "bulk" in args.sections:
            for backend, conc in args.bulk:
                spec = {
                    "mode": "bulk",
                    "base": server.url,
                    "cpu": cpus.client,
                    "backend": backend,
                    "concurrency": conc,
                    "rows": args.bulk_rows,
                }
                res = run_worker(spec, env, timeout=300)
                results.bulk.append((spec, res))
                print(f"bulk {backend} conc={conc}: {res}", file=sys.stderr, flush=True)
    finally:
        server.stop()
    return None


def _run_import(
    args: argparse.Namespace, env: dict[str, str], cpus: _Cpus, results: Results
) -> None:
    """One import_records run into a fresh sandbox on the server CPU."""
    server = sandbox_server("run_sandbox", cpus.server, env)
    try:
        spec = {
            "mode": "import",
            "base": server.url,
            "cpu": cpus.client,
            "rows": args.import_rows,
            "concurrency": args.import_concurrency,
        }
        # Generous: 1,000,000 rows take minutes even when the sandbox keeps up.
        res = run_worker(spec, env, timeout=120 + args.import_rows / 200)
        results.csv_import = (spec, res)
        print(f"import {args.import_rows:,} rows: {res}", file=sys.stderr, flush=True)
    finally:
        server.stop()


def _run_sandbox(
    args: argparse.Namespace, env: dict[str, str], cpus: _Cpus, results: Results
) -> None:
    """Per-call latency against the sandbox, served both ways at once (both on the server
    CPU, only one busy at a time), cells round-robin across servers."""
    servers: dict[str, Server] = {}
    try:
        for kind in SANDBOX_SERVERS:
            servers[kind] = sandbox_server(kind, cpus.server, env)
        plan = [
            (kind, backend, call)
            for backend in SANDBOX_BACKENDS
            for call in SANDBOX_CALLS
            for kind in SANDBOX_SERVERS
        ]
        runs: dict[tuple[str, str, str], list[dict[str, Any]]] = {k: [] for k in plan}
        total = len(plan) * args.repeats
        n = 0
        for rep in range(args.repeats):
            for kind, backend, call in plan if rep % 2 == 0 else list(reversed(plan)):
                n += 1
                spec = {
                    "mode": "sandbox",
                    "base": servers[kind].url,
                    "cpu": cpus.client,
                    "backend": backend,
                    "call": call,
                    "calls": args.sandbox_calls,
                    "seconds": args.sandbox_seconds,
                    "warmup_calls": min(20, args.sandbox_calls),
                    "warmup_seconds": 1.0,
                }
                res = run_worker(spec, env, timeout=args.sandbox_seconds + 90)
                runs[(kind, backend, call)].append(res)
                summary = res.get("failed") or (
                    f"p50 {res['p50_ms']:.2f} ms, p99 {res['p99_ms']:.2f} ms,"
                    f" {res['calls_s']:.0f} calls/s ({res['calls']} calls)"
                )
                print(
                    f"[{n}/{total}] sandbox {kind} {backend} {call}: {summary}",
                    file=sys.stderr,
                    flush=True,
                )
        results.sandbox = {k: summarize_sandbox(v) for k, v in runs.items()}
    finally:
        for server in servers.values():
            server.stop()


def orchestrate(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    load_start = _loadavg()
    info = machine_info()
    from cflow_async._constants import DEFAULT_MAX_CONNECTIONS

    results = Results(default_pool=DEFAULT_MAX_CONNECTIONS)
    cpus = _Cpus(args.no_pin)
    pycache = tempfile.mkdtemp(prefix="cflow-bench-pycache-")
    atexit.register(shutil.rmtree, pycache, True)
    env = _child_env(pycache)
    # Compile everything once so no measured process pays for it (or counts it in RSS).
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import aiohttp, httpx, httpx_aiohttp, cflow_async,"
            " cflow_async._aiohttp, cflow_async._bulk, cflow_async.sandbox,"
            " cflow_async.importer, cflow_async.otel, scripts.bench.workers,"
            " scripts.bench.servers, scripts.bench.otel",
        ],
        env=env,
        check=True,
        cwd=ROOT,
    )
    if args.profile or {"http", "openapi", "otel", "bulk"} & set(args.sections):
        status = _run_http(args, env, cpus, results)
        if status is not None:
            return status
    if "sandbox" in args.sections:
        _run_sandbox(args, env, cpus, results)
    if "imports" in args.sections:
        results.imports = measure_imports(env, args.import_runs, cpus.client)
    if "import" in args.sections:
        _run_import(args, env, cpus, results)
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "elapsed": time.perf_counter() - started,
        "load_start": load_start,
        "load_end": _loadavg(),
        "pinning": cpus.pinning,
    }
    text = render(args, info, meta, results)
    print(text)
    output = args.output if args.output is not None else (None if args.quick else RESULTS)
    if output is not None:
        Path(output).write_text(text, encoding="utf-8")
        print(f"written to {output}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker is not None:
        from .workers import worker_main

        worker_main(json.loads(args.worker))
        return 0
    # SIGTERM (e.g. from make's caller) must still run the finally that stops the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return orchestrate(args)
