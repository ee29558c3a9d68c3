"""The legacy endpoints: method, path, query, headers, bodies, and the seed's responses."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import API_KEY, BASE, USER_KEY, USERNAME
from pytest_httpx import HTTPXMock

from cflow_async import (
    AuthenticationError,
    CflowClient,
    FieldDefinition,
    FieldOption,
    ProcessStage,
    StageStatus,
    Workflow,
    format_cflow_datetime,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "legacy"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def assert_auth_headers(request: httpx.Request) -> None:
    assert request.headers["apikey"] == API_KEY
    assert request.headers["userkey"] == USER_KEY
    assert request.headers["username"] == USERNAME


def query(request: httpx.Request) -> dict[str, str]:
    params = request.url.params
    # Every parameter exactly once.
    assert sorted(params.keys()) == sorted(set(params.keys()))
    return dict(params)


def body(request: httpx.Request) -> Any:
    assert request.headers["content-type"].startswith("application/json")
    return json.loads(request.content)


# -- check_connection -----------------------------------------------------------------


async def test_check_connection_ok(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="GET", url=f"{BASE}/connection/GetConnection", text="OK")
    assert await client.check_connection() is None
    request = httpx_mock.get_request()
    assert request is not None
    assert request.method == "GET"
    assert request.url.path == "/integromat/api/connection/GetConnection"
    assert_auth_headers(request)


async def test_check_connection_401(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        method="GET",
        url=f"{BASE}/connection/GetConnection",
        status_code=401,
        json={"message": "No valid API key provided."},
    )
    with pytest.raises(AuthenticationError) as info:
        await client.check_connection()
    assert info.value.status_code == 401
    assert info.value.body == {"message": "No valid API key provided."}
    assert len(httpx_mock.get_requests()) == 1


# -- get_workflows ----------------------------------------------------------------------


async def test_get_workflows_legacy_shape(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("getworkflows"))
    workflows = await client.get_workflows()
    request = httpx_mock.get_request()
    assert request is not None
    assert request.method == "GET"
    assert request.url.path == "/integromat/api/cflow/getworkflows"
    assert query(request) == {"username": USERNAME}
    assert_auth_headers(request)
    assert all(isinstance(w, Workflow) for w in workflows)
    assert [(w.name, w.display_name) for w in workflows] == [
        ("Test", "Test"),
        ("User Workflow", "User Workflow"),
        ("SampleWorkflow", "SampleWorkflow"),
        ("TrWorkflow", "TrWorkflow"),
    ]


async def test_get_workflows_display_name_differs(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        json={"Workflows": [{"WorkflowDisplayName": "Expense Claims", "WorkflowName": "exp_1"}]}
    )
    [workflow] = await client.get_workflows()
    assert workflow.name == "exp_1"
    assert workflow.display_name == "Expense Claims"


async def test_get_workflows_openapi_shape(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        json=[
            {
                "id": "wf-1",
                "name": "Expense Claims",
                "description": "Claims",
                "status": "active",
                "stages": [{"id": "s1", "name": "Manager Review", "order": 1, "reviewers": []}],
                "createdAt": "2024-01-02T03:04:05Z",
            },
            {"id": 77, "name": "Leave", "status": "draft", "stages": []},
        ]
    )
    workflows = await client.get_workflows()
    assert [(w.name, w.display_name, w.id, w.status) for w in workflows] == [
        ("Expense Claims", "Expense Claims", "wf-1", "active"),
        ("Leave", "Leave", "77", "draft"),
    ]


# -- get_process ------------------------------------------------------------------------


async def test_get_process(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("getprocess"))
    stages = await client.get_process("User Workflow")
    request = httpx_mock.get_request()
    assert request is not None
    assert request.method == "GET"
    assert request.url.path == "/integromat/api/cflow/getprocess"
    assert query(request) == {"username": USERNAME, "WorkflowName": "User Workflow"}
    assert_auth_headers(request)
    assert stages == [
        ProcessStage(stage="User Workflow", display_name="User Workflow", process_id="27405"),
        ProcessStage(stage="Manager Review", display_name="Manager Review", process_id="27406"),
        ProcessStage(stage="END", display_name="END", process_id="27407"),
    ]


async def test_get_process_numeric_ids(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    data = fixture("getprocess")
    for item in data:
        item["ProcessID"] = int(item["ProcessID"])
    httpx_mock.add_response(json=data)
    stages = await client.get_process("User Workflow")
    assert [s.process_id for s in stages] == ["27405", "27406", "27407"]
    assert all(type(s.process_id) is str for s in stages)


async def test_workflow_name_with_reserved_characters_stays_in_its_value(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=[])
    await client.get_process("R&D = a/b?x#1")
    request = httpx_mock.get_request()
    assert request is not None
    assert query(request) == {"username": USERNAME, "WorkflowName": "R&D = a/b?x#1"}


# -- get_status ------------------------------------------------------------------------


async def test_get_status(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("getstatus"))
    statuses = await client.get_status("User Workflow", "27406")
    request = httpx_mock.get_request()
    assert request is not None
    assert request.method == "GET"
    assert request.url.path == "/integromat/api/cflow/getstatus"
    # Documented parameters: group_id and WorkflowName.
    assert query(request) == {"WorkflowName": "User Workflow", "group_id": "27406"}
    assert_auth_headers(request)
    assert statuses == [
        StageStatus(group_id="27406", status="New"),
        StageStatus(group_id="27406", status="Approved"),
        StageStatus(group_id="27406", status="Rejected"),
    ]


async def test_get_status_int_group_id_and_numeric_ids(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    data = fixture("getstatus")
    for item in data["Status"]:
        item["Group_ID"] = int(item["Group_ID"])
    httpx_mock.add_response(json=data)
    statuses = await client.get_status("User Workflow", 27406)
    request = httpx_mock.get_request()
    assert request is not None
    assert request.url.params["group_id"] == "27406"
    assert [(s.group_id, s.status) for s in statuses] == [
        ("27406", "New"),
        ("27406", "Approved"),
        ("27406", "Rejected"),
    ]


# -- submit_record ----------------------------------------------------------------------

SEED_SUBMIT_VALUES: dict[str, Any] = {
    "City": "trichy",
    "Name1": "ashoka",
    "Email": "ashoka@cavintek.com",
    "Build_Date": dt.datetime(2022, 3, 26, 18, 30),
    "Work_Status": ["Stage"],
    "Completed_work": ["stage testing completed", "live testing completed"],
}


async def test_submit_record_matches_the_seed_request(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(method="POST", json=fixture("submitrecord_response"))
    record_id = await client.submit_record("SampleWorkflow", SEED_SUBMIT_VALUES)
    assert record_id == "44"
    request = httpx_mock.get_request()
    assert request is not None
    assert request.method == "POST"
    assert request.url.path == "/integromat/api/cflow/submitrecord"
    assert query(request) == {"username": USERNAME, "WorkflowName": "SampleWorkflow"}
    assert_auth_headers(request)
    assert body(request) == fixture("submitrecord_request")


async def test_submit_record_body_shape(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="POST", json={"Record_Id": "45"})
    await client.submit_record("Leave Request", {"Days": 3})
    request = httpx_mock.get_request()
    assert request is not None
    assert body(request) == {"main": {"WorkflowName": "Leave Request"}, "dynamicobj": {"Days": 3}}


async def test_submit_record_numeric_record_id(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="POST", json={"Record_Id": 44})
    record_id = await client.submit_record("SampleWorkflow", {"City": "trichy"})
    assert record_id == "44"
    assert type(record_id) is str


# -- update_record ----------------------------------------------------------------------

SEED_UPDATE_VALUES: dict[str, Any] = {
    "City": "tiruchirappalli",
    "Name1": "ashoka",
    "Email": "ashoka@cavintek.com",
    "Build_Date": dt.datetime(2022, 3, 26, 18, 30),
}


@pytest.mark.parametrize(("group_id", "record_id"), [("27408", "32"), (27408, 32)])
async def test_update_record_matches_the_seed_request(
    client: CflowClient, httpx_mock: HTTPXMock, group_id: str | int, record_id: str | int
) -> None:
    httpx_mock.add_response(method="POST", json=fixture("updaterecord_response"))
    result = await client.update_record("SampleWorkflow", group_id, record_id, SEED_UPDATE_VALUES)
    assert result == "32"
    request = httpx_mock.get_request()
    assert request is not None
    assert request.method == "POST"
    assert request.url.path == "/integromat/api/cflow/updaterecord"
    assert query(request) == {
        "username": USERNAME,
        "WorkflowName": "SampleWorkflow",
        "group_id": "27408",
        "RecordId": "32",
    }
    assert_auth_headers(request)
    assert body(request) == fixture("updaterecord_request")


async def test_update_record_numeric_record_id(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="POST", json={"Record_Id": 32})
    assert await client.update_record("SampleWorkflow", 27408, 32, {"City": "x"}) == "32"


# -- field definitions ------------------------------------------------------------------


def _by_name(fields: list[FieldDefinition]) -> dict[str, FieldDefinition]:
    return {f.name: f for f in fields}


def _check_seed_process_fields(fields: list[FieldDefinition], expected_count: int) -> None:
    assert all(isinstance(f, FieldDefinition) for f in fields)
    assert len(fields) == expected_count
    named = _by_name(fields)
    # The "default:" key (with a colon): R_Comments1 has "" and every other field null.
    assert named["R_Comments1"].default == ""
    assert [f.name for f in fields if f.default is not None] == ["R_Comments1"]
    assert all(f.default is None for f in fields if f.name != "R_Comments1")
    # options: items with label/value, empty when null.
    status = named["R_Status1"]
    assert status.type == "select"
    assert status.label == "Manager Review Status"
    assert [(o.label, o.value) for o in status.options] == [
        ("New", "New"),
        ("Approved", "Approved"),
        ("Rejected", "Rejected"),
    ]
    assert all(isinstance(o, FieldOption) for o in status.options)
    city = named["City"]
    assert isinstance(city.options, tuple | list)
    assert len(city.options) == 0
    assert city.type == "text"
    assert city.label == "City"
    assert city.help == ""
    assert city.spec is None
    assert (city.required, city.multiple, city.multiline) == (False, False, False)
    assert named["R_Approved Date2"].type == "date"
    assert named["R_Approved Date2"].label == "END Approved Date"


async def test_get_process_fields_for_map(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("fieldsformap"))
    fields = await client.get_process_fields_for_map("SampleWorkflow", "27406")
    request = httpx_mock.get_request()
    assert request is not None
    assert request.method == "GET"
    assert request.url.path == "/integromat/api/cflow/getworkflowprocessfieldsformap"
    assert query(request) == {
        "username": USERNAME,
        "WorkflowName": "SampleWorkflow",
        "group_id": "27406",
    }
    assert_auth_headers(request)
    _check_seed_process_fields(fields, 12)
    record = _by_name(fields)["RecordId"]
    assert record.required is True
    assert record.help == "Record ID"
    assert record.label == "Record ID"
    assert [f.name for f in fields][-1] == "RecordId"


async def test_get_process_fields_for_map_int_group_id(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=fixture("fieldsformap"))
    await client.get_process_fields_for_map("SampleWorkflow", 27406)
    request = httpx_mock.get_request()
    assert request is not None
    assert request.url.params["group_id"] == "27406"


async def test_get_workflow_fieldsets(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("workflowfieldsets"))
    fields = await client.get_workflow_fieldsets("SampleWorkflow")
    request = httpx_mock.get_request()
    assert request is not None
    assert request.method == "GET"
    assert request.url.path == "/integromat/api/cflow/getworkflowfieldsets"
    assert query(request) == {"username": USERNAME, "WorkflowName": "SampleWorkflow"}
    assert_auth_headers(request)
    assert [f.name for f in fields] == ["Name", "Phone", "Email", "City", "GoogleSheetRowNumber"]
    assert all(f.default is None and len(f.options) == 0 for f in fields)
    assert all(f.type == "text" and f.required is False for f in fields)


async def test_get_process_fieldsets(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("processfieldsets"))
    fields = await client.get_process_fieldsets("SampleWorkflow", 27406)
    request = httpx_mock.get_request()
    assert request is not None
    assert request.method == "GET"
    assert request.url.path == "/integromat/api/cflow/getworkflowprocessfieldsets"
    assert query(request) == {
        "username": USERNAME,
        "WorkflowName": "SampleWorkflow",
        "group_id": "27406",
    }
    assert_auth_headers(request)
    _check_seed_process_fields(fields, 11)
    assert "RecordId" not in _by_name(fields)


async def test_field_default_key_without_colon_is_not_confused(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        json=[
            {"name": "A", "type": "text", "label": "A", "options": None, "default:": "x"},
            {"name": "B", "type": "text", "label": "B", "options": None, "default:": None},
        ]
    )
    fields = await client.get_workflow_fieldsets("W")
    assert [f.default for f in fields] == ["x", None]


# -- record values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (dt.datetime(2022, 3, 26, 18, 30), "3/26/2022 6:30:00 PM"),
        (dt.date(2022, 3, 26), "3/26/2022 12:00:00 AM"),
        (dt.datetime(2022, 3, 26, 0, 0, 0), "3/26/2022 12:00:00 AM"),
        (dt.datetime(2022, 3, 26, 12, 0, 0), "3/26/2022 12:00:00 PM"),
        (dt.datetime(2022, 3, 26, 12, 5, 9), "3/26/2022 12:05:09 PM"),
        (dt.datetime(2022, 1, 2, 0, 0, 1), "1/2/2022 12:00:01 AM"),
        (dt.datetime(2022, 12, 31, 23, 59, 59), "12/31/2022 11:59:59 PM"),
        (dt.datetime(2022, 3, 26, 11, 59, 59), "3/26/2022 11:59:59 AM"),
        (dt.datetime(2022, 3, 26, 13, 1, 2), "3/26/2022 1:01:02 PM"),
    ],
)
async def test_date_values_on_the_wire(
    client: CflowClient, httpx_mock: HTTPXMock, value: dt.date, wire: str
) -> None:
    assert format_cflow_datetime(value) == wire
    httpx_mock.add_response(method="POST", json={"Record_Id": "1"})
    httpx_mock.add_response(method="POST", json={"Record_Id": "1"})
    await client.submit_record("W", {"When": value})
    await client.update_record("W", "1", "2", {"When": value})
    submitted, updated = httpx_mock.get_requests()
    assert body(submitted)["dynamicobj"] == {"When": wire}
    assert body(updated)["Values"] == {"When": wire}


@pytest.mark.parametrize(
    "value",
    [
        "plain text",
        "",
        0,
        42,
        -7,
        1.5,
        True,
        False,
        None,
        ["Stage"],
        ["a", "b", "c"],
        [],
    ],
)
async def test_other_values_are_sent_as_given(
    client: CflowClient, httpx_mock: HTTPXMock, value: Any
) -> None:
    httpx_mock.add_response(method="POST", json={"Record_Id": "1"})
    httpx_mock.add_response(method="POST", json={"Record_Id": "1"})
    await client.submit_record("W", {"F": value})
    await client.update_record("W", "1", "2", {"F": value})
    submitted, updated = httpx_mock.get_requests()
    assert body(submitted)["dynamicobj"] == {"F": value}
    assert body(updated)["Values"] == {"F": value}
    assert type(body(submitted)["dynamicobj"]["F"]) is type(value)


async def test_non_ascii_values_round_trip(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="POST", json={"Record_Id": "1"})
    await client.submit_record("Überweisung", {"Stadt": "Tiruchirāppalli", "Note": "日本"})
    request = httpx_mock.get_request()
    assert request is not None
    assert body(request) == {
        "main": {"WorkflowName": "Überweisung"},
        "dynamicobj": {"Stadt": "Tiruchirāppalli", "Note": "日本"},
    }
    assert request.url.params["WorkflowName"] == "Überweisung"


class _Opaque:
    pass


@pytest.mark.parametrize(
    "value",
    [object(), _Opaque(), {1, 2}, [object()], ["ok", _Opaque()]],
    ids=["object", "custom-class", "set", "list-of-object", "list-with-custom-class"],
)
async def test_unsupported_values_raise_before_sending(
    client: CflowClient, httpx_mock: HTTPXMock, value: Any
) -> None:
    with pytest.raises(ValueError, match="Bad"):
        await client.submit_record("W", {"Bad": value})
    with pytest.raises(ValueError, match="Bad"):
        await client.update_record("W", "1", "2", {"Ok": "x", "Bad": value})
    assert httpx_mock.get_requests() == []
