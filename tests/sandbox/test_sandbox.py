"""Tests for cflow_async.sandbox: routes, validation, faults, serving, and the CLI process."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cflow_async.sandbox import (
    DEMO_API_KEY,
    DEMO_USER_KEY,
    DEMO_USERNAME,
    FaultConfig,
    FaultConfigError,
    SandboxConfig,
    SandboxConnectionDropped,
    SandboxProcess,
    ScriptedFault,
    create_app,
    main,
    run_sandbox,
)
from cflow_async.testing import CflowSandbox

AUTH = {"apikey": DEMO_API_KEY, "userkey": DEMO_USER_KEY, "username": DEMO_USERNAME}
API = "/integromat/api/cflow"
CONNECTION = "/integromat/api/connection/GetConnection"
WORKFLOWS = ["Test", "User Workflow", "SampleWorkflow", "TrWorkflow"]
# The legacy API document (the repository's copy first).
SEED_DOCS = [
    Path(__file__).resolve().parents[1] / "fixtures" / "seeds" / "000_b21dd8e24f49cec0.txt",
    Path("/work/shared/seeds/000_b21dd8e24f49cec0.txt"),
]

# The legacy document's submit and update samples, verbatim.
SUBMIT_SAMPLE: dict[str, Any] = {
    "main": {"WorkflowName": "SampleWorkflow"},
    "dynamicobj": {
        "City": "trichy",
        "Name1": "ashoka",
        "Email": "ashoka@cavintek.com",
        "Build_Date": "3/26/2022 6:30:00 PM",
        "Work_Status": ["Stage"],
        "Completed_work": ["stage testing completed", "live testing completed"],
    },
}
UPDATE_SAMPLE: dict[str, Any] = {
    "main": {"WorkflowName": "SampleWorkflow", "group_id": "27408", "RecordId": "32"},
    "Values": {
        "City": "tiruchirappalli",
        "Name1": "ashoka",
        "Email": "ashoka@cavintek.com",
        "Build_Date": "3/26/2022 6:30:00 PM",
    },
}


def assert_json_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


class Api(httpx.AsyncClient):
    """An httpx client on a sandbox app in-process. ``await api(method, path, status, body)``
    sends one request (``path`` is under API unless it starts with "/"), checks its status (an
    error status must come with a JSON error) and returns the decoded body (None when empty)."""

    def __init__(self, app: Any = None, headers: dict[str, str] | None = AUTH) -> None:
        self.app = app or create_app()
        transport = httpx.ASGITransport(app=self.app)
        super().__init__(transport=transport, base_url="http://sandbox", headers=headers)

    @property
    def state(self) -> Any:
        return self.app.state.sandbox

    async def __call__(
        self, method: str, path: str, status: int, body: Any = None, **kwargs: Any
    ) -> Any:
        url = path if path.startswith("/") else f"{API}/{path}"
        response = await self.request(method, url, json=body, **kwargs)
        if status >= 400:
            return assert_json_error(response, status)
        assert response.status_code == status, response.text
        return response.json() if response.content else None


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with Api() as sandbox:
        yield sandbox


def pick(mapping: dict[str, Any], *keys: str) -> tuple[Any, ...]:
    return tuple(mapping[key] for key in keys)


def submission(workflow: str, **values: Any) -> dict[str, Any]:
    """A submitrecord body."""
    return {"main": {"WorkflowName": workflow}, "dynamicobj": values}


def seed_responses() -> list[Any]:
    """Every JSON block that follows "Response:" in the legacy document, in order."""
    doc = next((path for path in SEED_DOCS if path.exists()), None)
    if doc is None:
        pytest.skip("legacy API document not available")
    text = doc.read_text(encoding="utf-8")
    for curly in ("\u201c", "\u201d", "\u2033"):
        text = text.replace(curly, '"')
    decoder = json.JSONDecoder()
    found = []
    for match in re.finditer(r"Response:\s*\n", text):
        start = match.end()
        if text[start] in "[{":
            value, _ = decoder.raw_decode(text, start)
            found.append(value)
    return found


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"apikey": DEMO_API_KEY, "userkey": DEMO_USER_KEY},
        {"apikey": "wrong", "userkey": DEMO_USER_KEY, "username": DEMO_USERNAME},
        {"apikey": DEMO_API_KEY, "userkey": "wrong", "username": DEMO_USERNAME},
        {"apikey": DEMO_API_KEY, "userkey": DEMO_USER_KEY, "username": "someone@else"},
    ],
)
@pytest.mark.parametrize(
    "path", [CONNECTION, f"{API}/getworkflows?username=x", f"{API}/users", f"{API}/does-not-exist"]
)
async def test_bad_credentials_are_401(path: str, headers: dict[str, str]) -> None:
    async with Api(headers=headers) as api:
        body = await api("GET", path, 401)
    assert DEMO_API_KEY not in json.dumps(body)


async def test_custom_credentials() -> None:
    config = SandboxConfig(api_key="k1", user_key="k2", username="me@example.com")
    assert "k1" not in repr(config)
    assert "k2" not in repr(config)
    custom = {"apikey": "k1", "userkey": "k2", "username": "me@example.com"}
    async with Api(create_app(config), headers=custom) as api:
        await api("GET", CONNECTION, 200)
        await api("GET", CONNECTION, 401, headers=AUTH)


# Requests answered with a JSON error. Each case runs after SUBMIT_SAMPLE was stored as record
# 44, so the updates below reach an existing record (or one of another workflow).
MAIN_44 = {"WorkflowName": "SampleWorkflow", "RecordId": "44"}
ERRORS = [
    ("GET", "nope", None, 404),
    ("DELETE", "getworkflows", None, 405),  # its Allow header is schemathesis' pin
    ("GET", "getprocess", None, 400),
    ("GET", "getprocess?WorkflowName=", None, 400),
    ("GET", "getstatus?WorkflowName=Test&group_id=1", None, 404),
    ("GET", "getstatus?WorkflowName=Test", None, 400),
    ("GET", "getstatus?group_id=27406", None, 400),
    ("GET", "getstatus?WorkflowName=X&group_id=27406", None, 404),
    ("GET", "getworkflowfieldsets?WorkflowName=Nope", None, 404),
    ("GET", "getworkflowfieldsets", None, 400),
    ("GET", "getworkflowprocessfieldsets?WorkflowName=Test&group_id=9", None, 404),
    # User Workflow defines only the seed's fields; the query and the body name two workflows.
    ("POST", "submitrecord", submission("User Workflow", Name1="x"), 400),
    ("POST", "submitrecord?WorkflowName=Test", submission("TrWorkflow"), 400),
    ("POST", "updaterecord", {"main": {**MAIN_44, "WorkflowName": "Test"}, "Values": {}}, 404),
    ("POST", "updaterecord", {"main": MAIN_44}, 400),
    ("POST", "updaterecord", {"main": MAIN_44, "Values": "x"}, 400),
    ("POST", "updaterecord", {"main": [], "Values": {}}, 400),
    ("POST", "updaterecord", {"main": {"WorkflowName": "SampleWorkflow"}, "Values": {}}, 400),
    ("POST", "updaterecord", {"main": {**MAIN_44, "RecordId": True}, "Values": {}}, 400),
    ("POST", "updaterecord", {"main": {**MAIN_44, "group_id": []}, "Values": {}}, 400),
    # Approving or rejecting an unknown request (the other OpenAPI routes' 404s are pinned by
    # test_request_lifecycle and by schemathesis, which sends random ids).
    ("POST", "workflows/Test/requests/9/approve", None, 404),
    ("POST", "workflows/Test/requests/9/reject", None, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), ERRORS)
async def test_errors_are_json(api: Api, method: str, path: str, body: Any, status: int) -> None:
    assert await api("POST", "submitrecord", 200, SUBMIT_SAMPLE) == {"Record_Id": "44"}
    await api(method, path, status, body)


async def test_not_found_errors_name_what_is_missing(api: Api) -> None:
    error = await api("GET", "getprocess", 404, params={"WorkflowName": "Nope"})
    assert "Nope" in error["message"]
    # The document's own update sample names record 32, which a fresh sandbox never issued.
    assert "32" in (await api("POST", "updaterecord", 404, UPDATE_SAMPLE))["message"]


# --- legacy read routes -----------------------------------------------------------------------


async def test_getworkflows_openapi_shape(api: Api) -> None:
    # Status and timestamps are checked against the spec by test_sandbox_schemathesis.
    workflows = await api("GET", "getworkflows", 200)
    assert [(w["id"], w["name"]) for w in workflows] == [(name, name) for name in WORKFLOWS]
    for workflow in workflows:
        assert [(s["id"], s["name"], s["order"]) for s in workflow["stages"]] == [
            ("27405", "User Workflow", 1),
            ("27406", "Manager Review", 2),
            ("27407", "END", 3),
        ]


async def test_getstatus_answers_the_group_asked_for(api: Api) -> None:
    # The seed document's example (group 27406) is compared verbatim below.
    other = await api("GET", "getstatus", 200, params={"WorkflowName": "Test", "group_id": "27407"})
    assert {s["Group_ID"] for s in other["Status"]} == {"27407"}


@pytest.mark.parametrize(
    ("index", "method", "path"),
    [
        (0, "GET", "getworkflows"),
        (1, "GET", "getprocess"),
        (2, "GET", "getstatus"),
        (3, "POST", "submitrecord"),
        (5, "GET", "getworkflowprocessfieldsformap"),
        (6, "GET", "getworkflowfieldsets"),
        (7, "GET", "getworkflowprocessfieldsets"),
    ],
)
async def test_seed_document_examples_verbatim(
    api: Api, index: int, method: str, path: str
) -> None:
    responses = seed_responses()
    assert len(responses) == 8
    if method == "POST":
        got = await api(method, path, 200, SUBMIT_SAMPLE)
    else:
        params = {"username": DEMO_USERNAME, "WorkflowName": "User Workflow", "group_id": "27406"}
        got = await api(method, path, 200, params=params)
    assert got == responses[index]
    # Compared as JSON text too, so key order and the odd "default:" key are pinned.
    assert json.dumps(got) == json.dumps(responses[index])


@pytest.mark.parametrize("path", ["getworkflowfieldsets", "getworkflowprocessfieldsets"])
async def test_field_definitions_per_workflow(api: Api, path: str) -> None:
    sample = await api("GET", path, 200, params={"WorkflowName": "SampleWorkflow"})
    names = [field["name"] for field in sample]
    assert names[-4:] == ["Name1", "Build_Date", "Work_Status", "Completed_work"]
    work_status = sample[-2]
    assert work_status["multiple"] is True
    assert work_status["options"] == [{"label": "Stage", "value": "Stage"}]
    for free_form in ("Test", "TrWorkflow"):
        assert await api("GET", path, 200, params={"WorkflowName": free_form}) == []


# --- legacy writes ----------------------------------------------------------------------------


async def test_workflow_and_group_may_come_from_the_query(api: Api) -> None:
    body = {"main": {}, "dynamicobj": {}}
    answer = await api("POST", "submitrecord", 200, body, params={"WorkflowName": "Test"})
    assert answer == {"Record_Id": "44"}
    # An update may also give the record id as an integer.
    await api("POST", "submitrecord", 200, SUBMIT_SAMPLE)
    # 27408 (the legacy document's) is no stage: the record keeps it, the stage stays.
    params = {"WorkflowName": "SampleWorkflow", "group_id": "27408"}
    body = {"main": {"RecordId": 45}, "Values": {"City": "madurai"}}
    assert await api("POST", "updaterecord", 200, body, params=params) == {"Record_Id": "45"}
    assert api.state.records["45"].values["City"] == "madurai"
    assert api.state.records["45"].group_id == "27408"
    assert api.state.stats_json()["updates_applied"] == 1


DEEP = b"[" * 5000 + b"]" * 5000
SUBMIT_BODIES = [
    (b"not json", 400),
    (b"", 400),
    (b"[]", 400),
    (b'{"main": "SampleWorkflow", "dynamicobj": {}}', 400),
    (b'{"main": {"WorkflowName": "SampleWorkflow"}}', 400),
    (b'{"main": {"WorkflowName": "SampleWorkflow"}, "dynamicobj": []}', 400),
    (b'{"main": {}, "dynamicobj": {}}', 400),
    (b'{"main": {"WorkflowName": 5}, "dynamicobj": {}}', 400),
    (b'{"main": {"WorkflowName": "Nope"}, "dynamicobj": {}}', 404),
    (b'{"main": {"WorkflowName": "Test"}, "dynamicobj": {"a": NaN}}', 400),
    (b'{"main": {"WorkflowName": "Test"}, "dynamicobj": {"a": 1e400}}', 400),
    (b'{"main": {"WorkflowName": "Test"}, "dynamicobj": {"a": "\\udc00"}}', 400),
    (b'{"main": {"WorkflowName": "Test"}, "dynamicobj": {"a": ' + DEEP + b"}}", 400),
]
CREATE = "workflows/Test/requests"
ITEM = "workflows/Test/requests/{rid}"
OPENAPI_BODIES = [
    ("POST", CREATE, b"{"),
    ("POST", CREATE, b""),
    ("POST", CREATE, b"[]"),
    ("POST", CREATE, b"null"),
    ("POST", CREATE, b'{"fields": 3}'),
    ("POST", CREATE, b'{"fields": null}'),
    ("POST", CREATE, b'{"fields": {"x": NaN}}'),
    ("POST", CREATE, b'{"fields": {"x": 1e999}}'),
    ("POST", CREATE, b'{"fields": {"x": "\\ud800"}}'),
    ("POST", CREATE, b'{"fields": ' * 40 + b"{}" + b"}" * 40),
    ("POST", CREATE, b"\xff\xfe\x00"),
    ("POST", "workflows/Test/drafts", b"{}"),
    ("PUT", ITEM, b'{"fields": []}'),
    ("POST", ITEM + "/approve", b'{"comment": 1}'),
    ("POST", ITEM + "/approve", b'{"reassignTo": null}'),
    ("POST", ITEM + "/reject", b'"x"'),
    ("POST", ITEM + "/reject", b"{]"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [("POST", "submitrecord", body, status) for body, status in SUBMIT_BODIES]
    + [(method, path, body, 400) for method, path, body in OPENAPI_BODIES],
)
async def test_malformed_bodies_are_json_errors_and_store_nothing(
    api: Api, method: str, path: str, body: bytes, status: int
) -> None:
    # {rid} is a pending request of the Test workflow, made first.
    rid = (await create_request(api)).rsplit("/", 1)[1]
    await api(method, path.format(rid=rid), status, content=body)
    assert (api.state.records_stored, api.state.requests_stored) == (0, 1)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"Nope": "x", "City": "y", "Other": 1}, ["Nope", "Other"]),
        ({"Build_Date": "2/30/2022 6:30:00 PM"}, ["Build_Date"]),
        ({"Build_Date": "3/26/2022 13:30:00 PM"}, ["Build_Date"]),
        ({"Build_Date": "3/26/2022 6:30 PM"}, ["Build_Date"]),
        ({"Work_Status": "Stage"}, ["Work_Status"]),
        ({"Work_Status": ["Stage", 3]}, ["Work_Status"]),
        ({"City": {"nested": True}}, ["City"]),
        ({"City": True}, ["City"]),
    ],
)
async def test_submit_field_validation(api: Api, values: dict[str, Any], named: list[str]) -> None:
    error = await api("POST", "submitrecord", 400, submission("SampleWorkflow", **values))
    assert error["fields"] == named
    for name in named:
        assert name in error["message"]
    await api("POST", "submitrecord", 200, SUBMIT_SAMPLE)
    await api("POST", "updaterecord", 400, {"main": MAIN_44, "Values": values})
    assert api.state.records["44"].update_count == 0


@pytest.mark.parametrize(
    ("workflow", "values"),
    [
        ("SampleWorkflow", {"Build_Date": "12/31/1999 12:00:00 AM"}),
        ("SampleWorkflow", {"Work_Status": []}),
        ("SampleWorkflow", {"R_Status1": "Approved", "R_Comments1": "", "Phone": 12345}),
        ("SampleWorkflow", {"City": None}),
        ("User Workflow", {"RecordId": "1", "Name": "x"}),
    ],
)
async def test_submit_field_values_accepted(
    api: Api, workflow: str, values: dict[str, Any]
) -> None:
    await api("POST", "submitrecord", 200, submission(workflow, **values))


# --- OpenAPI routes ---------------------------------------------------------------------------


async def test_get_workflow(api: Api) -> None:
    workflow = await api("GET", "workflows/User Workflow", 200)
    assert workflow["id"] == "User Workflow"
    assert workflow["stages"][1]["reviewers"] == ["manager@sandbox.local"]


async def test_request_lifecycle(api: Api) -> None:
    # Creating, listing, getting and approving are compared by the CLI's test_requests_lifecycle.
    base = "workflows/SampleWorkflow/requests"
    request = await api("POST", base, 201, {"fields": {"City": "trichy"}})
    item = f"{base}/{request['id']}"
    await api("GET", f"workflows/Test/requests/{request['id']}", 404)

    updated = await api("PUT", item, 200, {"fields": {"Email": "a@b.c"}})
    assert updated["fields"] == {"City": "trichy", "Email": "a@b.c"}
    await api("PUT", item, 400, {"fields": {"Bogus": 1}})

    approved = await api("POST", f"{item}/approve", 200, {"comment": "looks good"})
    assert pick(approved["comments"][-1], "comment", "stage") == ("looks good", "Manager Review")
    actions = [entry["action"] for entry in approved["history"]]
    assert actions == ["submitted", "updated", "approved"]
    # A closed request takes no more actions or updates.
    await api("POST", f"{item}/approve", 400)
    await api("PUT", item, 400, {"fields": {}})

    assert await api("DELETE", item, 204) is None
    await api("GET", item, 404)
    await api("DELETE", item, 404)
    stats = api.state.stats_json()
    assert pick(stats, "requests_created", "requests_stored") == (1, 0)


async def test_a_draft_is_submitted_by_approve_not_rejected(api: Api) -> None:
    draft = await api("POST", "workflows/Test/drafts", 201, {"fields": {"x": 1}})
    item = f"workflows/Test/requests/{draft['id']}"
    await api("POST", f"{item}/reject", 400)
    submitted = await api("POST", f"{item}/approve", 200)
    assert pick(submitted, "status", "currentStage") == ("pending", "Manager Review")


async def create_request(api: Api) -> str:
    """A pending request of the Test workflow: its path."""
    created = await api("POST", "workflows/Test/requests", 201, {"fields": {}})
    return f"workflows/Test/requests/{created['id']}"


async def test_reject_and_reassign(api: Api) -> None:
    item = await create_request(api)
    body = {"reassignTo": "ashoka@cavintek.com", "comment": "over to you"}
    reassigned = await api("POST", f"{item}/approve", 200, body)
    assert pick(reassigned, "status", "currentStage") == ("pending", "Manager Review")
    assert reassigned["history"][-1]["action"] == "reassigned"

    for target in ("nobody@nowhere", "former.employee@sandbox.local", ""):
        await api("POST", f"{item}/reject", 400, {"reassignTo": target})

    rejected = await api("POST", f"{item}/reject", 200, {"comment": "no"})
    assert rejected["status"] == "rejected"
    assert [c["comment"] for c in rejected["comments"]] == ["over to you", "no"]
    await api("POST", f"{item}/approve", 400, {"reassignTo": DEMO_USERNAME})


async def test_every_role_has_every_permission_area(api: Api) -> None:
    # Users, their roles and the role names are compared by the CLI's test_users/test_roles.
    roles = await api("GET", "roles", 200)
    assert all(
        set(role["permissions"]) == {"workflows", "lookups", "reports", "support"} for role in roles
    )


# --- admin routes -----------------------------------------------------------------------------

FAULTS = "/__sandbox__/faults"


A_CONFIG = {"rate": 0.5, "statuses": [429, 503], "retry_after": 2, "seed": 7, "methods": ["post"]}


async def test_admin_faults_put_and_patch(api: Api) -> None:
    default = await api("GET", FAULTS, 200)
    assert default == FaultConfig().to_json()
    put = await api("PUT", FAULTS, 200, A_CONFIG)
    assert pick(put, "retry_after", "methods") == ("2", ["POST"])
    patched = await api("PATCH", FAULTS, 200, {"latency": 0.25})
    assert pick(patched, "rate", "latency", "seed") == (0.5, 0.25, 7)
    await api("PUT", FAULTS, 400, content=b"{")
    assert await api("GET", FAULTS, 200) == patched


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize(
    "bad",
    [
        {"rate": 2},
        {"rate": "0.5"},
        {"statuses": []},
        {"statuses": [200]},
        {"statuses": "503"},
        {"latency": -1},
        {"retry_after": "1\r\nX: y"},
        {"retry_after_ms": -5},
        {"seed": 1.5},
        {"unknown": 1},
        {"script": [{"status": 99}]},
        {"script": [{"drop": "yes"}]},
        {"script": "x"},
    ],
)
async def test_admin_faults_refuses_bad_configs(api: Api, method: str, bad: dict[str, Any]) -> None:
    before = await api("PUT", FAULTS, 200, A_CONFIG)
    await api(method, FAULTS, 400, bad)
    assert await api("GET", FAULTS, 200) == before


async def test_admin_script_append_and_reset(api: Api) -> None:
    await api("POST", f"{FAULTS}/script", 200, {"status": 502})
    config = await api("POST", f"{FAULTS}/script", 200, [{"drop": True, "method": "post"}])
    assert [(s["status"], s["drop"], s["method"]) for s in config["script"]] == [
        (502, False, None),
        (503, True, "POST"),
    ]
    await api("GET", CONNECTION, 502)
    assert (await api("GET", "/__sandbox__/stats", 200))["script_remaining"] == 1
    reset = await api("POST", "/__sandbox__/reset", 200, {"keep_faults": True})
    assert reset == {"status": "reset", "keep_faults": True}
    assert (await api("GET", FAULTS, 200))["script"] != []
    await api("POST", "/__sandbox__/reset", 200)
    assert (await api("GET", FAULTS, 200))["script"] == []
    assert (await api("GET", "/__sandbox__/stats", 200))["requests_seen"] == 0
    await api("POST", "/__sandbox__/reset", 400, {"keep_faults": 1})


# --- faults over ASGITransport ----------------------------------------------------------------


async def test_scripted_fault_with_retry_after(api: Api) -> None:
    faults = FaultConfig(
        script=[
            ScriptedFault(status=503, retry_after="1", retry_after_ms=1500, method="POST"),
            {"status": 429, "retry_after": "Wed, 21 Oct 2037 07:28:00 GMT"},
        ]
    )
    assert FaultConfig.from_json(faults.to_json()) == faults  # the admin API's JSON round trip
    api.state.set_faults(faults)
    # The GET skips the POST-only entry and takes the second one.
    first = await api.get(CONNECTION)
    assert first.status_code == 429
    assert first.headers["retry-after"] == "Wed, 21 Oct 2037 07:28:00 GMT"
    second = await api.post(f"{API}/submitrecord", json=SUBMIT_SAMPLE)
    assert_json_error(second, 503)
    assert second.headers["retry-after"] == "1"
    assert second.headers["retry-after-ms"] == "1500"
    assert await api("POST", "submitrecord", 200, SUBMIT_SAMPLE) == {"Record_Id": "44"}
    stats = api.state.stats_json()
    assert stats["faults_injected"] == {"total": 2, "status": 2, "drop": 0}
    assert stats["faults_by_status"] == {"429": 1, "503": 1}
    assert stats["records_stored"] == 1
    # Made in Python too, a scripted fault takes only a 4xx or 5xx status.
    with pytest.raises(FaultConfigError):
        ScriptedFault(status=302)


async def test_scripted_pass_through_and_path_filter(api: Api) -> None:
    api.state.set_faults(
        {
            "script": [
                {"status": None, "latency": 0.0, "path_contains": "submitrecord"},
                {"status": 500, "path_contains": "submitrecord"},
            ]
        }
    )
    await api("GET", "users", 200)
    await api("POST", "submitrecord", 200, SUBMIT_SAMPLE)
    failed = await api("POST", "submitrecord", 500, SUBMIT_SAMPLE)
    assert failed["message"].startswith("Sandbox fault injected")


async def test_act_before_fault_applies_the_write(api: Api) -> None:
    api.state.set_faults({"script": [{"status": 503, "act": True}, {"status": 503, "act": False}]})
    await api("POST", "submitrecord", 503, SUBMIT_SAMPLE)
    await api("POST", "submitrecord", 503, SUBMIT_SAMPLE)
    records = await api("GET", "/__sandbox__/records", 200)
    assert [r["Record_Id"] for r in records["records"]] == ["44"]
    stats = await api("GET", "/__sandbox__/stats", 200)
    assert pick(stats, "faults_acted", "submits_applied") == (1, 1)


async def test_act_before_fault_still_checks_credentials() -> None:
    app = create_app(SandboxConfig(faults=FaultConfig(rate=1.0, act_before_fault=1.0)))
    async with Api(app, headers=None) as api:
        await api("POST", "submitrecord", 503, SUBMIT_SAMPLE)
        # The admin routes need no credentials.
        assert await api("GET", "/__sandbox__/health", 200) == {"status": "ok"}
        assert (await api("GET", "/__sandbox__/requests", 200))["count"] == 0
    assert api.state.records_stored == 0


async def test_random_faults_are_reproducible_with_a_seed() -> None:
    async def run(seed: int) -> list[int]:
        faults = FaultConfig(rate=0.4, statuses=[500, 502, 503], seed=seed)
        async with Api(create_app(SandboxConfig(faults=faults))) as api:
            first = [(await api.get(f"{API}/users")).status_code for _ in range(40)]
            api.state.set_faults(faults)  # which reseeds: the same sequence again
            assert [(await api.get(f"{API}/users")).status_code for _ in range(40)] == first
            return first

    first, again, other = await run(11), await run(11), await run(12)
    assert first == again
    assert first != other
    assert set(first) <= {200, 500, 502, 503}
    assert 5 < sum(status != 200 for status in first) < 35


async def test_fault_filters_and_admin_paths_untouched(api: Api) -> None:
    api.state.set_faults(FaultConfig(rate=1.0, methods=["POST"], path_contains="record"))
    await api("GET", "users", 200)
    await api("POST", "workflows/Test/requests", 201, {"fields": {}})
    await api("POST", "submitrecord", 503, SUBMIT_SAMPLE)
    await api("GET", "/__sandbox__/stats", 200)
    await api("POST", "/__sandbox__/reset", 200, {"keep_faults": True})


async def test_latency(api: Api) -> None:
    api.state.set_faults(FaultConfig(latency=0.2, path_contains="users"))
    await api("GET", "users", 200)
    assert api.state.stats_json()["requests_delayed"] == 1
    await api("GET", "roles", 200)  # another path: not delayed
    assert api.state.stats_json()["requests_delayed"] == 1


async def test_in_process_transport_has_no_socket(api: Api) -> None:
    assert await api("GET", NODELAY, 200) == {"tcp_nodelay": None}
    # A random drop that acts first (act_before_fault=1): the write is stored all the same.
    api.state.set_faults(FaultConfig(drop_rate=1.0, act_before_fault=1.0, methods=["POST"]))
    with pytest.raises(SandboxConnectionDropped):
        await api.post(f"{API}/submitrecord", json=SUBMIT_SAMPLE)
    assert api.state.records_stored == 1
    assert api.state.stats_json()["faults_injected"]["drop"] == 1


# --- real sockets -----------------------------------------------------------------------------

# Accepted connections have TCP_NODELAY, however the sandbox is started: without it Nagle's
# algorithm and delayed ACK hold each response body back for ~40 ms on a kept-alive connection.
# Checked on the server's accepted socket (the admin route reads it with getsockopt), not with
# a clock.
NODELAY = "/__sandbox__/connection"


async def test_run_sandbox_serves_over_loopback() -> None:
    before = asyncio.all_tasks()
    async with run_sandbox() as sb:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sb.url)
        assert DEMO_API_KEY not in repr(sb)
        async with httpx.AsyncClient(base_url=sb.url, headers=sb.headers) as c:
            submitted = await c.post(f"{API}/submitrecord", json=SUBMIT_SAMPLE)
            assert submitted.json() == {"Record_Id": "44"}
            # Two requests on one kept-alive connection: the second is the case Nagle delays.
            assert [(await c.get(NODELAY)).json()["tcp_nodelay"] for _ in range(2)] == [True] * 2
        assert sb.state.records_stored == 1
    assert asyncio.all_tasks() == before


async def test_run_sandbox_on_ipv6_loopback_sets_tcp_nodelay() -> None:
    try:
        context = run_sandbox(host="::1")
        sb = await context.__aenter__()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        assert sb.url.startswith("http://[::1]:")
        async with httpx.AsyncClient(base_url=sb.url, headers=sb.headers) as c:
            assert (await c.get(f"{API}/users")).status_code == 200
            assert (await c.get(NODELAY)).json()["tcp_nodelay"] is True
    finally:
        await context.__aexit__(None, None, None)


def _raw_exchange(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return received


async def test_drop_over_raw_socket_sends_no_byte(cflow_sandbox: CflowSandbox) -> None:
    payload = json.dumps(submission("Test", blob="x" * 300_000)).encode()
    head = (
        f"POST {API}/submitrecord HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/json\r\n"
        f"apikey: {DEMO_API_KEY}\r\nuserkey: {DEMO_USER_KEY}\r\nusername: {DEMO_USERNAME}\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode()
    cflow_sandbox.fail_next(drop=True, act=True)
    received = await asyncio.to_thread(_raw_exchange, cflow_sandbox.url, head + payload)
    assert received == b""
    # The whole (multi-chunk) body was read and applied before the connection died.
    assert cflow_sandbox.state.records["44"].values["blob"] == "x" * 300_000
    close = head.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n")
    normal = await asyncio.to_thread(_raw_exchange, cflow_sandbox.url, close + payload)
    assert normal.startswith(b"HTTP/1.1 200 ")
    assert b'{"Record_Id":"45"}' in normal


# --- CLI and child process ----------------------------------------------------------------------


def test_main_rejects_bad_arguments() -> None:
    # A non-loopback host and --help: test_cli_failures' test_sandbox_command_delegates.
    assert main(["--fault-rate", "2"]) == 2
    assert main(["--fault-status", "200"]) == 2
    assert main(["--port", "nope"]) == 2


def test_sandbox_process_sync() -> None:
    with SandboxProcess() as proc:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", proc.url)
        assert proc.banner == (
            f"Cflow sandbox on {proc.url}  apikey={DEMO_API_KEY} userkey={DEMO_USER_KEY} "
            f"username={DEMO_USERNAME}"
        )
        with httpx.Client(base_url=proc.url, headers=proc.headers) as c:
            assert c.get(CONNECTION).json() == {"message": "OK"}
            # Two requests on one kept-alive connection: the second is the case Nagle delays.
            assert [c.get(NODELAY).json()["tcp_nodelay"] for _ in range(2)] == [True, True]
        # Ctrl-C exits cleanly (the async test below leaves through SIGTERM).
        assert proc.pid is not None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0


async def test_sandbox_process_async_with_faults_and_custom_keys() -> None:
    args = ("--fault-rate", "1", "--fault-status", "429", "--retry-after", "3", "--seed", "1")
    async with SandboxProcess(*args, api_key="custom-secret-key") as proc:
        assert "custom-secret-key" not in proc.banner
        async with httpx.AsyncClient(base_url=proc.url, headers=proc.headers) as c:
            response = await c.get(f"{API}/users")
            admin = await c.get("/__sandbox__/stats")
        assert (response.status_code, response.headers["retry-after"]) == (429, "3")
        assert admin.json()["faults_by_status"] == {"429": 1}
    assert proc.returncode == 0


# The sandbox's own module, and `cflow sandbox` (the CLI's subcommand) through its module.
@pytest.mark.parametrize("module", [["cflow_async.sandbox"], ["cflow_async.cli", "sandbox"]])
def test_cli_port_in_use_fails_cleanly(module: list[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", *module, "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=Path(__file__).resolve().parents[2],
        )
    assert result.returncode == 1
    assert "cannot serve" in result.stderr
    assert result.stdout == ""
