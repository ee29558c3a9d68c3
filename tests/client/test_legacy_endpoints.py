"""The legacy endpoints: what each reads from the seed's answers and the quirks seen in the
wild, and what the writes send. Method, path and auth headers of every call are pinned by
test_endpoint_catalog.py; here each call's query is checked against its arguments."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from conftest import USERNAME
from endpoints import WORKFLOW_JSON, endpoint
from pytest_httpx import HTTPXMock

from cflow_async import CflowClient, format_cflow_datetime
from cflow_async.models import FieldDefinition, FieldOption, ProcessStage, StageStatus, Workflow

#: The seed's requests and answers (tests/fixtures/legacy), by file name.
SEED = {
    p.stem: json.loads(p.read_text("utf-8"))
    for p in (Path(__file__).parents[1] / "fixtures" / "legacy").glob("*.json")
}


def typed(value: Any) -> Any:
    """``value`` with the exact type of every part beside it: ``44`` does not pass for ``"44"``."""
    if attrs.has(type(value)):
        return type(value), [typed(v) for v in attrs.astuple(value, recurse=False)]
    if isinstance(value, list | tuple):
        return type(value), [typed(v) for v in value]
    return type(value), value


def body(request: httpx.Request) -> Any:
    assert request.headers["content-type"].startswith("application/json")
    return json.loads(request.content)


async def call(
    client: CflowClient, httpx_mock: HTTPXMock, name: str, args: tuple[Any, ...], reply: Any
) -> tuple[Any, httpx.Request]:
    """``client.<name>(*args)`` answered with ``reply`` (JSON, or text if a str): the result
    and the one request, whose query must carry exactly the arguments given."""
    ep = endpoint(name)
    httpx_mock.add_response(**({"text": reply} if isinstance(reply, str) else {"json": reply}))
    result = await ep.bound(client)(*args)
    [request] = httpx_mock.get_requests()
    params = request.url.params
    assert sorted(params.keys()) == sorted(set(params.keys()))  # every parameter once
    assert dict(params) == ep.expected_query(USERNAME, **dict(zip(ep.params, args, strict=True)))
    return result, request


SEED_WORKFLOWS = [Workflow(n, n) for n in ("Test", "User Workflow", "SampleWorkflow", "TrWorkflow")]
SEED_WORKFLOW_FIELDS = ("Name", "Phone", "Email", "City", "GoogleSheetRowNumber")
SEED_STAGES = [
    ProcessStage(stage="User Workflow", display_name="User Workflow", process_id="27405"),
    ProcessStage(stage="Manager Review", display_name="Manager Review", process_id="27406"),
    ProcessStage(stage="END", display_name="END", process_id="27407"),
]
SEED_STATUSES = [StageStatus(group_id="27406", status=s) for s in ("New", "Approved", "Rejected")]


#: id -> (call, args, reply, result): each reader on the seed's answer and on the shapes and
#: quirks seen in the wild.
READS: dict[str, tuple[str, tuple[Any, ...], Any, Any]] = {
    "connection-ok": ("check_connection", (), "OK", None),
    "workflows": ("get_workflows", (), SEED["getworkflows"], SEED_WORKFLOWS),
    "workflows-display-name-differs": (
        "get_workflows",
        (),
        {"Workflows": [{"WorkflowDisplayName": "Expense Claims", "WorkflowName": "exp_1"}]},
        [Workflow(name="exp_1", display_name="Expense Claims")],
    ),
    "workflows-openapi-shape": (
        "get_workflows",
        (),
        [
            WORKFLOW_JSON | {"description": "Claims", "createdAt": "2024-01-02T03:04:05Z"},
            {"id": 77, "name": "Leave", "status": "draft", "stages": []},
        ],
        [
            Workflow("Expense Claims", "Expense Claims", id="wf-1", status="active"),
            Workflow("Leave", "Leave", id="77", status="draft"),
        ],
    ),
    "process": ("get_process", ("User Workflow",), SEED["getprocess"], SEED_STAGES),
    "status": ("get_status", ("User Workflow", "27406"), SEED["getstatus"], SEED_STATUSES),
    "status-int-group-id-and-numeric-ids": (
        "get_status",
        ("User Workflow", 27406),
        {"Status": [{**i, "Group_ID": int(i["Group_ID"])} for i in SEED["getstatus"]["Status"]]},
        SEED_STATUSES,
    ),
    "workflow-fieldsets": (
        "get_workflow_fieldsets",
        ("SampleWorkflow",),
        SEED["workflowfieldsets"],
        [FieldDefinition(n, "text", n) for n in SEED_WORKFLOW_FIELDS],
    ),
    # The wire key is "default:", with a colon.
    "field-default-key": (
        "get_workflow_fieldsets",
        ("W",),
        [
            {"name": "A", "type": "text", "label": "A", "options": None, "default:": "x"},
            {"name": "B", "type": "text", "label": "B", "options": None, "default:": None},
        ],
        [FieldDefinition("A", "text", "A", default="x"), FieldDefinition("B", "text", "B")],
    ),
}


# -- submit_record and update_record --------------------------------------------------

# The seed requests' values, with the date they send as a datetime.
BUILD_DATE = {"Build_Date": dt.datetime(2022, 3, 26, 18, 30)}
SEED_SUBMIT_VALUES = SEED["submitrecord_request"]["dynamicobj"] | BUILD_DATE
SEED_UPDATE_VALUES = SEED["updaterecord_request"]["Values"] | BUILD_DATE


#: id -> (call, args, reply, record id read, body sent).
WRITES: dict[str, tuple[str, tuple[Any, ...], Any, str, Any]] = {
    "submit-seed": (
        "submit_record",
        ("SampleWorkflow", SEED_SUBMIT_VALUES),
        SEED["submitrecord_response"],
        "44",
        SEED["submitrecord_request"],
    ),
    "submit-numeric-record-id": (
        "submit_record",
        ("SampleWorkflow", {"City": "trichy"}),
        {"Record_Id": 44},
        "44",
        {"main": {"WorkflowName": "SampleWorkflow"}, "dynamicobj": {"City": "trichy"}},
    ),
    **{
        # Int ids are sent as text; a numeric Record_Id is read as text.
        f"update-seed-{type(group_id).__name__}-ids": (
            "update_record",
            ("SampleWorkflow", group_id, record_id, SEED_UPDATE_VALUES),
            {"Record_Id": record_id},
            "32",
            SEED["updaterecord_request"],
        )
        for group_id, record_id in [("27408", "32"), (27408, 32)]
    },
}


#: Reads send no body (the catalog test pins that); writes send ``sent``.
CALLS = {**{k: (*v, None) for k, v in READS.items()}, **WRITES}


@pytest.mark.parametrize(("name", "args", "reply", "result", "sent"), CALLS.values(), ids=CALLS)
async def test_calls(
    client: CflowClient,
    httpx_mock: HTTPXMock,
    name: str,
    args: Any,
    reply: Any,
    result: Any,
    sent: Any,
) -> None:
    got, request = await call(client, httpx_mock, name, args, reply)
    assert typed(got) == typed(result)
    if sent is not None:
        assert body(request) == sent


# -- field definitions ------------------------------------------------------------------


RECORD_ID = FieldDefinition("RecordId", "text", "Record ID", help="Record ID", required=True)


@pytest.mark.parametrize(
    ("name", "group_id", "reply", "extra"),
    [
        ("get_process_fields_for_map", "27406", "fieldsformap", [RECORD_ID]),
        ("get_process_fields_for_map", 27406, "fieldsformap", [RECORD_ID]),
        ("get_process_fieldsets", 27406, "processfieldsets", []),
    ],
)
async def test_seed_process_fields(
    client: CflowClient, httpx_mock: HTTPXMock, name: str, group_id: Any, reply: str, extra: Any
) -> None:
    fields, _ = await call(client, httpx_mock, name, ("SampleWorkflow", group_id), SEED[reply])
    # The process's 11 fields; the fields for map add the record id, last.
    assert len(fields) == 11 + len(extra)
    assert fields[11:] == extra
    named = {f.name: f for f in fields}
    # The "default:" key (with a colon): R_Comments1 has "" and every other field null.
    assert {f.name: f.default for f in fields if f.default is not None} == {"R_Comments1": ""}
    # options: items with label/value, empty (a tuple) when null.
    options = tuple(FieldOption(label=s, value=s) for s in ("New", "Approved", "Rejected"))
    expected = [
        FieldDefinition("R_Status1", "select", "Manager Review Status", options=options),
        FieldDefinition("City", "text", "City"),
        FieldDefinition("R_Approved Date2", "date", "END Approved Date"),
    ]
    assert [named[f.name] for f in expected] == expected


# -- record values ---------------------------------------------------------------------


DATES = [
    (dt.date(2022, 3, 26), "3/26/2022 12:00:00 AM"),
    (dt.datetime(2022, 3, 26, 12, 5, 9), "3/26/2022 12:05:09 PM"),
    (dt.datetime(2022, 12, 31, 23, 59, 59), "12/31/2022 11:59:59 PM"),
    (dt.datetime(2022, 3, 26, 11, 59, 59), "3/26/2022 11:59:59 AM"),
    (dt.datetime(2022, 3, 26, 13, 1, 2), "3/26/2022 1:01:02 PM"),
]
OTHERS = ["plain text", "", 0, 42, -7, 1.5, True, False, None, ["Stage"], ["a", "b", "c"], []]


@pytest.mark.parametrize(("value", "wire"), [*DATES, *[(value, value) for value in OTHERS]])
async def test_record_values_on_the_wire(
    client: CflowClient, httpx_mock: HTTPXMock, value: Any, wire: Any
) -> None:
    """Dates go in the seed's format, every other value as given (same type), in the
    values of submit_record and update_record alike."""
    if isinstance(value, dt.date):
        assert format_cflow_datetime(value) == wire
    httpx_mock.add_response(method="POST", json={"Record_Id": "1"}, is_reusable=True)
    await client.submit_record("W", {"F": value})
    await client.update_record("W", "1", "2", {"F": value})
    submitted, updated = httpx_mock.get_requests()
    sent = [body(submitted)["dynamicobj"], body(updated)["Values"]]
    assert sent == [{"F": wire}] * 2
    assert [type(values["F"]) for values in sent] == [type(wire)] * 2
