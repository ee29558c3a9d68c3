"""`make bench`: the facade against raw aiohttp, raw httpx and httpx-aiohttp, and the
sandbox's serving against plain uvicorn.

    .venv/bin/python -m scripts.bench                  # full run (minutes), writes
                                                       # scripts/bench_results.md
    .venv/bin/python -m scripts.bench --quick          # short run, printed only
    .venv/bin/python -m scripts.bench --quick --only sandbox
    .venv/bin/python -m scripts.bench --profile facade-aiohttp --concurrency 64
    .venv/bin/python -m scripts.bench --profile facade-aiohttp --profile-call requests
    make bench BENCH_ARGS='--quick --only http'
    make bench-import ROWS=1000000                     # = --only import --import-rows N

Sections (``--only``): ``http`` (CPU per call and calls/s of each client against a canned
server, and the facade's pool sizes), ``openapi`` (the same for ``requests.list``, 5 typed
requests, issue 11), ``otel`` (CPU per call added by a no-op hook and OpenTelemetryHooks,
issue 12), ``bulk`` (submit_records rows/s and RSS growth), ``imports``
(``import cflow_async`` time and what it pulls in), ``import`` (import_records of an
N-row CSV into the sandbox: rows/s and RSS growth, issue 14), ``sandbox`` (per-call
latency p50/p99 and calls/s against the sandbox, run_sandbox() vs plain uvicorn).

Modules: ``runner`` (orchestration), ``options`` (arguments), ``workers`` (one measurement
per fresh process), ``servers`` and ``canned_server`` (the servers measured against),
``imports`` (import timing), ``otel`` (hooks for the otel section, its table),
``csv_import`` (the import section's worker and table), ``report`` (markdown),
``common`` (shared names).
"""
