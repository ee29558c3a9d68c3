"""Tests of the dev tools behind `make regen SPEC=` and `make check-facade` (scripts/).

The tools live in scripts/ (not in the installed package), so put scripts/ on sys.path.
`mini_spec` is a small Cflow-shaped document, fixed here so these tests do not move when
openapi/cflow.yaml does."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = str(ROOT / "scripts")
if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)

_WORKFLOW_ID = {"name": "workflowId", "in": "path", "required": True, "schema": {"type": "string"}}
_REQUEST_ID = {"name": "requestId", "in": "path", "required": True, "schema": {"type": "string"}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK.") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


MINI_SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Mini Cflow", "version": "1.0.0"},
    "paths": {
        "/workflows/{workflowId}": {
            "get": {
                "operationId": "getWorkflow",
                "tags": ["Workflows"],
                "parameters": [_WORKFLOW_ID],
                "responses": {"200": _json(_ref("Workflow")), "404": {"description": "No."}},
            }
        },
        "/workflows/{workflowId}/requests": {
            "get": {
                "operationId": "listRequests",
                "tags": ["Requests"],
                "parameters": [
                    _WORKFLOW_ID,
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": _json({"type": "array", "items": _ref("Request")})},
            },
            "post": {
                "operationId": "createRequest",
                "tags": ["Requests"],
                "parameters": [_WORKFLOW_ID],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("RequestCreate")}},
                },
                "responses": {"201": _json(_ref("Request"))},
            },
        },
        "/workflows/{workflowId}/requests/{requestId}": {
            "delete": {
                "operationId": "deleteRequest",
                "tags": ["Requests"],
                "parameters": [_WORKFLOW_ID, _REQUEST_ID],
                "responses": {"204": {"description": "Gone."}},
            }
        },
        "/workflows/{workflowId}/requests/{requestId}/approve": {
            "post": {
                "operationId": "approveRequest",
                "tags": ["Requests"],
                "parameters": [_WORKFLOW_ID, _REQUEST_ID],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref("ApprovalAction")}},
                },
                "responses": {"200": _json(_ref("Request"))},
            }
        },
        "/roles": {
            "get": {
                "operationId": "listRoles",
                "tags": ["Users"],
                "responses": {"200": _json({"type": "array", "items": _ref("Role")})},
            }
        },
    },
    "components": {
        "schemas": {
            "Workflow": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "stages": {"type": "array", "items": _ref("Stage")},
                    "createdAt": {"type": "string", "format": "date-time"},
                },
            },
            "Stage": {"type": "object", "properties": {"name": {"type": "string"}}},
            "Request": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "status": {"type": "string", "enum": ["draft", "pending", "approved"]},
                },
                "required": ["id"],
            },
            "RequestCreate": {
                "type": "object",
                "properties": {"fields": {"type": "object", "additionalProperties": True}},
                "required": ["fields"],
            },
            "ApprovalAction": {"type": "object", "properties": {"comment": {"type": "string"}}},
            "Role": {
                "type": "object",
                "properties": {
                    "permissions": {
                        "type": "object",
                        "properties": {"workflows": {"type": "string"}},
                    }
                },
            },
        }
    },
}


def _entry(name: str, path_params: list[str], body: bool = False) -> dict[str, Any]:
    return {"name": name, "path_params": path_params, "required_query": [], "body": body}


MINI_MAPPING: dict[str, Any] = {
    "operations": {
        "getWorkflow": _entry("workflows.get", ["workflowId"]),
        "listRequests": _entry("requests.list", ["workflowId"]),
        "createRequest": _entry("requests.create", ["workflowId"], body=True),
        "deleteRequest": _entry("requests.delete", ["workflowId", "requestId"]),
        "approveRequest": _entry("requests.approve", ["workflowId", "requestId"], body=True),
        "listRoles": _entry("roles.list", []),
    }
}


@pytest.fixture
def mini_spec() -> dict[str, Any]:
    return copy.deepcopy(MINI_SPEC)


@pytest.fixture
def mini_mapping() -> dict[str, Any]:
    return copy.deepcopy(MINI_MAPPING)
