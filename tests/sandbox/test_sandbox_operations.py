"""Operations of the OpenAPI document without a sandbox handler answer 501 naming themselves."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import yaml

from cflow_async.sandbox import Operation, run_sandbox
from cflow_async.sandbox import app as app_module
from cflow_async.sandbox.operations import spec_operations

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "cflow.yaml"
WF = "/integromat/api/cflow/workflows/{workflow_id}"
STAGES = Operation("listWorkflowStages", "GET", f"{WF}/stages")
PATCH_REQUEST = Operation("patchRequest", "PATCH", f"{WF}/requests/{{request_id}}")


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_the_operation_list_is_the_spec_s() -> None:
    # Read from the generated package (shipped in the wheel), checked against the spec here.
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    documented = {
        (details["operationId"], method.upper(), _shape(path))
        for path, methods in spec["paths"].items()
        for method, details in methods.items()
    }
    listed = {(op.operation_id, op.method, _shape(op.path)) for op in spec_operations()}
    assert listed == documented


@pytest.fixture
def spec_gains_operations(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the spec gained a new path and a new method on an existing path, regenerated.
    (After a real `make regen SPEC=` that added one of them, it is not added twice.)"""
    known = spec_operations()
    extended = (*known, *(op for op in (STAGES, PATCH_REQUEST) if op not in known))
    monkeypatch.setattr(app_module, "spec_operations", lambda: extended)


@pytest.mark.usefixtures("spec_gains_operations")
async def test_an_unimplemented_operation_answers_501_naming_it() -> None:
    async with run_sandbox() as sb, httpx.AsyncClient(base_url=sb.url) as http:
        assert sb.app.unimplemented_operations == (STAGES, PATCH_REQUEST)
        base = "/integromat/api/cflow/workflows/Test"
        stages = await http.get(f"{base}/stages", headers=sb.headers)
        assert stages.status_code == 501
        assert stages.json()["operationId"] == "listWorkflowStages"
        assert "listWorkflowStages" in stages.json()["message"]
        created = await http.post(f"{base}/requests", json={"fields": {}}, headers=sb.headers)
        item = f"{base}/requests/{created.json()['id']}"
        patched = await http.patch(item, json={}, headers=sb.headers)
        assert (patched.status_code, patched.json()["operationId"]) == (501, "patchRequest")
        # The implemented method on the same path is untouched.
        assert (await http.get(item, headers=sb.headers)).status_code == 200
        # Still behind the credential gate, like every Cflow route.
        assert (await http.get(f"{base}/stages")).status_code == 401
        listing = (await http.get("/__sandbox__/operations")).json()
        assert [op["operationId"] for op in listing["unimplemented"]] == [
            "listWorkflowStages",
            "patchRequest",
        ]
        assert "listRequests" in [op["operationId"] for op in listing["implemented"]]


@pytest.mark.usefixtures("spec_gains_operations")
def test_implements_answers_for_spec_path_templates() -> None:
    app = app_module.create_app()
    api = "/integromat/api/cflow/workflows/{workflowId}"
    assert app.implements("GET", f"{api}/requests/{{requestId}}")
    assert app.implements("post", f"{api}/drafts")
    assert not app.implements("GET", f"{api}/stages")
    assert not app.implements("PATCH", f"{api}/requests/{{requestId}}")
