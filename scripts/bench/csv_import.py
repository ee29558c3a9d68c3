"""The import section (issue 14): ``import_records`` of an N-row CSV, generated on the fly,
into the sandbox; rows/s and the importer's RSS growth. Folded in from the former
standalone ``scripts/bench_import.py`` (``make bench-import ROWS=...`` is now an alias of
``--only import --import-rows ROWS``).

The sandbox runs in its own process on the server CPU (runner.py starts it); the worker
process, on the client CPU, only imports, so the RSS measured is the importer's alone: the
baseline is taken once the CSV is written and the client has made its first call, the
peak is sampled every 0.2 s during the import. The goal is a growth under 50 MB whatever
N: every stage is bounded (the reader streams, the queue holds ``2 x concurrency`` rows,
the journal is on disk).
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from .common import IMPORT_RSS_GOAL_MB, bench_client

#: A sandbox workflow keyed by the sheet's row number column, as a Google Sheets export is.
WORKFLOW = "User Workflow"
KEY = "GoogleSheetRowNumber"


def _rss_mb() -> float:
    with open("/proc/self/statm") as file:
        pages = int(file.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def write_sheet(path: Path, rows: int) -> None:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Name", "Email", "City", "Phone", KEY])
        for number in range(2, rows + 2):
            writer.writerow(
                [f"name {number}", f"r{number}@example.com", "trichy", f"+91 {number:010d}", number]
            )


async def _import(spec: dict[str, Any], sheet: Path) -> dict[str, Any]:
    conc = spec["concurrency"]
    async with bench_client(spec["base"], max_connections=max(conc, 10)) as cflow:
        await cflow.check_connection()
        baseline = peak = _rss_mb()
        done = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _rss_mb())
                await asyncio.sleep(0.2)

        sampler = asyncio.create_task(sample())
        wall0, cpu0 = time.perf_counter(), time.process_time()
        summary = await cflow.import_records(WORKFLOW, sheet, key=KEY, concurrency=conc)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        done.set()
        await sampler
        peak = max(peak, _rss_mb())
    return {
        "submitted": summary.submitted,
        "complete": summary.complete,
        "seconds": wall,
        "rows_s": summary.submitted / wall,
        "cpu_us": 1e6 * cpu / max(summary.submitted, 1),
        "rss_baseline_mb": baseline,
        "rss_peak_mb": peak,
        "rss_growth_mb": peak - baseline,
    }


def _sizes_and_count(sheet: Path, base: str) -> dict[str, Any]:
    """After the import (so blocking here costs the measurement nothing): file sizes, and
    the sandbox's own count, to check every row landed exactly once."""
    with urllib.request.urlopen(f"{base}/__sandbox__/stats", timeout=60) as resp:
        records = json.loads(resp.read())["records_stored"]
    return {
        "csv_mb": sheet.stat().st_size / 1e6,
        "journal_mb": Path(f"{sheet}.journal.sqlite").stat().st_size / 1e6,
        "sandbox_records": records,
    }


async def import_worker(spec: dict[str, Any]) -> dict[str, Any]:
    rows = spec["rows"]
    with tempfile.TemporaryDirectory(prefix="cflow-bench-import-") as tmp:
        sheet = Path(tmp) / "sheet.csv"
        t0 = time.perf_counter()
        write_sheet(sheet, rows)
        generated = time.perf_counter() - t0
        result = await _import(spec, sheet)
        result.update(_sizes_and_count(sheet, spec["base"]))
    result.update(rows=rows, concurrency=spec["concurrency"], csv_generated_s=generated)
    return result


def import_table(spec: dict[str, Any], res: dict[str, Any], fmt: Any) -> list[str]:
    out = [
        "\n## Import a CSV into the sandbox (`import_records`)\n",
        f"A {spec['rows']:,}-row CSV (5 columns, keyed by `{KEY}`) generated before the"
        f" clock starts, imported into the sandbox's `{WORKFLOW}` at concurrency"
        f" {spec['concurrency']} on the aiohttp backend; the sandbox (run_sandbox(), in"
        " memory) is in its own process on the other CPU and is the bottleneck. RSS is the"
        " importer's process, sampled every 0.2 s, against its size after the first call.\n",
        "| rows | submitted | sandbox records | seconds | rows/s | CPU µs/row"
        " | RSS baseline MB | RSS peak MB | RSS growth MB | goal < 50 MB | journal MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    if "failed" in res:
        out.append(f"| {spec['rows']:,} | failed: {res['failed']} |" + " |" * 9)
        return out
    exact = res["sandbox_records"] == spec["rows"] and res["complete"]
    met = "met" if res["rss_growth_mb"] < IMPORT_RSS_GOAL_MB else "NOT MET"
    out.append(
        f"| {spec['rows']:,} | {res['submitted']:,} | {res['sandbox_records']:,}"
        + ("" if exact else " (NOT one per row)")
        + f" | {fmt(res['seconds'], 1)} | {fmt(res['rows_s'])} | {fmt(res['cpu_us'])}"
        f" | {fmt(res['rss_baseline_mb'], 1)} | {fmt(res['rss_peak_mb'], 1)}"
        f" | {fmt(res['rss_growth_mb'], 1)} | {met} | {fmt(res['journal_mb'], 1)} |"
    )
    return out
