"""scripts/audit.py: findings fail the build; an unreachable database does not, and says so."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "audit", Path(__file__).resolve().parents[2] / "scripts" / "audit.py"
)
assert _spec is not None
assert _spec.loader is not None
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)


HTTPX = {"name": "httpx", "version": "0.28.1", "vulns": []}


def _run(deps: list[dict[str, object]], returncode: int = 0) -> tuple[int, list[str]]:
    status, lines = audit.report(returncode, json.dumps({"dependencies": deps}), "")
    return status, lines


def test_a_vulnerability_fails_the_audit() -> None:
    vuln = {"id": "PYSEC-1", "aliases": ["CVE-1"], "fix_versions": ["1.1"]}
    badlib = {"name": "badlib", "version": "1.0", "vulns": [vuln]}
    status, lines = _run([HTTPX, badlib], returncode=1)
    assert status == 1
    assert "1 known vulnerability" in lines[0]
    assert "badlib 1.0: PYSEC-1 (CVE-1); fixed in: 1.1" in lines[1]


def test_an_audit_without_findings_passes_and_says_whether_it_looked_anything_up() -> None:
    status, lines = _run([HTTPX])
    assert status == 0
    assert lines == ["audit: no known vulnerabilities in 1 packages"]
    status, lines = _run(
        [{"name": "httpx", "version": "0.28.1", "skip_reason": "not found on PyPI"}]
    )
    assert status == 0
    assert "skipped" in lines[0]
    assert "no known vulnerabilities" not in lines[0]


def test_only_an_unreachable_database_does_not_fail_the_build() -> None:
    stderr = "requests.exceptions.ConnectionError: Failed to establish a new connection"
    status, lines = audit.report(1, "", stderr)
    assert status == 0
    assert "could not be reached" in lines[0]
    # Other pip-audit failures do.
    status, _ = audit.report(2, "", "usage: pip-audit: error: unrecognized arguments")
    assert status == 2
