"""Benchmark ``import_records``: a CSV of N rows, generated on the fly, into a sandbox.

    python scripts/bench_import.py [--rows 1000000] [--concurrency 32]

The sandbox runs as a child process (``SandboxProcess``); the import runs in this one, so
the RSS measured is the importer's alone: the baseline is taken once the client has made
its first call, the peak is sampled every 0.2 s during the import. The goal is an RSS
growth under 50 MB whatever N: every stage is bounded (the reader streams, the queue
holds ``2 x concurrency`` rows, the journal is on disk).

Prints one JSON object (rows, seconds, rows/s, RSS baseline/peak/growth in MB, journal
size, commits) and checks that the sandbox ends with exactly N records.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "generated"))

from cflow_async import CflowClient  # noqa: E402
from cflow_async.sandbox import SandboxProcess  # noqa: E402

WORKFLOW = "User Workflow"
KEY = "GoogleSheetRowNumber"


def rss_mb() -> float:
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


async def bench(args: argparse.Namespace, sandbox: SandboxProcess, sheet: Path) -> dict[str, Any]:
    async with CflowClient(
        api_key=sandbox.api_key,
        user_key=sandbox.user_key,
        username=sandbox.username,
        base_url=sandbox.url,
        max_connections=max(args.concurrency, 10),
    ) as cflow:
        await cflow.check_connection()
        baseline = rss_mb()
        peak = baseline
        done = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, rss_mb())
                await asyncio.sleep(0.2)

        sampler = asyncio.create_task(sample())
        start = time.perf_counter()
        summary = await cflow.import_records(
            WORKFLOW,
            sheet,
            key=KEY,
            concurrency=args.concurrency,
            progress=args.progress,
        )
        elapsed = time.perf_counter() - start
        done.set()
        await sampler
        peak = max(peak, rss_mb())
    return {
        "rows": args.rows,
        "submitted": summary.submitted,
        "seconds": round(elapsed, 1),
        "rows_per_second": round(summary.submitted / elapsed, 1),
        "rss_baseline_mb": round(baseline, 1),
        "rss_peak_mb": round(peak, 1),
        "rss_growth_mb": round(peak - baseline, 1),
        "concurrency": args.concurrency,
        "complete": summary.complete,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--progress", action="store_true", help="show the progress display")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        sheet = Path(tmp) / "sheet.csv"
        start = time.perf_counter()
        write_sheet(sheet, args.rows)
        generated = time.perf_counter() - start
        with SandboxProcess("--log-level", "warning") as sandbox:
            result = asyncio.run(bench(args, sandbox, sheet))
            import httpx

            stats = httpx.get(f"{sandbox.url}/__sandbox__/stats", timeout=60).json()
        result["journal_mb"] = round(Path(f"{sheet}.journal.sqlite").stat().st_size / 1e6, 1)
        result["csv_mb"] = round(sheet.stat().st_size / 1e6, 1)
        result["csv_generated_seconds"] = round(generated, 1)
        result["sandbox_records"] = stats["records_stored"]
    print(json.dumps(result, indent=2))
    ok = result["sandbox_records"] == args.rows and result["complete"]
    if not ok:
        print("FAILED: the sandbox does not hold exactly one record per row", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
