"""Every ``cflow`` command against the sandbox: legacy and OpenAPI endpoints."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cflow_async.sandbox import SandboxProcess
from cli.cli_support import (
    PROCESS_FIELDS,
    SEED_STAGES,
    SEED_WORKFLOWS,
    USERNAME,
    WORKFLOW_FIELDS,
    Result,
    admin,
    assert_one_error_line,
)

pytestmark = pytest.mark.integration


def test_check(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("check")
    assert result.code == 0, result
    assert result.json() == {"ok": True, "base_url": env.url, "username": USERNAME}
    assert result.err == ""


def test_workflows(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("workflows")
    assert result.code == 0, result
    data = result.json()
    assert [w["name"] for w in data] == SEED_WORKFLOWS
    assert [w["display_name"] for w in data] == SEED_WORKFLOWS


def test_process(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("process", "User Workflow")
    assert result.code == 0, result
    assert result.json() == SEED_STAGES


def test_status(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("status", "User Workflow", "27406")
    assert result.code == 0, result
    assert result.json() == [
        {"group_id": "27406", "status": status} for status in ("New", "Approved", "Rejected")
    ]


def test_fields_of_the_workflow(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("fields", "User Workflow")
    assert result.code == 0, result
    data = result.json()
    assert [f["name"] for f in data] == WORKFLOW_FIELDS
    assert data[0] == {
        "name": "Name",
        "type": "text",
        "label": "Name",
        "options": [],
        "spec": None,
        "help": "",
        "default": None,
        "required": False,
        "multiple": False,
        "multiline": False,
    }


def test_fields_of_a_stage(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("fields", "User Workflow", "--group-id", "27406")
    assert result.code == 0, result
    data = result.json()
    assert [f["name"] for f in data] == PROCESS_FIELDS
    by_name = {f["name"]: f for f in data}
    assert by_name["R_Status1"]["options"] == [
        {"label": v, "value": v} for v in ("New", "Approved", "Rejected")
    ]
    # The wire key is "default:" (with the colon); the model reads it.
    assert by_name["R_Comments1"]["default"] == ""
    assert by_name["R_Approved Date1"]["type"] == "date"


def test_fields_for_map(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("fields", "User Workflow", "--group-id", "27406", "--for-map")
    assert result.code == 0, result
    data = result.json()
    assert [f["name"] for f in data] == [*PROCESS_FIELDS, "RecordId"]
    assert data[-1]["required"] is True
    assert data[-1]["label"] == "Record ID"
    assert data[-1]["help"] == "Record ID"


def test_submit_with_pairs(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli(
        "submit",
        "SampleWorkflow",
        "City=trichy",
        "Name1=ashoka",
        "Email=ashoka@cavintek.com",
        "Build_Date=3/26/2022 6:30:00 PM",
        'Work_Status:=["Stage"]',
        'Completed_work:=["stage testing completed", "live testing completed"]',
    )
    assert result.code == 0, result
    # The legacy document's example answers Record_Id "44"; a fresh sandbox starts there.
    assert result.json() == {"record_id": "44"}
    record = admin(env, "GET", "/records")["records"][0]
    assert record["WorkflowName"] == "SampleWorkflow"
    assert record["values"] == {
        "City": "trichy",
        "Name1": "ashoka",
        "Email": "ashoka@cavintek.com",
        "Build_Date": "3/26/2022 6:30:00 PM",
        "Work_Status": ["Stage"],
        "Completed_work": ["stage testing completed", "live testing completed"],
    }


def test_pairs_after_options(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("submit", "Test", "a=1", "--retries", "0", "b:=2", "--format", "json", "c=x")
    assert result.code == 0, result
    assert admin(env, "GET", "/records")["records"][0]["values"] == {"a": "1", "b": 2, "c": "x"}


def test_submit_with_values_json(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("submit", "Test", "--values", '{"n": 3, "ok": true, "x": null}')
    assert result.code == 0, result
    assert result.json() == {"record_id": "44"}
    assert admin(env, "GET", "/records")["records"][0]["values"] == {
        "n": 3,
        "ok": True,
        "x": None,
    }


def test_submit_with_values_file(
    env: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / "values.json"
    path.write_text(json.dumps({"City": "Chennai", "Name": "Ünïcode"}), encoding="utf-8")
    result = cli("submit", "User Workflow", "--values-file", str(path))
    assert result.code == 0, result
    assert admin(env, "GET", "/records")["records"][0]["values"] == {
        "City": "Chennai",
        "Name": "Ünïcode",
    }


def test_submit_with_values_from_stdin(
    env: SandboxProcess, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"City": "Madurai"}'))
    result = cli("submit", "User Workflow", "--values-file", "-")
    assert result.code == 0, result
    assert admin(env, "GET", "/records")["records"][0]["values"] == {"City": "Madurai"}


def test_values_file_missing_exits_2(
    env: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli("submit", "Test", "--values-file", str(tmp_path / "nope.json"))
    assert result.code == 2
    assert_one_error_line(result)
    assert "cannot read values file" in result.err


def test_update(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    assert cli("submit", "SampleWorkflow", "City=trichy", "Name1=ashoka").code == 0
    result = cli("update", "SampleWorkflow", "27407", "44", "City=tiruchirappalli")
    assert result.code == 0, result
    assert result.json() == {"record_id": "44"}
    record = admin(env, "GET", "/records")["records"][0]
    assert record["values"] == {"City": "tiruchirappalli", "Name1": "ashoka"}
    assert record["group_id"] == "27407"
    assert record["updateCount"] == 1


def test_update_unknown_record_exits_5(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("update", "SampleWorkflow", "27406", "999", "City=x")
    assert result.code == 5, result
    assert_one_error_line(result)


def test_requests_lifecycle(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    assert cli("requests", "list", "User Workflow").json() == []

    created = cli("requests", "create", "User Workflow", "City=Chennai", "Name=Asha")
    assert created.code == 0, created
    request = created.json()
    assert request["id"] == "1001"
    assert request["workflowId"] == "User Workflow"
    assert request["status"] == "pending"
    assert request["currentStage"] == "Manager Review"
    assert request["fields"] == {"City": "Chennai", "Name": "Asha"}
    assert request["submittedBy"] == USERNAME

    listed = cli("requests", "list", "User Workflow")
    assert listed.code == 0, listed
    assert [r["id"] for r in listed.json()] == ["1001"]

    got = cli("requests", "get", "User Workflow", "1001")
    assert got.code == 0, got
    assert got.json()["fields"] == {"City": "Chennai", "Name": "Asha"}

    approved = cli("requests", "approve", "User Workflow", "1001", "--comment", "looks good")
    assert approved.code == 0, approved
    body = approved.json()
    assert body["status"] == "approved"
    assert body["currentStage"] == "END"
    assert body["comments"][-1]["comment"] == "looks good"

    # Rejecting a closed request is a 400: "other API error".
    again = cli("requests", "reject", "User Workflow", "1001")
    assert again.code == 6, again
    assert_one_error_line(again)
    assert "already approved" in again.err


def test_requests_draft_reassign_and_reject(
    env: SandboxProcess, cli: Callable[..., Result]
) -> None:
    draft = cli("requests", "create", "User Workflow", "--draft", "--values", '{"City": "Ooty"}')
    assert draft.code == 0, draft
    assert draft.json()["status"] == "draft"
    assert draft.json()["currentStage"] == "User Workflow"
    request_id = draft.json()["id"]

    submitted = cli("requests", "approve", "User Workflow", request_id)
    assert submitted.json()["status"] == "pending"

    reassigned = cli(
        "requests",
        "approve",
        "User Workflow",
        request_id,
        "--reassign-to",
        "ashoka@cavintek.com",
        "--comment",
        "over to you",
    )
    assert reassigned.code == 0, reassigned
    assert reassigned.json()["assignedTo"] == "ashoka@cavintek.com"
    assert reassigned.json()["status"] == "pending"

    rejected = cli("requests", "reject", "User Workflow", request_id, "--comment", "no")
    assert rejected.code == 0, rejected
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["comments"][-1]["comment"] == "no"


def test_requests_get_unknown_exits_5(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("requests", "get", "User Workflow", "4242")
    assert result.code == 5, result
    assert_one_error_line(result)


def test_users(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("users")
    assert result.code == 0, result
    users = result.json()
    assert [u["username"] for u in users] == [
        USERNAME,
        "manager@sandbox.local",
        "ashoka@cavintek.com",
        "former.employee@sandbox.local",
    ]
    assert [u["role"] for u in users] == ["Admin", "Manager", "User", "User"]
    assert users[-1]["status"] == "inactive"


def test_roles(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("roles")
    assert result.code == 0, result
    roles = result.json()
    assert [r["name"] for r in roles] == ["Admin", "Manager", "User"]
    assert roles[0]["permissions"]["workflows"] == "full"
    assert roles[1]["permissions"]["workflows"] == "approve"
