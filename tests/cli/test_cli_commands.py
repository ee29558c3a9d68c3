"""Every ``cflow`` command against the sandbox: legacy and OpenAPI endpoints; ``--format table``
(the table formatter alone is in test_cli_units)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from servers import Loopback, Reply

from cli.cli_support import SEED_WORKFLOWS, USERNAME, WORKFLOW_FIELDS, Cli

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("env")]

SEED_STAGES = [
    {"stage": "User Workflow", "display_name": "User Workflow", "process_id": "27405"},
    {"stage": "Manager Review", "display_name": "Manager Review", "process_id": "27406"},
    {"stage": "END", "display_name": "END", "process_id": "27407"},
]
STATUSES = ["New", "Approved", "Rejected"]
STAGE_STATUSES = [{"group_id": "27406", "status": status} for status in STATUSES]
PROCESS_FIELDS = [
    "City",
    "Email",
    "R_Approved By2",
    "R_Approved Date2",
    "GoogleSheetRowNumber",
    "R_Approved By1",
    "R_Approved Date1",
    "R_Comments1",
    "R_Status1",
    "Name",
    "Phone",
]


@pytest.mark.parametrize(
    ("args", "key", "expected"),
    [
        (["workflows"], "name", SEED_WORKFLOWS),
        (["workflows"], "display_name", SEED_WORKFLOWS),
        (["process", "User Workflow"], None, SEED_STAGES),
        (["status", "User Workflow", "27406"], None, STAGE_STATUSES),
        (["fields", "User Workflow"], "name", WORKFLOW_FIELDS),
        (["fields", "User Workflow", "--group-id", "27406"], "name", PROCESS_FIELDS),
    ],
)
def test_legacy_reads(cli: Cli, args: list[str], key: str | None, expected: list[Any]) -> None:
    data = cli.ok(*args).json()
    assert (data if key is None else [item[key] for item in data]) == expected


def test_fields_for_map(cli: Cli) -> None:
    data = cli.ok("fields", "User Workflow", "--group-id", "27406", "--for-map").json()
    assert [f["name"] for f in data] == [*PROCESS_FIELDS, "RecordId"]
    by_name = {f["name"]: f for f in data}
    # Field definitions are attrs models: plain JSON, their options tuples as lists.
    plain = {"type": "text", "options": [], "spec": None, "help": "", "default": None}
    flags = {"required": False, "multiple": False, "multiline": False}
    assert by_name["Name"] == {"name": "Name", "label": "Name", **plain, **flags}
    assert by_name["R_Status1"]["options"] == [{"label": v, "value": v} for v in STATUSES]
    # The wire key is "default:" (with the colon); the model reads it.
    assert by_name["R_Comments1"]["default"] == ""
    assert by_name["R_Approved Date1"]["type"] == "date"
    for_map = {"label": "Record ID", "help": "Record ID", "required": True}
    assert by_name["RecordId"] == {"name": "RecordId", **plain, **flags, **for_map}


@pytest.mark.parametrize(
    ("args", "values"),
    [
        (
            [
                "SampleWorkflow",
                "City=trichy",
                "Build_Date=3/26/2022 6:30:00 PM",
                'Work_Status:=["Stage"]',
                'Completed_work:=["stage testing completed", "live testing completed"]',
            ],
            {
                "City": "trichy",
                "Build_Date": "3/26/2022 6:30:00 PM",
                "Work_Status": ["Stage"],
                "Completed_work": ["stage testing completed", "live testing completed"],
            },
        ),
        # Pairs may come after options.
        (
            ["Test", "a=1", "--retries", "0", "b:=2", "--format", "json", "c=x"],
            {"a": "1", "b": 2, "c": "x"},
        ),
        (["Test", "--values", '{"n": 3, "ok": true, "x": null}'], {"n": 3, "ok": True, "x": None}),
    ],
)
def test_submit(cli: Cli, args: list[str], values: dict[str, Any]) -> None:
    # The legacy document's example answers Record_Id "44"; a fresh sandbox starts there.
    assert cli.ok("submit", *args).json() == {"record_id": "44"}
    record = cli.records()[0]
    assert (record["WorkflowName"], record["values"]) == (args[0], values)


def test_submit_with_values_file_from_stdin_or_missing(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "values.json"
    path.write_text(json.dumps({"City": "Chennai", "Name": "Ünïcode"}), encoding="utf-8")
    cli.ok("submit", "User Workflow", "--values-file", str(path))
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"City": "Madurai"}'))
    cli.ok("submit", "User Workflow", "--values-file", "-")
    assert [r["values"] for r in cli.records()] == [
        {"City": "Chennai", "Name": "Ünïcode"},
        {"City": "Madurai"},
    ]
    result = cli.fails(2, "submit", "Test", "--values-file", str(tmp_path / "nope.json"))
    assert "cannot read values file" in result.err


def test_update(cli: Cli) -> None:
    cli.ok("submit", "SampleWorkflow", "City=trichy", "Name1=ashoka")
    updated = cli.ok("update", "SampleWorkflow", "27407", "44", "City=tiruchirappalli")
    assert updated.json() == {"record_id": "44"}
    record = cli.records()[0]
    assert record["values"] == {"City": "tiruchirappalli", "Name1": "ashoka"}
    assert (record["group_id"], record["updateCount"]) == ("27407", 1)


def test_requests_lifecycle(cli: Cli) -> None:
    assert cli.ok("requests", "list", "User Workflow").json() == []

    request = cli.ok("requests", "create", "User Workflow", "City=Chennai", "Name=Asha").json()
    # The request's life itself is the sandbox's (tests/sandbox): here, what the CLI sends.
    assert request["id"] == "1001"
    assert request["fields"] == {"City": "Chennai", "Name": "Asha"}
    # workflowId is checked only here: tests/sandbox's test_request_lifecycle leaves it to us.
    assert (request["workflowId"], request["submittedBy"]) == ("User Workflow", USERNAME)

    assert [r["id"] for r in cli.ok("requests", "list", "User Workflow").json()] == ["1001"]
    got = cli.ok("requests", "get", "User Workflow", "1001").json()
    assert got["fields"] == {"City": "Chennai", "Name": "Asha"}

    body = cli.ok("requests", "approve", "User Workflow", "1001", "--comment", "looks good").json()
    assert body["status"] == "approved"
    assert body["comments"][-1]["comment"] == "looks good"

    # Rejecting a closed request is a 400: "other API error".
    assert "already approved" in cli.fails(6, "requests", "reject", "User Workflow", "1001").err


def test_requests_draft_reassign_and_reject(cli: Cli) -> None:
    create = ("requests", "create", "User Workflow", "--draft", "--values", '{"City": "Ooty"}')
    draft = cli.ok(*create).json()
    assert (draft["status"], draft["currentStage"]) == ("draft", "User Workflow")
    approve = ("requests", "approve", "User Workflow", draft["id"])
    assert cli(*approve).json()["status"] == "pending"  # submitted

    reassign = ("--reassign-to", "ashoka@cavintek.com", "--comment", "over to you")
    reassigned = cli.ok(*approve, *reassign).json()
    assert (reassigned["assignedTo"], reassigned["status"]) == ("ashoka@cavintek.com", "pending")

    rejected = cli.ok("requests", "reject", "User Workflow", draft["id"], "--comment", "no").json()
    assert (rejected["status"], rejected["comments"][-1]["comment"]) == ("rejected", "no")


def test_users_and_roles(cli: Cli) -> None:
    users = [[u["username"], u["role"], u["status"]] for u in cli.ok("users").json()]
    assert users == [
        [USERNAME, "Admin", "active"],
        ["manager@sandbox.local", "Manager", "active"],
        ["ashoka@cavintek.com", "User", "active"],
        ["former.employee@sandbox.local", "User", "inactive"],
    ]
    roles = [[r["name"], r["permissions"]["workflows"]] for r in cli.ok("roles").json()]
    assert roles == [["Admin", "full"], ["Manager", "approve"], ["User", "submit"]]


# --- --format table -------------------------------------------------------------------------


def test_table_option_before_the_command_and_on_a_group(cli: Cli) -> None:
    lines = cli.ok("--format", "table", "process", "User Workflow").out.splitlines()
    assert lines[0].split() == ["stage", "display_name", "process_id"]
    assert lines[3].split() == ["Manager", "Review", "Manager", "Review", "27406"]
    # Options are accepted at every level of the command.
    assert cli.ok("requests", "--format", "table", "list", "Test").out == "(no results)\n"


def test_table_escapes_control_characters(cli: Cli, stub: Loopback) -> None:
    def serve(name: str) -> None:
        body = {"Workflows": [{"WorkflowName": name, "WorkflowDisplayName": "d"}]}
        stub.handler = lambda seen: Reply(body=json.dumps(body).encode())

    # Server data must not drive the terminal (ESC sequences, CR, ...).
    serve("a\u001b[31mred\rx")
    result = cli.ok("--base-url", stub.url, "workflows", "--format", "table")
    assert "\x1b" not in result.out
    assert "\r" not in result.out
    assert "a\\x1b[31mred\\rx" in result.out
    # JSON output escapes them all, C1 controls (CSI is U+009B) included.
    serve("a\u009b31m\u001b[0m")
    as_json = cli("--base-url", stub.url, "workflows")
    assert "\x9b" not in as_json.out
    assert "\x1b" not in as_json.out
    assert as_json.json()[0]["name"] == "a\u009b31m\u001b[0m"
    # Nested values in a table cell: test_cell.
