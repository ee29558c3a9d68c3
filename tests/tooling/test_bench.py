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

from scripts.bench import canned_server, csv_import, options, otel, report, workers  # noqa: E402


def run_python(
    *args: str, cwd: Path | None = ROOT, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_help_by_path() -> None:
    # Run by path, not with -m from the root (as the end-to-end runs below): __main__ puts
    # the checkout on sys.path itself.
    done = run_python(str(ROOT / "scripts" / "bench" / "__main__.py"), "--help", cwd=None)
    assert done.returncode == 0, done.stderr
    assert "--only SECTION" in done.stdout
    assert "--quick" in done.stdout


def test_quick_defaults_and_sections() -> None:
    args = options.parse_args(["--quick", "--only", "sandbox"])
    assert args.sections == ["sandbox"]
    assert args.repeats == 1
    full = options.parse_args(["--no-imports"])
    assert full.sections == ["http", "openapi", "otel", "bulk", "import", "sandbox"]
    assert full.repeats == 3
    assert full.import_rows == 1_000_000
    assert options.parse_args(["--quick"]).import_rows == 20_000
    assert options.parse_args(["--only", "import", "--import-rows", "500"]).import_rows == 500
    no_import = options.parse_args(["--import-rows", "0"])
    assert no_import.sections == ["http", "openapi", "otel", "bulk", "imports", "sandbox"]
    assert set(workers._WORKERS) == {"http", "bulk", "sandbox", "import"}


def test_the_standalone_scripts_are_folded_in() -> None:
    assert not (ROOT / "scripts" / "bench_otel.py").exists()
    assert not (ROOT / "scripts" / "bench_import.py").exists()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "-m scripts.bench --only import --import-rows $(ROWS)" in makefile


def test_canned_requests_match_the_openapi_request_model() -> None:
    from cflow_openapi.models.request import Request

    from cflow_async._openapi_runtime import many

    assert len(canned_server.REQUESTS) == 5
    read = many(Request)(canned_server.REQUESTS)
    assert [r.id for r in read] == [f"req-{i}" for i in range(1, 6)]
    assert {r.status.value for r in read} == {"pending"}
    assert all(2 <= len(r.fields.additional_properties) <= 3 for r in read)
    assert all(r.created_at.tzinfo is not None for r in read)
    answer = canned_server._answer(b"GET", b"/integromat/api/cflow/workflows/wf-1/requests")
    assert answer == canned_server._REQUESTS


def _cell(cpu: float) -> dict[str, object]:
    timings = {"cpu_us": cpu, "cpu_min": cpu, "cpu_max": cpu, "calls_s": 1e6 / cpu}
    load = {"peak_rss_mb": 40.0, "server_cpu_pct": 10.0, "connections": 0, "calls": 1500}
    return {**timings, **load, "errors": 0, "first_error": None, "failed_runs": 0}


def test_openapi_table_reports_the_goal_on_known_numbers() -> None:
    args = argparse.Namespace(openapi_concurrency=[1])
    cells = {
        ("raw-aiohttp", 1, None): _cell(100.0),
        ("raw-httpx", 1, None): _cell(400.0),
        ("facade-aiohttp", 1, None): _cell(125.0),
        ("facade-httpx", 1, None): _cell(600.0),
    }
    text = "\n".join(report.openapi_table(args, cells, 32))
    assert "| facade, aiohttp backend | 1 | 32 (default) | 125 (125-125) | 1.25x | 0.31x |" in text
    assert "aiohttp backend at 1: 1.25x raw aiohttp (met)" in text
    assert "httpx backend at 1: 1.50x raw httpx (info)" in text


def test_otel_table_reports_added_cpu() -> None:
    args = argparse.Namespace(otel_concurrency=[64])
    cells = {
        ("none", 64, None): _cell(100.0),
        ("noop", 64, None): _cell(104.0),
        ("otel", 64, None): {"failed": "exit 1: no SDK"},
    }
    rows = otel.otel_table(args, cells, report._fmt)
    assert "| no hooks | 64 | 100 (100-100) | +0 µs | +0% |" in rows[-3]
    assert "| one no-op hook | 64 | 104 (104-104) | +4 µs | +4% |" in rows[-2]
    assert "failed: exit 1: no SDK" in rows[-1]


def test_otel_hooks_are_built_as_measured() -> None:
    assert otel.make_hooks("none") == ([], None)
    hooks, clear = otel.make_hooks("noop")
    assert len(hooks) == 1
    assert clear is None
    hooks, clear = otel.make_hooks("otel")
    assert type(hooks[0]).__name__ == "OpenTelemetryHooks"
    assert clear is not None


def test_import_table_formats_known_numbers(tmp_path: Path) -> None:
    spec = {"rows": 1000, "concurrency": 32}
    counts = {"submitted": 1000, "complete": True, "sandbox_records": 1000}
    speed = {"seconds": 0.5, "rows_s": 2000.0, "cpu_us": 150.0, "journal_mb": 0.1}
    memory = {"rss_baseline_mb": 45.0, "rss_peak_mb": 52.5, "rss_growth_mb": 7.5}
    res = {**counts, **speed, **memory}
    rows = csv_import.import_table(spec, res, report._fmt)
    assert (
        rows[-1] == "| 1,000 | 1,000 | 1,000 | 0.5 | 2,000 | 150 | 45.0 | 52.5 | 7.5 | met | 0.1 |"
    )
    short = csv_import.import_table(spec, {**res, "sandbox_records": 999}, report._fmt)
    assert "(NOT one per row)" in short[-1]
    sheet = tmp_path / "sheet.csv"
    csv_import.write_sheet(sheet, 3)
    lines = sheet.read_text().splitlines()
    assert lines[0] == "Name,Email,City,Phone,GoogleSheetRowNumber"
    assert len(lines) == 4


def test_sandbox_table_formats_known_numbers() -> None:
    args = argparse.Namespace(sandbox_calls=300, sandbox_seconds=3.0, repeats=1)
    cell = {"p50_ms": 40.0, "p99_ms": 48.5, "calls_s": 25.0, "calls": 75}
    plain = {"p50_ms": 0.5, "p99_ms": 1.25, "calls_s": 1900.0, "calls": 300}
    cells = {
        ("run_sandbox", "httpx", "getworkflows"): cell,
        ("uvicorn", "httpx", "getworkflows"): plain,
        ("run_sandbox", "httpx", "submitrecord"): {"failed": "exit 1: boom"},
    }
    rows = [line for line in report.sandbox_table(args, cells) if line.startswith("| httpx")]
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
def test_a_tiny_run_end_to_end(tmp_path: Path) -> None:
    args = (
        "--only sandbox openapi otel import --sandbox-calls 3 --sandbox-seconds 0.5"
        " --openapi-concurrency 1 --otel-concurrency 1 --calls 50 --seconds 0.5"
        " --warmup-seconds 0.1 --import-rows 200"
    )
    out = tmp_path / "bench.md"
    done = run_python(
        "-m", "scripts.bench", "--quick", *args.split(), "--output", str(out), timeout=420
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    counts = {"| aiohttp |": 2, "| httpx |": 2, "| facade, aiohttp backend | 1 |": 1}
    for line, count in counts.items():
        assert text.count(line) == count, line
    for line in (
        "## Sandbox per-call latency",
        "## OpenAPI call: `cflow.requests.list",
        "## Hooks and OpenTelemetry",
        "| OpenTelemetryHooks (in-memory exporter) | 1 |",
        "| 200 | 200 | 200 |",
    ):
        assert line in text
    assert "failed" not in text
