"""scripts/check_facade.py: a listed facade method whose contract the document breaks is
named; compatible changes pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from check_facade import facade_drift, main

ROOT = Path(__file__).resolve().parents[2]
REQ = "/workflows/{workflowId}/requests"
ITEM = "/workflows/{workflowId}/requests/{requestId}"


def _query(name: str, required: bool) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": {"type": "string"}}


def test_the_repositorys_facade_yaml_matches_its_spec() -> None:
    spec = yaml.safe_load((ROOT / "openapi" / "cflow.yaml").read_text())
    mapping = yaml.safe_load((ROOT / "openapi" / "facade.yaml").read_text())
    assert facade_drift(spec, mapping) == []


BREAKING: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "operation removed": (
        lambda s: s["paths"].pop(ITEM),
        "requests.delete (deleteRequest): the operation is no longer in the document",
    ),
    "operationId renamed": (
        lambda s: s["paths"][ITEM]["delete"].update(operationId="removeRequest"),
        "requests.delete (deleteRequest): the operation is no longer in the document",
    ),
    "required query parameter added": (
        lambda s: s["paths"][REQ]["get"]["parameters"].append(_query("status", True)),
        "requests.list (listRequests): now requires query parameter(s) ['status']",
    ),
    "path parameter renamed": (
        lambda s: s["paths"].update({"/workflows/{id}/requests": s["paths"].pop(REQ)}),
        "path parameters are now ['id'], facade.yaml says ['workflowId']",
    ),
    "body now required": (
        lambda s: s["paths"]["/roles"]["get"].update(
            requestBody={"required": True, "content": {"application/json": {"schema": {}}}}
        ),
        "roles.list (listRoles): now requires a request body",
    ),
    "body dropped": (
        lambda s: s["paths"][REQ]["post"].pop("requestBody"),
        "requests.create (createRequest): no longer takes a request body",
    ),
}


@pytest.mark.parametrize("case", BREAKING)
def test_a_broken_contract_names_the_method(
    case: str, mini_spec: dict[str, Any], mini_mapping: dict[str, Any]
) -> None:
    edit, expected = BREAKING[case]
    edit(mini_spec)
    problems = facade_drift(mini_spec, mini_mapping)
    assert problems
    assert all(expected in problem for problem in problems)


def test_a_required_query_parameter_that_is_gone_is_named(
    mini_spec: dict[str, Any], mini_mapping: dict[str, Any]
) -> None:
    mini_mapping["operations"]["listRequests"]["required_query"] = ["limit", "page"]
    mini_spec["paths"][REQ]["get"]["parameters"][1]["required"] = True
    assert facade_drift(mini_spec, mini_mapping) == [
        "requests.list (listRequests): no longer has query parameter(s) ['page']"
    ]
    # Still offered but optional now: the facade may keep passing it.
    mini_mapping["operations"]["listRequests"]["required_query"] = ["limit"]
    mini_spec["paths"][REQ]["get"]["parameters"][1]["required"] = False
    assert facade_drift(mini_spec, mini_mapping) == []


def test_compatible_changes_pass(mini_spec: dict[str, Any], mini_mapping: dict[str, Any]) -> None:
    assert facade_drift(mini_spec, mini_mapping) == []
    mini_spec["paths"][REQ]["get"]["parameters"].append(_query("status", False))
    mini_spec["paths"]["/roles"]["get"]["requestBody"] = {"content": {"text/plain": {}}}
    mini_spec["paths"]["/new"] = {"get": {"operationId": "newThing", "responses": {}}}
    mini_spec["paths"]["/account/roles"] = mini_spec["paths"].pop("/roles")
    assert facade_drift(mini_spec, mini_mapping) == []


def test_main_fails_naming_the_methods(
    tmp_path: Path,
    mini_spec: dict[str, Any],
    mini_mapping: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec, mapping = tmp_path / "spec.yaml", tmp_path / "facade.yaml"
    mapping.write_text(yaml.safe_dump(mini_mapping))
    spec.write_text(yaml.safe_dump(mini_spec))
    assert main(["--spec", str(spec), "--mapping", str(mapping)]) == 0
    assert "6 methods checked" in capsys.readouterr().out
    mini_spec["paths"].pop(ITEM)
    mini_spec["paths"][REQ]["get"]["parameters"].append(_query("status", True))
    spec.write_text(yaml.safe_dump(mini_spec))
    assert main(["--spec", str(spec), "--mapping", str(mapping)]) == 1
    err = capsys.readouterr().err
    assert "BREAKING" in err
    assert "requests.delete (deleteRequest)" in err
    assert "requests.list (listRequests)" in err
