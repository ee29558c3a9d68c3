"""The whole "Cflow's API document changed" flow, in a temporary copy of the project:
`make regen SPEC=` with a compatible change, then with a breaking one, then the fix.

Runs the scripts with this interpreter (no make: make would build a .venv in the copy)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from facade_table import FacadeOperation, load_facade_table, snake_case

ROOT = Path(__file__).resolve().parents[2]
STAGES = "/integromat/api/cflow/workflows/{workflowId}/stages"
REQUESTS = "/integromat/api/cflow/workflows/{workflowId}/requests"
ONE_REQUEST = f"{REQUESTS}/{{requestId}}"

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for part in ("openapi", "scripts", "generated", "cflow_async"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tests" / "spec").mkdir(parents=True)
    for part in ("tests/spec/test_spec.py", "Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / part, tmp_path / part)
    return tmp_path


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REGEN_BIN": str(Path(sys.executable).parent)}
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _regen(project: Path, spec: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    result = _run(project, "scripts/regen.py", "--spec", str(spec), "--date", "2026-11-30")
    return result, time.monotonic() - start


def _spec_tests_pass(project: Path) -> None:
    result = _run(
        project, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/spec/test_spec.py"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _snapshot(project: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(project)): p.read_bytes()
        for part in ("openapi", "generated")
        for p in (project / part).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def _fresh(name: str, taken: Any) -> str:
    # Names the document does not have yet: this test must pass after a real change too.
    while name in taken:
        name += "_x" if "_" in name else "X"
    return name


def _compatible(project: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """An added operation, an added optional property and an added enum value."""
    spec: dict[str, Any] = yaml.safe_load((project / "openapi" / "cflow.yaml").read_text())
    spec["info"]["version"] = "1.1.0"
    op_ids = [op.get("operationId") for item in spec["paths"].values() for op in item.values()]
    schemas = spec["components"]["schemas"]
    names = {
        "path": _fresh(STAGES, spec["paths"]),
        "op": _fresh("listWorkflowStages", op_ids),
        "prop": _fresh("slaHours", schemas["Stage"]["properties"]),
        "value": _fresh("on_hold", schemas["Request"]["properties"]["status"]["enum"]),
    }
    workflow_id = spec["paths"][REQUESTS]["get"]["parameters"][0]
    stages = {"type": "array", "items": {"$ref": "#/components/schemas/Stage"}}
    spec["paths"][names["path"]] = {
        "get": {
            "operationId": names["op"],
            "summary": "Cflow List Workflow Stages",
            "tags": ["Workflows"],
            "parameters": [workflow_id],
            "responses": {
                "200": {
                    "description": "The workflow's stages.",
                    "content": {"application/json": {"schema": stages}},
                },
                "404": {"description": "Workflow not found."},
            },
        }
    }
    schemas["Stage"]["properties"][names["prop"]] = {"type": "integer", "description": "SLA."}
    schemas["Request"]["properties"]["status"]["enum"].append(names["value"])
    return spec, names


def _generated_layer_works_against_a_stub(project: Path, names: dict[str, str]) -> None:
    """The new operation is callable through the regenerated package and, with no
    hand-written code, as a method of the regenerated facade, against a stub."""
    row = next(row for row in _table(project) if row.operation_id == names["op"])
    module = row.generated_module
    # listWorkflowStages tagged Workflows: cflow.workflows.list_workflow_stages
    assert (row.namespace, row.method) == ("workflows", snake_case(names["op"]))
    path = names["path"].replace("{workflowId}", "wf-1")
    script = f"""
import httpx
from cflow_openapi import Client
from {module.rsplit(".", 1)[0]} import {module.rsplit(".", 1)[1]} as operation

def stub(request):
    assert request.url.path == "{path}", request.url
    return httpx.Response(200, json=[{{"id": "s1", "name": "Review", "{names["prop"]}": 4}}])

client = Client(base_url="https://stub").set_httpx_client(
    httpx.Client(base_url="https://stub", transport=httpx.MockTransport(stub))
)
stages = operation.sync("wf-1", client=client)
assert [(s.name, s.additional_properties) for s in stages] == [("Review", {{}})], stages
assert stages[0].to_dict()["{names["prop"]}"] == 4, stages

import asyncio
import cflow_async
assert cflow_async.__file__.startswith({str(project)!r}), cflow_async.__file__

async def facade():
    http = httpx.AsyncClient(transport=httpx.MockTransport(stub))
    async with cflow_async.CflowClient(
        api_key="k", user_key="u", username="me", http_client=http
    ) as cflow:
        return await cflow.workflows.{row.method}("wf-1")

stages = asyncio.run(facade())
assert [s.name for s in stages] == ["Review"], stages
"""
    env = {
        **os.environ,
        # The project copy first: its regenerated facade, not the checkout's.
        "PYTHONPATH": os.pathsep.join([str(project), str(project / "generated")]),
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project,  # `python -c` puts the working directory first on sys.path
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _table(project: Path) -> list[FacadeOperation]:
    openapi = project / "openapi"
    return load_facade_table(openapi / "cflow.yaml", openapi / "facade.yaml")


def test_a_compatible_change_regenerates_reports_and_passes(project: Path) -> None:
    spec, names = _compatible(project)
    new = project.parent / "cflow-1.1.0.json"
    new.write_text(json.dumps(spec, indent=2))
    method = snake_case(names["op"])

    result, seconds = _regen(project, new)
    assert result.returncode == 0, result.stderr
    report = result.stdout
    assert "No breaking changes." in report
    assert "BREAKING" not in report + result.stderr
    added = f"compatible operation added: `GET {names['path']} ({names['op']})`"
    assert f"{added}; facade: workflows.{method}\n" in report
    assert f"compatible property added: `Stage.{names['prop']}` (integer, optional)" in report
    assert f"compatible enum values added: `Request.status` ({names['value']})" in report
    changelog = (project / "openapi" / "CHANGELOG.md").read_text()
    assert changelog.index("## 2026-11-30: info.version 1.1.0 (was 1.0.0)") < changelog.index(
        "Baseline"
    )
    assert (project / "openapi" / "upstream" / "cflow.json").read_bytes() == new.read_bytes()
    assert not (project / "openapi" / "upstream" / "cflow.txt").exists()
    assert (project / f"generated/cflow_openapi/api/workflows/{method}.py").exists()
    print(f"make regen SPEC= took {seconds:.1f} s")

    _spec_tests_pass(project)
    assert _run(project, "scripts/check_facade.py").returncode == 0
    checked = subprocess.run(
        ["bash", "scripts/check_generated.sh"],
        cwd=project,
        env={**os.environ, "REGEN_BIN": str(Path(sys.executable).parent)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    _generated_layer_works_against_a_stub(project, names)

    # Deterministic: the same document again changes nothing and logs nothing.
    before = _snapshot(project)
    again, _ = _regen(project, new)
    assert again.returncode == 0
    assert "No API changes." in again.stdout
    assert _snapshot(project) == before


def test_a_breaking_change_is_loud_until_facade_yaml_is_updated(project: Path) -> None:
    spec: dict[str, Any] = yaml.safe_load((project / "openapi" / "cflow.yaml").read_text())
    spec["openapi"] = "3.0.3"  # and an OpenAPI 3.0 YAML document this time
    spec["info"]["version"] = "2.0.0"
    del spec["paths"][ONE_REQUEST]["delete"]
    status = {"name": "status", "in": "query", "required": True, "schema": {"type": "string"}}
    spec["paths"][REQUESTS]["get"]["parameters"].append(status)
    new = project.parent / "cflow-2.0.0.yaml"
    new.write_text(yaml.safe_dump(spec, sort_keys=False))

    result, _ = _regen(project, new)
    assert result.returncode == 0, result.stderr  # it still regenerates
    summary = "**BREAKING**: 2 breaking change(s); facade methods: "
    assert f"{summary}`requests.delete`, `requests.list`\n" in result.stdout
    assert not (project / "generated/cflow_openapi/api/requests/delete_request.py").exists()
    _spec_tests_pass(project)

    # Its messages are test_check_facade.py's; here, that the flow stops on them.
    assert _run(project, "scripts/check_facade.py").returncode == 1

    # The deliberate step: drop requests.delete, give requests.list its new argument.
    facade = project / "openapi" / "facade.yaml"
    mapping = yaml.safe_load(facade.read_text())
    del mapping["operations"]["deleteRequest"]
    mapping["operations"]["listRequests"]["required_query"] = ["status"]
    facade.write_text(yaml.safe_dump(mapping, sort_keys=False))
    assert _run(project, "scripts/check_facade.py").returncode == 0
