"""`make check-generated` proves generated/ is what openapi/ produces, and catches both a
hand edit and a spec change without regeneration; `make regen` is deterministic."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for part in ("openapi", "generated", "scripts", "cflow_async"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")  # ruff's settings
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    return tmp_path


def _check(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(tree / "scripts" / "check_generated.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_check_generated_passes_then_catches_a_hand_edit(tree: Path) -> None:
    assert _check(tree).returncode == 0
    target = tree / "generated" / "cflow_openapi" / "models" / "user.py"
    target.write_text(target.read_text() + "\n# a hand edit\n")
    result = _check(tree)
    assert result.returncode == 1
    assert "models/user.py" in result.stderr
    assert "+# a hand edit" in result.stderr


@pytest.mark.parametrize("name", ["_openapi_namespaces.py", "_openapi_mixin.py"])
def test_check_generated_catches_a_hand_edit_of_the_facade_namespaces(
    tree: Path, name: str
) -> None:
    target = tree / "cflow_async" / name
    target.write_text(target.read_text() + "\n# a hand edit\n")
    result = _check(tree)
    assert result.returncode == 1
    assert f"cflow_async/{name}" in result.stderr
    assert "+# a hand edit" in result.stderr


def test_check_generated_catches_a_facade_yaml_rename(tree: Path) -> None:
    mapping = tree / "openapi" / "facade.yaml"
    mapping.write_text(mapping.read_text().replace("name: users.list", "name: users.all"))
    result = _check(tree)
    assert result.returncode == 1
    assert "-    async def all(" in result.stderr


def test_check_generated_catches_a_spec_change_without_regen(tree: Path) -> None:
    spec = tree / "openapi" / "cflow.yaml"
    spec.write_text(spec.read_text().replace("Username of the user.", "Login name of the user."))
    result = _check(tree)
    assert result.returncode == 1
    assert "Login name of the user." in result.stderr


def test_regen_is_deterministic_and_leaves_no_caches(tree: Path) -> None:
    out = tree / "generated" / "cflow_openapi"
    subprocess.run(["bash", str(tree / "scripts" / "regen.sh")], check=True, timeout=300)
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    subprocess.run(["bash", str(tree / "scripts" / "regen.sh")], check=True, timeout=300)
    second = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert first == second
    committed = ROOT / "generated" / "cflow_openapi"
    assert first == {
        p.relative_to(committed): p.read_bytes()
        for p in committed.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert not [p for p in tree.rglob(".ruff_cache")]
