"""`make demo` runs the walk-through against a sandbox it starts and stops, exits 0, and
shows a retried fault."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_make_demo_walks_through_the_api() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run_demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in range(1, 8):
        assert f"== {step}." in out
    assert "submitted record 44" in out
    assert "now approved at 'END'" in out
    assert "Retrying GET /integromat/api/cflow/getworkflows (attempt 2 of 3)" in out
    assert "sandbox stopped" in out
    assert "sandbox-api-key" not in out  # the demo never prints the keys
