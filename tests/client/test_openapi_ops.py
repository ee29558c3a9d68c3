"""The OpenAPI operations: cflow.workflows / requests / users / roles. Method, path and auth
headers of every call: test_endpoint_catalog.py (a mocked ``method`` and ``url`` pin them too)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import endpoints
import pytest
from cflow_openapi import models as api
from cflow_openapi.models import RequestStatus
from cflow_openapi.types import Unset
from conftest import BASE
from endpoints import USER_JSON, Endpoint, endpoint, select
from pytest_httpx import HTTPXMock

from cflow_async import CflowClient, InvalidArgumentError
from cflow_async import _openapi_runtime as rt

WF = f"{BASE}/cflow/workflows"

CLAIM_FIELDS = {"City": "trichy", "Amount": 12.5}
#: The catalog's canonical Request and Workflow, with ids, fields and stages of this file's own.
REQUEST_JSON = endpoints.REQUEST_JSON | {"id": "req-1", "fields": CLAIM_FIELDS}
WORKFLOW_JSON = endpoints.WORKFLOW_JSON | {
    "description": "Employee expense claims",
    "stages": [
        {"id": "s1", "name": "Submit", "order": 1, "reviewers": []},
        {"id": "s2", "name": "Manager Review", "order": 2, "reviewers": ["bob", "carol"]},
    ],
    "createdAt": "2024-01-02T03:04:05+00:00",
}


def check_request_model(req: Any) -> None:
    assert isinstance(req, api.Request)
    assert (req.id, req.workflow_id, req.status) == ("req-1", "wf-1", RequestStatus.PENDING)
    assert (req.current_stage, req.submitted_by) == ("Manager Review", "alice")
    assert not isinstance(req.fields, Unset)
    assert req.fields.additional_properties == {"City": "trichy", "Amount": 12.5}
    assert req.created_at == dt.datetime(2024, 3, 26, 18, 30, tzinfo=dt.UTC)


# -- workflows --------------------------------------------------------------------------


async def test_workflows_get(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="GET", url=f"{WF}/wf-1", json=WORKFLOW_JSON)
    workflow = await client.workflows.get("wf-1")
    assert isinstance(workflow, api.Workflow)
    assert (workflow.id, workflow.name) == ("wf-1", "Expense Claims")
    assert workflow.status == api.WorkflowStatus.ACTIVE
    assert not isinstance(workflow.stages, Unset)
    assert all(isinstance(s, api.Stage) for s in workflow.stages)
    stages = [("Submit", 1, []), ("Manager Review", 2, ["bob", "carol"])]
    assert [(s.name, s.order, s.reviewers) for s in workflow.stages] == stages
    assert workflow.created_at == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


async def test_workflows_get_int_id(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="GET", url=f"{WF}/42", json={"id": "42", "name": "N"})
    assert (await client.workflows.get(42)).id == "42"


@pytest.mark.parametrize(
    ("name", "reply", "enum", "status"),
    [
        ("workflows.get", {**WORKFLOW_JSON, "status": "archived"}, api.WorkflowStatus, "archived"),
        ("requests.list", [{**REQUEST_JSON, "status": "on_hold"}], RequestStatus, "on_hold"),
        ("requests.get", {**REQUEST_JSON, "status": "on_hold"}, RequestStatus, "on_hold"),
        ("users.list", [{**USER_JSON, "status": "suspended"}], api.UserStatus, "suspended"),
    ],
)
async def test_unknown_status_is_kept(
    client: CflowClient, httpx_mock: HTTPXMock, name: str, reply: Any, enum: type, status: str
) -> None:
    httpx_mock.add_response(json=reply)
    got = await endpoint(name).call(client)
    [item] = got if isinstance(got, list) else [got]
    assert isinstance(item.status, enum)
    assert item.status.value == status


# -- requests ---------------------------------------------------------------------------


async def test_requests_list(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    second = {"id": "req-2", "status": "approved"}
    httpx_mock.add_response(method="GET", url=f"{WF}/wf-1/requests", json=[REQUEST_JSON, second])
    requests = await client.requests.list("wf-1")
    assert isinstance(requests, list)
    first, second_request = requests
    check_request_model(first)
    assert (second_request.id, second_request.status) == ("req-2", RequestStatus.APPROVED)
    assert isinstance(second_request.fields, Unset)


async def test_requests_list_empty(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=[])
    assert await client.requests.list("wf-1") == []


CLAIM = {"fields": CLAIM_FIELDS}
DRAFT = {"fields": {"City": "trichy"}}
UPDATE = {"fields": {"City": "tiruchirappalli"}}
#: approve and reject: keyword arguments -> the body sent.
DECISIONS = [
    ({}, {}),
    ({"comment": "looks good"}, {"comment": "looks good"}),
    ({"reassign_to": "bob"}, {"reassignTo": "bob"}),
    (
        {"comment": "over to you", "reassign_to": "bob"},
        {"comment": "over to you", "reassignTo": "bob"},
    ),
    ({"comment": ""}, {"comment": ""}),
    ({"comment": None, "reassign_to": None}, {}),
]


# The arguments sent as given (the fields are the body), and the documented answers (and a
# 200 where 201 is documented) read into a Request.
@pytest.mark.parametrize(
    ("name", "status_code", "kwargs", "sent", "state"),
    [
        ("requests.create", 201, CLAIM, CLAIM, "pending"),
        ("requests.create", 201, {"fields": {}}, {"fields": {}}, "pending"),
        ("requests.create", 200, CLAIM, CLAIM, "pending"),
        ("requests.create_draft", 201, DRAFT, DRAFT, "draft"),
        ("requests.create_draft", 200, DRAFT, DRAFT, "draft"),
        ("requests.update", 200, UPDATE, UPDATE, "pending"),
        ("requests.get", 200, {}, None, "pending"),
        *[
            (f"requests.{action}", 200, kwargs, sent, state)
            for action, state in [("approve", "approved"), ("reject", "rejected")]
            for kwargs, sent in DECISIONS
        ],
    ],
)
async def test_request_operations_send_arguments_and_read_a_request(
    client: CflowClient,
    httpx_mock: HTTPXMock,
    name: str,
    status_code: int,
    kwargs: dict[str, Any],
    sent: dict[str, Any] | None,
    state: str,
) -> None:
    ep = endpoint(name)
    ids = {"workflow_id": "wf-1", "request_id": "req-1"}
    ids = {k: v for k, v in ids.items() if k in ep.path_args}
    url = f"https://us.cflowapps.com{ep.raw_path(**ids)}"
    reply = {**REQUEST_JSON, "status": state}
    httpx_mock.add_response(method=ep.method, url=url, status_code=status_code, json=reply)
    got = await ep.bound(client)(**{**ep.args(**ids), **kwargs})
    [request] = httpx_mock.get_requests()
    assert (json.loads(request.content) if request.content else None) == sent
    assert isinstance(got, api.Request)
    if state == "pending":
        check_request_model(got)
    assert got.status == RequestStatus(state)


@pytest.mark.parametrize(
    ("name", "arguments", "named"),
    [
        ("requests.create", {"fields": [("a", 1)]}, "fields"),
        ("requests.update", {"fields": "a=1"}, "fields"),
        ("requests.approve", {"comment": 5}, "comment"),
        ("requests.reject", {"reassign_to": ["bob"]}, "reassign_to"),
        # Not a raw TypeError from the JSON encoder: the library's (a ValueError).
        ("requests.create", {"fields": {"Bad": object()}}, "Bad"),
    ],
)
async def test_arguments_of_the_wrong_type_are_refused_before_sending(
    client: CflowClient, httpx_mock: HTTPXMock, name: str, arguments: dict[str, Any], named: str
) -> None:
    ep = endpoint(name)
    with pytest.raises(InvalidArgumentError, match=named) as info:
        await ep.bound(client)(**{**ep.args(), **arguments})
    assert isinstance(info.value, ValueError)
    assert httpx_mock.get_requests() == []


# -- the runtime's conversions for parameters the current document does not use yet ------


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (False, "false"), (RequestStatus.PENDING, "pending"), (1.5, "1.5"), (7, "7")],
)
def test_query_values_are_sent_as_text(value: Any, text: str) -> None:
    assert rt.query_value(value, "q") == text


def test_body_values_are_sent_as_json() -> None:
    pairs = [
        (api.RequestCreateFields.from_dict({"City": "trichy"}), {"City": "trichy"}),
        (RequestStatus.DRAFT, "draft"),
        (dt.datetime(2024, 3, 26, 18, 30, tzinfo=dt.UTC), "2024-03-26T18:30:00+00:00"),
        (dt.date(2024, 3, 26), "2024-03-26"),
        *[(value, value) for value in (None, 1, "x", {"a": 1})],
    ]
    assert rt.body_value([value for value, _ in pairs], "b") == [sent for _, sent in pairs]
    with pytest.raises(InvalidArgumentError, match="b has type object"):
        rt.body_value(object(), "b")
    assert rt.json_value({"any": ["thing"]}) == {"any": ["thing"]}


# -- users and roles ----------------------------------------------------------------------


async def test_users_list(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    bob = {"id": "u2", "username": "bob", "status": "inactive"}
    httpx_mock.add_response(method="GET", url=f"{BASE}/cflow/users", json=[USER_JSON, bob])
    users = await client.users.list()
    assert all(isinstance(u, api.User) for u in users)
    expected = [("u1", "alice", api.UserStatus.ACTIVE), ("u2", "bob", api.UserStatus.INACTIVE)]
    assert [(u.id, u.username, u.status) for u in users] == expected
    assert (users[0].email, users[0].role) == ("alice@example.com", "Admin")


async def test_roles_list(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    permissions = {"workflows": "edit", "lookups": "view", "reports": "none", "support": "view"}
    role = {"id": "r1", "name": "Approver", "permissions": permissions}
    httpx_mock.add_response(method="GET", url=f"{BASE}/cflow/roles", json=[role])
    [got] = await client.roles.list()
    assert isinstance(got, api.Role)
    assert (got.id, got.name) == ("r1", "Approver")
    assert not isinstance(got.permissions, Unset)
    assert (got.permissions.workflows, got.permissions.reports) == ("edit", "none")


# -- path parameters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("workflow_id", "request_id", "enc_w", "enc_r"),
    [
        ("wf-1", "req-1", "wf-1", "req-1"),
        ("a/b", "c/d", "a%2Fb", "c%2Fd"),
        ("My Workflow", "req 1", "My%20Workflow", "req%201"),
        ("../admin", "..%2F", "..%2Fadmin", "..%252F"),
        ("x?y#z", "p&q=r", "x%3Fy%23z", "p%26q%3Dr"),
    ],
)
@pytest.mark.parametrize("ep", select(has_path_args=True), ids=str)
async def test_path_parameters_stay_in_their_segment(
    client: CflowClient,
    httpx_mock: HTTPXMock,
    ep: Endpoint,
    workflow_id: str,
    request_id: str,
    enc_w: str,
    enc_r: str,
) -> None:
    # (Dot segments and non-ids, refused for each id: tests/client/test_hostile_input.py.)
    httpx_mock.add_response(**ep.ok_response())
    ids = {"workflow_id": workflow_id, "request_id": request_id}
    await ep.call(client, **{k: v for k, v in ids.items() if k in ep.path_args})
    [request] = httpx_mock.get_requests()
    assert request.method == ep.method
    expected = ep.path.replace("{workflowId}", enc_w).replace("{requestId}", enc_r)
    assert request.url.raw_path == expected.encode("ascii")
    assert request.url.query == b""
