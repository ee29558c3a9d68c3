"""Field validation in the sandbox (on by default, relaxed by a switch) and records being
requests of their workflow. Written with the plugin's fixtures, as a user would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from cflow_async import CflowClient
from cflow_async.sandbox import RunningSandbox, SandboxConfig, SandboxProcess, run_sandbox
from cflow_async.sandbox.validation import ApiError, validate_fields
from cflow_async.testing import CflowSandbox

API = "/integromat/api/cflow"
TENANT = Path(__file__).resolve().parents[1] / "fixtures" / "tenant.yaml"
LEAVE = {"Employee": "Asha", "Start": "12/1/2026 9:00:00 AM", "Kind": "vacation"}
SAMPLE = {
    "City": "trichy",
    "Name1": "ashoka",
    "Email": "ashoka@cavintek.com",
    "Build_Date": "3/26/2022 6:30:00 PM",
    "Work_Status": ["Stage"],
    "Completed_work": ["stage testing completed", "live testing completed"],
}


def submission(workflow: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"main": {"WorkflowName": workflow}, "dynamicobj": values}


def _submit(sandbox: CflowSandbox, workflow: str, values: dict[str, Any]) -> httpx.Response:
    url = f"{sandbox.url}{API}/submitrecord"
    return httpx.post(url, json=submission(workflow, values), headers=sandbox.headers)


def cflow_api(sb: RunningSandbox) -> httpx.AsyncClient:
    """An httpx client on the Cflow routes of ``sb``, with its credentials."""
    return httpx.AsyncClient(base_url=f"{sb.url}{API}/", headers=sb.headers)


@pytest.mark.parametrize(
    "date",
    [
        "3/26/2022 6:30:00 PM",
        "03/26/2022 06:30:00 AM",
        "2022-03-26",
        "2022-03-26T18:30",
        "2022-03-26T18:30:00Z",
        "2022-03-26T18:30:00.123+05:30",
        "",
    ],
)
def test_dates_in_cflow_format_or_iso_8601_are_accepted(
    cflow_sandbox: CflowSandbox, date: str
) -> None:
    response = _submit(cflow_sandbox, "SampleWorkflow", {**SAMPLE, "Build_Date": date})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("values", "problems"),
    [
        ({"Nope": "x"}, {"Nope": "is not a field of workflow 'SampleWorkflow'"}),
        ({"R_Status1": "Maybe"}, {"R_Status1": "has values not among the options"}),
        ({"Completed_work": ["done"]}, {"Completed_work": "has values not among the options"}),
        ({"Build_Date": "2022-02-30"}, {"Build_Date": "must be a date like"}),
        ({"Build_Date": "26.03.2022"}, {"Build_Date": "must be a date like"}),
        ({"Build_Date": "2022-03-26 18:30"}, {"Build_Date": "must be a date like"}),
        ({"City": ["a", "b"]}, {"City": "takes one value (multiple: false), not a list"}),
        ({"R_Status1": ["New"]}, {"R_Status1": "takes one value (multiple: false)"}),
        (
            {"Nope": 1, "City": ["x"]},
            # In the order of the submitted values (SAMPLE's City comes first).
            {"City": "takes one value", "Nope": "is not a field"},
        ),
    ],
)
def test_values_that_do_not_fit_are_a_400_listing_every_problem(
    cflow_sandbox: CflowSandbox, values: dict[str, Any], problems: dict[str, str]
) -> None:
    response = _submit(cflow_sandbox, "SampleWorkflow", {**SAMPLE, **values})
    assert response.status_code == 400
    body = response.json()
    assert [error["field"] for error in body["errors"]] == list(problems)
    assert body["fields"] == list(problems)
    for error in body["errors"]:
        assert error["problem"].startswith(problems[error["field"]])
        assert error["field"] in body["message"]
    assert cflow_sandbox.records() == []


def test_only_what_a_definition_says_is_checked() -> None:
    # Not every select lists its options, and some types (attachments, tables) say nothing
    # about their values: those take any value of the right shape, as the client's schema.
    definitions = {
        "Pick": {"type": "select"},
        "Picks": {"type": "select", "multiple": True},
        "Files": {"type": "attachment"},
    }
    values = {"Pick": "anything", "Picks": ["a", "b"], "Files": [{"name": "a.pdf"}]}
    validate_fields("W", definitions, values)
    with pytest.raises(ApiError, match="Pick must be a string"):
        validate_fields("W", definitions, {"Pick": 5})


async def test_required_fields_are_needed_on_submit_not_on_update() -> None:
    async with run_sandbox(data=TENANT) as sb, cflow_api(sb) as http:
        missing = await http.post("submitrecord", json=submission("Leave", {"Employee": "Asha"}))
        assert missing.status_code == 400
        assert missing.json()["errors"] == [
            {"field": "Start", "problem": "is required"},
            {"field": "Kind", "problem": "is required"},
        ]
        empty = await http.post("workflows/Leave/requests", json={"fields": {**LEAVE, "Kind": ""}})
        assert empty.json()["errors"] == [{"field": "Kind", "problem": "is required"}]
        # A draft is saved unfinished; an update may send a subset.
        draft = await http.post("workflows/Leave/drafts", json={"fields": {"Notes": "later"}})
        assert draft.status_code == 201
        created = await http.post("submitrecord", json=submission("Leave", LEAVE))
        main = {"WorkflowName": "Leave", "RecordId": created.json()["Record_Id"]}
        update = await http.post("updaterecord", json={"main": main, "Values": {"Notes": "x"}})
        assert update.is_success
        refused = await http.post("updaterecord", json={"main": main, "Values": {"Kind": "x"}})
        assert refused.json()["fields"] == ["Kind"]
        item = f"workflows/Leave/requests/{main['RecordId']}"
        put = await http.put(item, json={"fields": {"Start": "soon"}})
        assert put.json()["fields"] == ["Start"]


async def test_lenient_fields_accept_anything() -> None:
    config = SandboxConfig(validate_fields=False)
    async with run_sandbox(config, data=TENANT) as sb, cflow_api(sb) as http:
        body = submission("Leave", {"Whatever": [1, {"x": 2}]})
        assert (await http.post("submitrecord", json=body)).status_code == 200


def test_the_lenient_fields_flag_of_the_sandbox_process() -> None:
    with SandboxProcess(lenient_fields=True) as proc:
        body = submission("SampleWorkflow", {"Nope": 1})
        response = httpx.post(f"{proc.url}{API}/submitrecord", json=body, headers=proc.headers)
    assert response.status_code == 200


# --- records are requests ---------------------------------------------------------------


async def test_a_submitted_record_is_a_request_of_its_workflow(
    cflow_client: CflowClient, cflow_sandbox: CflowSandbox
) -> None:
    before = await cflow_client.requests.create("SampleWorkflow", {"City": "before"})
    record_id = await cflow_client.submit_record("SampleWorkflow", SAMPLE)
    listed = await cflow_client.requests.list("SampleWorkflow")
    assert [str(request.id) for request in listed] == ["1001", record_id]
    as_request = listed[1]
    assert as_request.fields.to_dict() == SAMPLE
    assert (str(as_request.status), as_request.current_stage) == ("pending", "Manager Review")
    assert [r.id for r in await cflow_client.requests.list("Test")] == []

    # updaterecord changes the same object: the request's fields follow.
    await cflow_client.update_record("SampleWorkflow", "27406", record_id, {"City": "madurai"})
    again = await cflow_client.requests.get("SampleWorkflow", record_id)
    assert again.fields.to_dict() == {**SAMPLE, "City": "madurai"}
    assert [entry["action"] for entry in again["history"]] == ["submitted", "updated"]
    assert cflow_sandbox.records()[0]["values"]["City"] == "madurai"
    assert cflow_sandbox.records()[0]["updateCount"] == 1
    # updaterecord also reaches a request made through the OpenAPI.
    await cflow_client.update_record("SampleWorkflow", "27406", str(before.id), {"City": "b"})
    fetched = await cflow_client.requests.get("SampleWorkflow", str(before.id))
    assert fetched.fields.to_dict() == {"City": "b"}

    # And the other way round: an OpenAPI update shows in the legacy record.
    await cflow_client.requests.update("SampleWorkflow", record_id, {"Name1": "asha"})
    assert cflow_sandbox.records()[0]["values"]["Name1"] == "asha"
    await cflow_client.requests.delete("SampleWorkflow", record_id)
    assert cflow_sandbox.records() == []


async def test_record_and_request_ids_never_collide() -> None:
    config = SandboxConfig(first_record_id=1000, first_request_id=1001)
    async with run_sandbox(config) as sb, cflow_api(sb) as http:
        ids = []
        for _ in range(2):
            created = await http.post("workflows/Test/requests", json={"fields": {}})
            submitted = await http.post("submitrecord", json=submission("Test", {}))
            ids += [created.json()["id"], submitted.json()["Record_Id"]]
        assert ids == ["1001", "1000", "1002", "1003"]
