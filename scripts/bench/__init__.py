"""`make bench`: the facade against raw aiohttp, raw httpx and httpx-aiohttp, and the
sandbox's serving against plain uvicorn.

    .venv/bin/python -m scripts.bench                  # full run (minutes), writes
                                                       # scripts/bench_results.md
    .venv/bin/python -m scripts.bench --quick          # short run, printed only
    .venv/bin/python -m scripts.bench --quick --only sandbox
    .venv/bin/python -m scripts.bench --profile facade-aiohttp --concurrency 64
    make bench BENCH_ARGS='--quick --only http'

Sections (``--only``): ``http`` (CPU per call and calls/s of each client against a canned
server, and the facade's pool sizes), ``bulk`` (submit_records rows/s and RSS growth),
``imports`` (``import cflow_async`` time and what it pulls in), ``sandbox`` (per-call
latency p50/p99 and calls/s against the sandbox, run_sandbox() vs plain uvicorn).

Modules: ``runner`` (orchestration), ``options`` (arguments), ``workers`` (one measurement
per fresh process), ``servers`` and ``canned_server`` (the servers measured against),
``imports`` (import timing), ``report`` (markdown), ``common`` (shared names).
"""
