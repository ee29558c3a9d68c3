"""scripts/facade_table.py: every operation resolves to one facade name, explicit or derived."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from facade_table import FacadeOperation, facade_table, load_facade_table, load_mapping, snake_case
from openapi_python_client.strings import PythonIdentifier
from openapi_python_client.strings import snake_case as generator_snake_case

ROOT = Path(__file__).resolve().parents[2]


def test_todays_names_come_from_openapi_facade_yaml() -> None:
    table = load_facade_table(ROOT / "openapi" / "cflow.yaml", ROOT / "openapi" / "facade.yaml")
    names = {row.operation_id: row.qualname for row in table}
    # The facade as written in cflow_async/_resources.py, plus workflows.list (issue 11).
    assert {op: names.get(op) for op in _TODAY} == _TODAY
    assert all(row.mapped for row in table if row.operation_id in _TODAY)


_TODAY = {
    "getWorkflows": "workflows.list",
    "getWorkflow": "workflows.get",
    "listRequests": "requests.list",
    "createRequest": "requests.create",
    "createDraftRequest": "requests.create_draft",
    "getRequest": "requests.get",
    "updateRequest": "requests.update",
    "deleteRequest": "requests.delete",
    "approveRequest": "requests.approve",
    "rejectRequest": "requests.reject",
    "listUsers": "users.list",
    "listRoles": "roles.list",  # tagged Users: only the mapping puts it in `roles`
}


def test_generated_module_is_where_the_generator_put_the_function() -> None:
    table = load_facade_table(ROOT / "openapi" / "cflow.yaml", ROOT / "openapi" / "facade.yaml")
    for row in table:
        # This checkout's generated/, whichever copy of cflow_openapi is installed.
        source = ROOT / "generated" / Path(*row.generated_module.split(".")).with_suffix(".py")
        assert "def asyncio_detailed(" in source.read_text(), row.generated_module


def test_a_row_has_everything_a_facade_method_needs(
    mini_spec: dict[str, Any], mini_mapping: dict[str, Any]
) -> None:
    rows = {row.operation_id: row for row in facade_table(mini_spec, mini_mapping)}
    assert rows["approveRequest"] == FacadeOperation(
        namespace="requests",
        method="approve",
        operation_id="approveRequest",
        http_method="POST",
        path="/workflows/{workflowId}/requests/{requestId}/approve",
        path_params=("workflowId", "requestId"),
        required_query=(),
        optional_query=(),
        has_body=True,
        body_required=False,
        tag="Requests",
        mapped=True,
    )
    assert rows["createRequest"].body_required
    assert rows["listRequests"].optional_query == ("limit",)
    assert not rows["listRoles"].has_body
    assert rows["listRoles"].qualname == "roles.list"


def test_an_unnamed_operation_gets_tag_and_operation_id_in_snake_case(
    mini_spec: dict[str, Any], mini_mapping: dict[str, Any]
) -> None:
    mini_spec["paths"]["/workflows/{workflowId}/stages"] = {
        "get": {
            "operationId": "listWorkflowStages",
            "tags": ["Workflows"],
            "parameters": [
                {"name": "workflowId", "in": "path", "required": True, "schema": {}},
                {"name": "since", "in": "query", "required": True, "schema": {}},
            ],
            "responses": {"200": {"description": "OK."}},
        }
    }
    row = facade_table(mini_spec, mini_mapping)[-1]
    assert (row.qualname, row.mapped) == ("workflows.list_workflow_stages", False)
    assert (row.path_params, row.required_query) == (("workflowId",), ("since",))
    assert row.generated_module == "cflow_openapi.api.workflows.list_workflow_stages"


def test_untagged_and_unnamed_operations_get_names_too(mini_spec: dict[str, Any]) -> None:
    mini_spec["paths"]["/health"] = {"get": {"responses": {"200": {"description": "OK."}}}}
    row = facade_table(mini_spec, {"operations": {}})[-1]
    assert (row.namespace, row.method, row.tag) == ("default", "get_health", "default")


def test_referenced_and_path_level_parameters_count(mini_spec: dict[str, Any]) -> None:
    mini_spec["components"]["parameters"] = {
        "Page": {"name": "page", "in": "query", "required": True, "schema": {"type": "integer"}}
    }
    item = mini_spec["paths"]["/roles"]
    item["parameters"] = [{"$ref": "#/components/parameters/Page"}]
    item["get"]["parameters"] = [{"name": "q", "in": "query", "schema": {"type": "string"}}]
    row = next(r for r in facade_table(mini_spec, {"operations": {}}) if r.path == "/roles")
    assert (row.required_query, row.optional_query) == (("page",), ("q",))


def test_two_operations_with_one_name_are_refused(
    mini_spec: dict[str, Any], mini_mapping: dict[str, Any]
) -> None:
    mini_mapping["operations"]["listRoles"]["name"] = "workflows.get"
    with pytest.raises(ValueError, match=r"getWorkflow and listRoles are both workflows\.get"):
        facade_table(mini_spec, mini_mapping)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x.y", "path_params": [], "required_query": []}, "missing body"),
        ({"name": "nodot", "path_params": [], "required_query": [], "body": False}, "name"),
        ({"name": "a.b", "path_params": "id", "required_query": [], "body": False}, "list"),
        ({"name": "a.b", "path_params": [], "required_query": [], "body": "yes"}, "true or"),
    ],
)
def test_a_malformed_mapping_entry_is_refused(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_mapping({"operations": {"op": entry}})
    with pytest.raises(ValueError, match="'operations'"):
        load_mapping({})


@pytest.mark.parametrize(
    "value",
    ["listWorkflowStages", "getHTTPStatus", "Workflows", "Workflow Stages", "user-roles", "v2API"],
)
def test_snake_case_splits_words_like_the_generator(value: str) -> None:
    assert snake_case(value) == generator_snake_case(value)
    row = FacadeOperation("n", "m", value, "GET", "/", (), (), (), False, False, value, False)
    tag, module = row.generated_module.split(".")[2:]
    assert tag == PythonIdentifier(value, "tag")
    assert module == PythonIdentifier(PythonIdentifier(value, "field_"), "field_")


def test_a_keyword_gets_a_trailing_underscore() -> None:
    assert snake_case("import") == "import_"
    assert snake_case("list") == "list"  # a builtin is a fine method name
