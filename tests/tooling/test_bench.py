"""Smoke tests of the benchmark package (scripts/bench): it imports, its entry points parse,
the report formats known numbers, and a tiny sandbox run goes end to end. Nothing here
asserts a timing: benchmarks are never pass/fail on speed."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # scripts/ is not installed: import it from the checkout
    sys.path.insert(0, str(ROOT))

from scripts.bench import options, report, workers  # noqa: E402


def run_bench(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_help_from_the_repository_root() -> None:
    done = run_bench("--help")
    assert done.returncode == 0, done.stderr
    assert "--only SECTION" in done.stdout
    assert "--quick" in done.stdout


def test_help_by_path() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench" / "__main__.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


def test_quick_defaults_and_sections() -> None:
    args = options.parse_args(["--quick", "--only", "sandbox"])
    assert args.sections == ["sandbox"]
    assert args.repeats == 1
    full = options.parse_args(["--no-imports"])
    assert full.sections == ["http", "bulk", "sandbox"]
    assert full.repeats == 3
    assert set(workers._WORKERS) == {"http", "bulk", "sandbox"}


def test_sandbox_table_formats_known_numbers() -> None:
    args = argparse.Namespace(sandbox_calls=300, sandbox_seconds=3.0, repeats=1)
    cell = {"p50_ms": 40.0, "p99_ms": 48.5, "calls_s": 25.0, "calls": 75}
    plain = {"p50_ms": 0.5, "p99_ms": 1.25, "calls_s": 1900.0, "calls": 300}
    table = report.sandbox_table(
        args,
        {
            ("run_sandbox", "httpx", "getworkflows"): cell,
            ("uvicorn", "httpx", "getworkflows"): plain,
            ("run_sandbox", "httpx", "submitrecord"): {"failed": "exit 1: boom"},
        },
    )
    rows = [line for line in table if line.startswith("| httpx")]
    assert rows[0] == (
        "| httpx | GET getworkflows | 40.00 / 48.50 | 0.50 / 1.25 | 80.00x | 25 | 1,900"
        " | 0.01x | 75/300 |"
    )
    assert "failed: exit 1: boom" in rows[1]
    assert "not run" in rows[1]


def test_summaries_take_medians_and_report_failures() -> None:
    runs = [
        {"p50_ms": 1.0, "p99_ms": 3.0, "calls_s": 10.0, "calls": 5, "cpu_us": 7.0},
        {"p50_ms": 2.0, "p99_ms": 5.0, "calls_s": 20.0, "calls": 7, "cpu_us": 9.0},
        {"failed": "timed out"},
    ]
    assert report.summarize_sandbox(runs)["p50_ms"] == 1.5
    assert report.summarize_sandbox([{"failed": "x"}]) == {"failed": "x"}


@pytest.mark.slow
@pytest.mark.integration
def test_a_tiny_sandbox_run_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    done = run_bench(
        "--quick",
        "--only",
        "sandbox",
        "--sandbox-calls",
        "3",
        "--sandbox-seconds",
        "0.5",
        "--output",
        str(out),
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    assert "## Sandbox per-call latency" in text
    assert text.count("| aiohttp |") == 2
    assert text.count("| httpx |") == 2
    assert "failed" not in text
