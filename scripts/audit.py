#!/usr/bin/env python3
"""Audit the installed environment for dependencies with known vulnerabilities.

Runs pip-audit over the environment of the interpreter running this script (``make audit``
uses .venv's), skipping the editable cflow-async itself, which is not on PyPI.

Exit status:
  0  no known vulnerabilities, or the vulnerability database could not be reached (no
     network, a proxy refusing, a timeout): a one-line notice says so, so an offline CI
     run does not fail on something it could not check;
  1  vulnerabilities found (each is printed);
  2  pip-audit is missing or failed for another reason (its error is printed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

#: The whole audit, all packages included, must finish within this many seconds.
TIMEOUT = 60
#: pip-audit's own per-request socket timeout.
SOCKET_TIMEOUT = 15

# Signs in pip-audit's error output that the vulnerability service was out of reach.
_UNREACHABLE = (
    "requests.exceptions.ConnectionError",
    "requests.exceptions.ConnectTimeout",
    "requests.exceptions.ReadTimeout",
    "requests.exceptions.Timeout",
    "requests.exceptions.ProxyError",
    "requests.exceptions.SSLError",
    "NameResolutionError",
    "Temporary failure in name resolution",
    "Failed to establish a new connection",
    "Max retries exceeded",
    "Network is unreachable",
    "Connection refused",
    "timed out",
)


def command() -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip_audit",
        "--local",
        "--skip-editable",
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--timeout",
        str(SOCKET_TIMEOUT),
    ]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


def report(returncode: int, stdout: str, stderr: str) -> tuple[int, list[str]]:
    """The exit status and the lines to print for one pip-audit run."""
    try:
        data: Any = json.loads(stdout)
        dependencies = data["dependencies"]
    except (ValueError, TypeError, KeyError):
        if any(sign in stderr for sign in _UNREACHABLE):
            return 0, [
                "audit: skipped, the vulnerability database could not be reached"
                f" (offline?): {_last_line(stderr)}"
            ]
        return 2, [
            f"audit: pip-audit failed (exit status {returncode}):",
            stderr.strip()[-3000:] or stdout.strip()[-3000:] or "(no output)",
        ]
    found = [
        (dep.get("name", "?"), dep.get("version", "?"), vuln)
        for dep in dependencies
        for vuln in dep.get("vulns") or []
    ]
    skipped = sorted(dep.get("name", "?") for dep in dependencies if dep.get("skip_reason"))
    audited = len(dependencies) - len(skipped)
    if found:
        noun = "vulnerability" if len(found) == 1 else "vulnerabilities"
        lines = [f"audit: {len(found)} known {noun} in {audited} packages:"]
        for name, version, vuln in found:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix released"
            aliases = ", ".join(vuln.get("aliases") or [])
            ident = vuln.get("id", "?") + (f" ({aliases})" if aliases else "")
            lines.append(f"  {name} {version}: {ident}; fixed in: {fixes}")
        return 1, lines
    if returncode != 0:
        return 2, [f"audit: pip-audit exited {returncode} without findings:", _last_line(stderr)]
    if audited == 0 and skipped:
        # Every lookup failed: the package index answered, but not its vulnerability data
        # (a mirror, or a proxy in the way). Say so rather than claim a clean result.
        return 0, [
            f"audit: skipped, no package could be looked up ({len(skipped)} skipped);"
            " the vulnerability database is not reachable from here"
        ]
    note = f" (not on PyPI, skipped: {', '.join(skipped)})" if skipped else ""
    return 0, [f"audit: no known vulnerabilities in {audited} packages{note}"]


def main() -> int:
    try:
        import pip_audit  # noqa: F401
    except ImportError:
        print("audit: pip-audit is not installed (pip install -e '.[dev]')", file=sys.stderr)
        return 2
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    try:
        proc = subprocess.run(
            command(), capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        print(
            f"audit: skipped, pip-audit did not finish within {TIMEOUT} s"
            " (vulnerability database unreachable or too slow?)"
        )
        return 0
    status, lines = report(proc.returncode, proc.stdout, proc.stderr)
    print("\n".join(lines), file=sys.stderr if status == 2 else sys.stdout)
    return status


if __name__ == "__main__":
    sys.exit(main())
