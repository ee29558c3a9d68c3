"""Command-line options of ``python -m scripts.bench`` and their quick/full defaults."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import (
    CONCURRENCY,
    OPENAPI_CONCURRENCY,
    OTEL_CONCURRENCY,
    POOL_CONCURRENCY,
    POOL_SIZES,
    RESULTS,
    SECTIONS,
    VARIANTS,
)


def _bulk_spec(text: str) -> tuple[str, int]:
    backend, _, conc = text.partition(":")
    if backend not in ("aiohttp", "httpx") or not conc.isdigit():
        raise argparse.ArgumentTypeError("expected BACKEND:CONCURRENCY, e.g. aiohttp:8")
    return backend, int(conc)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench",
        description="Benchmark the facade against raw aiohttp, raw httpx and httpx-aiohttp,"
        " and the sandbox served by run_sandbox() against plain uvicorn.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a short run; printed only unless --output"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        metavar="SECTION",
        help=f"run only these sections ({', '.join(SECTIONS)}; default: all)."
        " imports: the time of `import cflow_async`; import: import_records of a CSV",
    )
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
    parser.add_argument(
        "--openapi-concurrency",
        type=int,
        nargs="+",
        default=list(OPENAPI_CONCURRENCY),
        help="concurrency levels of the requests.list table (default 1 64)",
    )
    parser.add_argument(
        "--otel-concurrency",
        type=int,
        nargs="+",
        default=list(OTEL_CONCURRENCY),
        help="concurrency levels of the hooks/OpenTelemetry table (default 1 64)",
    )
    parser.add_argument(
        "--import-rows", type=int, help="rows of the CSV import (default 1000000; quick 20000)"
    )
    parser.add_argument(
        "--import-concurrency", type=int, default=32, help="import_records concurrency (32)"
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
    parser.add_argument(
        "--profile-call",
        choices=["getworkflows", "requests"],
        default="getworkflows",
        help="the call --profile measures: get_workflows() or requests.list (issue 11)",
    )
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument(
        "--sandbox-calls", type=int, help="calls per sandbox latency cell (default 2000; quick 300)"
    )
    parser.add_argument(
        "--sandbox-seconds", type=float, help="time cap per sandbox latency cell (5; quick 3)"
    )
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
    if args.import_rows is None:
        args.import_rows = 20_000 if quick else 1_000_000
    if args.import_runs is None:
        args.import_runs = 3 if quick else 5
    if args.bulk is None:
        args.bulk = [("aiohttp", 8), ("httpx", 8)]
        if not quick:
            args.bulk.append(("aiohttp", 64))
    if args.sandbox_calls is None:
        args.sandbox_calls = 300 if quick else 2000
    if args.sandbox_seconds is None:
        args.sandbox_seconds = 3.0 if quick else 5.0
    sections = list(args.only or SECTIONS)
    if args.no_imports and "imports" in sections:
        sections.remove("imports")
    if not args.bulk_rows and "bulk" in sections:
        sections.remove("bulk")
    if not args.import_rows and "import" in sections:
        sections.remove("import")
    if args.profile:
        sections = ["http"]
    args.sections = sections
    if args.profile and args.concurrency == list(CONCURRENCY):
        args.concurrency = [64]
    return args
