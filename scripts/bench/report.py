"""Report: the markdown tables of a run (printed, and written to scripts/bench_results.md).

Pure formatting: every function takes the measured numbers and returns text, so it can be
checked on known input without running anything.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass, field
from typing import Any

from .common import (
    BULK_RSS_GOAL_MB,
    IMPORT_GOAL_MS,
    NOT_IMPORTED,
    OPENAPI_GOAL,
    OPENAPI_VARIANTS,
    SANDBOX_CALLS,
    SANDBOX_SERVERS,
    VARIANTS,
)
from .csv_import import import_table
from .otel import otel_table

Cells = dict[tuple[str, int, "int | None"], dict[str, Any]]


@dataclass
class Results:
    """Everything one run measured; a section left empty was not run (see ``--only``)."""

    default_pool: int = 0
    #: (variant, concurrency, pool or None for the default) -> summary across repeats.
    cells: Cells = field(default_factory=dict)
    imports: dict[str, Any] | None = None
    bulk: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    #: (server, backend, call) -> summary across repeats.
    sandbox: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    #: requests.list cells, keyed like ``cells``.
    openapi: Cells = field(default_factory=dict)
    #: (hooks kind, concurrency, None) -> summary across repeats.
    otel: Cells = field(default_factory=dict)
    #: (worker spec, result) of the CSV import, if run.
    csv_import: tuple[dict[str, Any], dict[str, Any]] | None = None


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


def _header(
    args: argparse.Namespace, info: dict[str, str], meta: dict[str, Any], results: Results
) -> list[str]:
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
    if results.cells or results.openapi or results.otel:
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
            f" (max_connections={results.default_pool})."
        )
    return out


def _http_tables(args: argparse.Namespace, cells: Cells, default_pool: int) -> list[str]:
    out: list[str] = []
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
    # An empty --pool-variants or --pool-sizes leaves the pool table out, heading and all.
    if args.pool_sizes and args.pool_concurrency and args.pool_variants:
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
    return out


def openapi_table(args: argparse.Namespace, cells: Cells, default_pool: int) -> list[str]:
    """The requests.list rows, in the per-call table's columns, and the verdict on issue
    11's goal (facade CPU per call at most OPENAPI_GOAL x raw aiohttp's) per backend."""
    out = [
        '\n## OpenAPI call: `cflow.requests.list("wf-1")` (5 typed requests)\n',
        "GET .../cflow/workflows/wf-1/requests with the auth headers, answered with a JSON"
        " array of 5 requests shaped like the OpenAPI document's `Request` (~1.3 kB: id,"
        " workflowId, status, currentStage, 2-3 fields, submittedBy, createdAt/updatedAt);"
        " raw aiohttp `json.loads` the body, raw httpx `.json()`, the facade builds 5 typed"
        " `Request` models (datetimes parsed). Same method as the per-call table.\n",
        _HEADER,
    ]
    verdicts = []
    for conc in args.openapi_concurrency:
        refs = [cells.get((k, conc, None), {}) for k in ("raw-aiohttp", "raw-httpx")]
        for variant in OPENAPI_VARIANTS:
            cell = cells.get((variant, conc, None))
            if cell is None:
                continue
            out.append(
                _row(VARIANTS[variant], conc, _pool_label(variant, None, default_pool), cell, refs)
            )
            # The goal is about the default backend against raw aiohttp; the httpx backend
            # is reported against raw httpx, its own transport, for information.
            ref = refs[0 if variant == "facade-aiohttp" else 1].get("cpu_us")
            if variant.startswith("facade") and cell.get("cpu_us") and ref:
                ratio = cell["cpu_us"] / ref
                if variant == "facade-aiohttp":
                    met = "met" if ratio <= OPENAPI_GOAL else "NOT MET"
                    verdicts.append(f"aiohttp backend at {conc}: {ratio:.2f}x raw aiohttp ({met})")
                else:
                    verdicts.append(f"httpx backend at {conc}: {ratio:.2f}x raw httpx (info)")
    if verdicts:
        out.append(
            f"\nGoal (issue 11): the facade's CPU per call ≤ {OPENAPI_GOAL:g}x raw aiohttp's. "
            + "; ".join(verdicts)
            + "."
        )
    return out


def _import_table(imports: dict[str, Any]) -> list[str]:
    out: list[str] = []
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
        out.append(f"| {what} | {best:.1f} ms | {median:.1f} ms | {worst:.1f} ms | {goal_text} |")

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
    return out


def _bulk_table(bulk: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[str]:
    out: list[str] = []
    out.append("\n## Bulk submit_records (rows from a generator)\n")
    out.append(
        "| backend | concurrency | rows | ok | rows/s | CPU µs/row | RSS growth MiB"
        " (sampled) | ru_maxrss growth MiB | goal < 20 MB |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for spec, res in bulk:
        if "failed" in res:
            out.append(f"| {spec['backend']} | {spec['concurrency']} | failed: {res['failed']} |")
            continue
        met = res["rss_growth_mb"] < BULK_RSS_GOAL_MB * 1e6 / 2**20
        out.append(
            f"| {spec['backend']} | {spec['concurrency']} | {res['rows']:,} | {res['ok']:,}"
            f" | {_fmt(res['rows_s'])} | {_fmt(res['cpu_us'])} | {res['rss_growth_mb']:.1f}"
            f" | {res['maxrss_growth_mb']:.1f} | {'met' if met else 'NOT MET'} |"
        )
    return out


def summarize_sandbox(runs: list[dict[str, Any]]) -> dict[str, Any]:
    good = [r for r in runs if "failed" not in r]
    if not good:
        return {"failed": runs[0]["failed"] if runs else "not run"}
    return {
        key: _median([r[key] for r in good])
        for key in ("p50_ms", "p99_ms", "calls_s", "calls", "cpu_us")
    }


def _latency(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "not run"
    if "failed" in cell:
        return f"failed: {cell['failed']}"
    return f"{_fmt(cell['p50_ms'], 2)} / {_fmt(cell['p99_ms'], 2)}"


def sandbox_table(
    args: argparse.Namespace, sandbox: dict[tuple[str, str, str], dict[str, Any]]
) -> list[str]:
    """One row per backend and call, the two ways of serving side by side."""
    ours, plain = "run_sandbox", "uvicorn"
    out = [
        "\n## Sandbox per-call latency (concurrency 1)\n",
        "The sandbox (`cflow_async.sandbox.create_app()`, in-memory state) in its own process,"
        f" served by {SANDBOX_SERVERS[ours]} and by a plain"
        ' `uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=...,'
        ' log_level="warning"))` (no access log, like run_sandbox); the facade in a fresh'
        " client process makes one call at a time and times each, after a warm-up: up to"
        f" {args.sandbox_calls} calls or {args.sandbox_seconds:g} s per cell, medians across"
        f" {args.repeats} repeat(s). Ratios are run_sandbox / uvicorn: above 1.00x the"
        " library's serving is slower (p50) or, for calls/s, faster.\n",
        f"| backend | call | {SANDBOX_SERVERS[ours]} p50 / p99 ms"
        f" | {SANDBOX_SERVERS[plain]} p50 / p99 ms | p50 ratio"
        f" | {SANDBOX_SERVERS[ours]} calls/s | {SANDBOX_SERVERS[plain]} calls/s"
        " | calls/s ratio | calls/cell |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    backends = sorted({backend for _, backend, _ in sandbox})
    for backend in backends:
        for call, label in SANDBOX_CALLS.items():
            a, b = sandbox.get((ours, backend, call)), sandbox.get((plain, backend, call))
            if a is None and b is None:
                continue
            good_a = a if a and "failed" not in a else {}
            good_b = b if b and "failed" not in b else {}
            counts = "/".join(_fmt(c.get("calls")) for c in (good_a, good_b) if c)
            out.append(
                f"| {backend} | {label} | {_latency(a)} | {_latency(b)}"
                f" | {_ratio(good_a.get('p50_ms'), good_b.get('p50_ms'))}"
                f" | {_fmt(good_a.get('calls_s'))} | {_fmt(good_b.get('calls_s'))}"
                f" | {_ratio(good_a.get('calls_s'), good_b.get('calls_s'))} | {counts or 'n/a'} |"
            )
    return out


def render(
    args: argparse.Namespace, info: dict[str, str], meta: dict[str, Any], results: Results
) -> str:
    out = _header(args, info, meta, results)
    if results.cells:
        out += _http_tables(args, results.cells, results.default_pool)
    if results.openapi:
        out += openapi_table(args, results.openapi, results.default_pool)
    if results.otel:
        out += otel_table(args, results.otel, _fmt)
    if results.imports is not None:
        out += _import_table(results.imports)
    if results.bulk:
        out += _bulk_table(results.bulk)
    if results.sandbox:
        out += sandbox_table(args, results.sandbox)
    if results.csv_import is not None:
        out += import_table(*results.csv_import, _fmt)
    return "\n".join(out) + "\n"
