"""scripts/specdiff.py: each kind of change is found, marked breaking or compatible, and
names the facade methods it touches. Every case starts from the same mini document, so a
case whose edit the diff missed fails on `== [expected]`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from specdiff import Change, diff_specs, render_report

ROOT = Path(__file__).resolve().parents[2]
Edit = Callable[[dict[str, Any]], None]

REQ = "/workflows/{workflowId}/requests"
APPROVE = "/workflows/{workflowId}/requests/{requestId}/approve"
# Methods whose operations reach the Request schema, directly or not.
REQUEST_USERS = ("requests.approve", "requests.create", "requests.list")


def _op(spec: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    op: dict[str, Any] = spec["paths"][path][method]
    return op


def _schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["components"]["schemas"][name]
    return schema


def _add_stages(spec: dict[str, Any]) -> None:
    spec["paths"]["/workflows/{workflowId}/stages"] = {
        "get": {
            "operationId": "listWorkflowStages",
            "tags": ["Workflows"],
            "parameters": list(_op(spec, "/workflows/{workflowId}")["parameters"]),
            "responses": {"200": {"description": "Stages."}},
        }
    }


def _query(name: str, required: bool) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": {"type": "string"}}


def _move_roles(spec: dict[str, Any]) -> None:
    spec["paths"]["/account/roles"] = spec["paths"].pop("/roles")


def _body(path: str, method: str, value: Any) -> Edit:
    def edit(spec: dict[str, Any]) -> None:
        if value is None:
            del _op(spec, path, method)["requestBody"]
        else:
            _op(spec, path, method)["requestBody"] = value

    return edit


_JSON_BODY = {"content": {"application/json": {"schema": {"type": "object"}}}}

CASES: dict[str, tuple[Edit, Change]] = {
    "operation added": (
        _add_stages,
        Change(False, "operation added", "GET /workflows/{workflowId}/stages (listWorkflowStages)",
               "", ("workflows.list_workflow_stages",)),
    ),
    "operation removed": (
        lambda s: s["paths"].pop("/workflows/{workflowId}/requests/{requestId}"),
        Change(True, "operation removed",
               "DELETE /workflows/{workflowId}/requests/{requestId} (deleteRequest)", "",
               ("requests.delete",)),
    ),
    "operation moved": (
        _move_roles,
        Change(False, "operation moved", "GET /account/roles (listRoles)", "was GET /roles",
               ("roles.list",)),
    ),
    "required query parameter added": (
        lambda s: _op(s, REQ)["parameters"].append(_query("status", True)),
        Change(True, "parameter added", f"GET {REQ} (listRequests)", "query status, required",
               ("requests.list",)),
    ),
    "optional query parameter added": (
        lambda s: _op(s, REQ)["parameters"].append(_query("status", False)),
        Change(False, "parameter added", f"GET {REQ} (listRequests)", "query status, optional",
               ("requests.list",)),
    ),
    "parameter removed": (
        lambda s: _op(s, REQ)["parameters"].pop(),
        Change(True, "parameter removed", f"GET {REQ} (listRequests)", "query limit",
               ("requests.list",)),
    ),
    "parameter becomes required": (
        lambda s: _op(s, REQ)["parameters"][1].update(required=True),
        Change(True, "parameter required changed", f"GET {REQ} (listRequests)",
               "query limit: optional -> required", ("requests.list",)),
    ),
    "parameter type changed": (
        lambda s: _op(s, REQ)["parameters"][1].update(schema={"type": "string"}),
        Change(True, "type changed", f"GET {REQ} (listRequests) parameter query limit",
               "integer -> string", ("requests.list",)),
    ),
    "required body added": (
        _body("/roles", "get", {"required": True, **_JSON_BODY}),
        Change(True, "request body added", "GET /roles (listRoles)", "required", ("roles.list",)),
    ),
    "optional body added": (
        _body("/roles", "get", _JSON_BODY),
        Change(False, "request body added", "GET /roles (listRoles)", "optional",
               ("roles.list",)),
    ),
    "body removed": (
        _body(REQ, "post", None),
        Change(True, "request body removed", f"POST {REQ} (createRequest)", "",
               ("requests.create",)),
    ),
    "body becomes required": (
        lambda s: _op(s, APPROVE, "post")["requestBody"].update(required=True),
        Change(True, "request body required changed", f"POST {APPROVE} (approveRequest)",
               "optional -> required", ("requests.approve",)),
    ),
    "body schema changed": (
        lambda s: _op(s, APPROVE, "post")["requestBody"]["content"]["application/json"].update(
            schema={"$ref": "#/components/schemas/RequestCreate"}
        ),
        Change(True, "type changed", f"POST {APPROVE} (approveRequest) request body",
               "ApprovalAction -> RequestCreate", ("requests.approve",)),
    ),
    "response status added": (
        lambda s: _op(s, "/roles")["responses"].update({"403": {"description": "No."}}),
        Change(False, "response added", "GET /roles (listRoles)", "403 any", ("roles.list",)),
    ),
    "error status removed": (
        lambda s: _op(s, "/workflows/{workflowId}")["responses"].pop("404"),
        Change(False, "response removed", "GET /workflows/{workflowId} (getWorkflow)", "404",
               ("workflows.get",)),
    ),
    "success status removed": (
        lambda s: _op(s, "/workflows/{workflowId}")["responses"].pop("200"),
        Change(True, "response removed", "GET /workflows/{workflowId} (getWorkflow)", "200",
               ("workflows.get",)),
    ),
    "response schema changed": (
        lambda s: _op(s, "/roles")["responses"]["200"]["content"]["application/json"].update(
            schema={"$ref": "#/components/schemas/Role"}
        ),
        Change(True, "type changed", "GET /roles (listRoles) response 200", "array -> Role",
               ("roles.list",)),
    ),
    "schema added": (
        lambda s: s["components"]["schemas"].update(Team={"type": "object"}),
        Change(False, "schema added", "Team", "object"),
    ),
    "schema removed": (
        lambda s: s["components"]["schemas"].pop("Role"),  # the facade user is the old one's
        Change(True, "schema removed", "Role", "", ("roles.list",)),
    ),
    "optional property added": (
        lambda s: _schema(s, "Stage")["properties"].update(order={"type": "integer"}),
        Change(False, "property added", "Stage.order", "integer, optional", ("workflows.get",)),
    ),
    "required property added to a response schema": (
        lambda s: (_schema(s, "Stage")["properties"].update(order={"type": "integer"}),
                   _schema(s, "Stage").update(required=["order"])),
        Change(False, "property added", "Stage.order", "integer, required", ("workflows.get",)),
    ),
    "required property added to a request schema": (
        lambda s: (_schema(s, "RequestCreate")["properties"].update(note={"type": "string"}),
                   _schema(s, "RequestCreate")["required"].append("note")),
        Change(True, "property added", "RequestCreate.note", "string, required",
               ("requests.create",)),
    ),
    "property removed": (
        lambda s: _schema(s, "Stage")["properties"].pop("name"),
        Change(True, "property removed", "Stage.name", "string", ("workflows.get",)),
    ),
    "property type changed": (
        lambda s: _schema(s, "Workflow")["properties"]["createdAt"].pop("format"),
        Change(True, "type changed", "Workflow.createdAt", "string (date-time) -> string",
               ("workflows.get",)),
    ),
    "nested property added": (
        lambda s: _schema(s, "Role")["properties"]["permissions"]["properties"].update(
            reports={"type": "string"}),
        Change(False, "property added", "Role.permissions.reports", "string, optional",
               ("roles.list",)),
    ),
    "array items changed": (
        lambda s: _schema(s, "Workflow")["properties"]["stages"].update(items={"type": "string"}),
        Change(True, "type changed", "Workflow.stages[]", "Stage -> string", ("workflows.get",)),
    ),
    "enum value added": (
        lambda s: _schema(s, "Request")["properties"]["status"]["enum"].append("on_hold"),
        Change(False, "enum values added", "Request.status", "on_hold", REQUEST_USERS),
    ),
    "enum value removed": (
        lambda s: _schema(s, "Request")["properties"]["status"]["enum"].remove("draft"),
        Change(True, "enum values removed", "Request.status", "draft", REQUEST_USERS),
    ),
    "response property becomes optional": (
        lambda s: _schema(s, "Request").pop("required"),
        Change(True, "property now optional", "Request.id", "", REQUEST_USERS),
    ),
    "request property becomes optional": (
        lambda s: _schema(s, "RequestCreate").pop("required"),
        Change(False, "property now optional", "RequestCreate.fields", "", ("requests.create",)),
    ),
    "request property becomes required": (
        lambda s: _schema(s, "ApprovalAction").update(required=["comment"]),
        Change(True, "property now required", "ApprovalAction.comment", "",
               ("requests.approve",)),
    ),
    "descriptions only": (
        lambda s: s["info"].update(description="Now with words."),
        Change(False, "other changes", "descriptions, summaries or examples"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_each_change_is_found_and_classified(
    case: str, mini_spec: dict[str, Any], mini_mapping: dict[str, Any]
) -> None:
    edit, expected = CASES[case]
    new = yaml.safe_load(yaml.safe_dump(mini_spec))  # a deep copy, as a reload would give
    edit(new)
    assert diff_specs(mini_spec, new, mini_mapping) == [expected]


def test_no_change_no_report(mini_spec: dict[str, Any], mini_mapping: dict[str, Any]) -> None:
    assert diff_specs(mini_spec, mini_spec, mini_mapping) == []
    spec = yaml.safe_load((ROOT / "openapi" / "cflow.yaml").read_text())
    mapping = yaml.safe_load((ROOT / "openapi" / "facade.yaml").read_text())
    assert diff_specs(spec, spec, mapping) == []


def test_breaking_changes_come_first(
    mini_spec: dict[str, Any], mini_mapping: dict[str, Any]
) -> None:
    new = yaml.safe_load(yaml.safe_dump(mini_spec))
    _add_stages(new)
    new["paths"].pop("/roles")
    changes = diff_specs(mini_spec, new, mini_mapping)
    assert [(c.breaking, c.what) for c in changes] == [
        (True, "operation removed"),
        (False, "operation added"),
    ]


def test_report_says_breaking_and_names_the_methods() -> None:
    changes = [
        Change(True, "operation removed", "DELETE /x (deleteX)", "", ("things.delete",)),
        Change(False, "enum values added", "Thing.status", "on_hold", ("things.get",)),
    ]
    report = render_report(changes, old_version="1.0.0", new_version="2.0.0", day="2026-11-30")
    assert report.splitlines() == [
        "## 2026-11-30: info.version 2.0.0 (was 1.0.0)",
        "",
        "**BREAKING**: 1 breaking change(s); facade methods: `things.delete`",
        "",
        "- **BREAKING** operation removed: `DELETE /x (deleteX)`; facade: things.delete",
        "- compatible enum values added: `Thing.status` (on_hold); facade: things.get",
    ]


def test_report_without_breaking_changes() -> None:
    compatible = [Change(False, "schema added", "Team", "object")]
    report = render_report(compatible, old_version="1", new_version="1", day="2026-01-02")
    assert report.splitlines()[:3] == ["## 2026-01-02: info.version 1", "", "No breaking changes."]
    assert "BREAKING" not in report
    assert "No API changes." in render_report([], old_version="1", new_version="1", day="d")
