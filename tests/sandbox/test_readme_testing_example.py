"""The README's "Testing your code" example runs as written (through pytester), so the
README cannot drift from the plugin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import pytester_imports  # noqa: F401  (before any pytester inline run, see there)
import yaml

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parents[2] / "README.md"
# A fenced block whose first line names its file: ```lang / # name / body / ```.
_BLOCK = re.compile(r"```\w+\n# (?P<name>[\w.]+)\n(?P<body>.*?)```", re.DOTALL)


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def example_files() -> dict[str, str]:
    return {m["name"]: m["body"] for m in _BLOCK.finditer(_section("Testing your code"))}


def test_the_readme_example_has_its_three_files() -> None:
    assert sorted(example_files()) == ["pytest.ini", "tenant.yaml", "test_leave.py"]


def test_the_readme_testing_example_passes(pytester: pytest.Pytester) -> None:
    for name, body in example_files().items():
        (pytester.path / name).write_text(body, encoding="utf-8")
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=5)


def test_the_readme_tenant_example_loads() -> None:
    # The complete tenant example of the Sandbox section is a valid file too.
    from cflow_async.sandbox import load_tenant
    from cflow_async.sandbox.tenant import parse_tenant

    block = re.search(r"A complete example:\n\n```yaml\n(.*?)```", _section("Sandbox"), re.DOTALL)
    assert block is not None
    tenant = parse_tenant(block.group(1), source="README")
    assert [w.name for w in tenant.workflows] == ["Leave", "Scratch"]
    # The same as the fixture file the tenant tests use.
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "tenant.yaml"
    assert yaml.safe_load(block.group(1)) == yaml.safe_load(fixture.read_text(encoding="utf-8"))
    assert [w.name for w in load_tenant(fixture).workflows] == ["Leave", "Scratch"]
