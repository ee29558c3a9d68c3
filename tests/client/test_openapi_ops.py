"""The OpenAPI operations: cflow.workflows / requests / users / roles, and the arguments of
any call (legacy record values too) refused before sending. Method, path and auth headers of
every call: test_endpoint_catalog.py (a mocked ``method`` and ``url`` pin them too)."""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any

import endpoints
import pytest
from cflow_openapi import models as api
from cflow_openapi.models import RequestStatus
from cflow_openapi.types import Unset
from endpoints import USER_JSON, endpoint
from pytest_httpx import HTTPXMock

from cflow_async import CflowClient, InvalidArgumentError
from cflow_async import _openapi_runtime as rt

HOST = "https://us.cflowapps.com"

CLAIM_FIELDS = {"City": "trichy", "Amount": 12.5}
REQUEST_JSON = endpoints.REQUEST_JSON | {"fields": CLAIM_FIELDS}
WORKFLOW_JSON = endpoints.WORKFLOW_JSON | {
    "description": "Employee expense claims",
    "stages": [
        {"id": "s1", "name": "Submit", "order": 1, "reviewers": []},
        {"id": "s2", "name": "Manager Review", "order": 2, "reviewers": ["bob", "carol"]},
    ],
    "createdAt": "2024-01-02T03:04:05+00:00",
}
BOB = {"id": "u2", "username": "bob", "status": "inactive"}
PERMISSIONS = {"workflows": "edit", "lookups": "view", "reports": "none", "support": "view"}
ROLE_JSON = {"id": "r1", "name": "Approver", "permissions": PERMISSIONS}


def as_json(result: Any) -> Any:
    """A model read back into JSON: ``to_dict`` of each. It fails unless every nested part
    was read into its model (stages, fields, permissions), every status into its enum and
    every date into an aware datetime; a field dropped or changed makes the JSON differ."""
    if isinstance(result, list):
        return [as_json(item) for item in result]
    status = getattr(result, "status", None)
    assert status is None or isinstance(status, Unset | enum.Enum), status
    return result.to_dict()


#: id -> (call, ids in the path, reply): each reader gives back every field it was sent,
#: typed, also for statuses newer than the client.
READS: dict[str, tuple[str, dict[str, Any], Any]] = {
    "workflow": ("workflows.get", {}, WORKFLOW_JSON),
    "workflow-int-id": ("workflows.get", {"workflow_id": 42}, {"id": "42", "name": "N"}),
    "workflow-unknown-status": ("workflows.get", {}, WORKFLOW_JSON | {"status": "archived"}),
    "requests": ("requests.list", {}, [REQUEST_JSON, {"id": "req-2", "status": "approved"}]),
    "requests-none": ("requests.list", {}, []),
    "request-unknown-status": ("requests.get", {}, REQUEST_JSON | {"status": "on_hold"}),
    "users": ("users.list", {}, [USER_JSON, BOB]),
    "users-unknown-status": ("users.list", {}, [USER_JSON | {"status": "suspended"}]),
    "roles": ("roles.list", {}, [ROLE_JSON]),
}


@pytest.mark.parametrize(("name", "ids", "reply"), READS.values(), ids=READS)
async def test_reads(
    client: CflowClient, httpx_mock: HTTPXMock, name: str, ids: dict[str, Any], reply: Any
) -> None:
    ep = endpoint(name)
    httpx_mock.add_response(method=ep.method, url=HOST + ep.raw_path(**ids), json=reply)
    got = await ep.call(client, **ids)
    assert ep.check(got), got
    assert as_json(got) == reply


CLAIM = {"fields": CLAIM_FIELDS}
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
        ("requests.create_draft", 201, CLAIM, CLAIM, "draft"),
        ("requests.update", 200, CLAIM, CLAIM, "pending"),
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
    reply = REQUEST_JSON | {"status": state}
    url = HOST + ep.raw_path()
    httpx_mock.add_response(method=ep.method, url=url, status_code=status_code, json=reply)
    got = await ep.bound(client)(**{**ep.args(), **kwargs})
    [request] = httpx_mock.get_requests()
    assert (json.loads(request.content) if request.content else None) == sent
    assert isinstance(got, api.Request)
    assert as_json(got) == reply


class _Opaque:
    pass


#: Values a record cannot carry, for the legacy writes.
UNSUPPORTED = [object(), _Opaque(), {1, 2}, [object()], ["ok", _Opaque()]]


@pytest.mark.parametrize(
    ("name", "arguments", "named"),
    [
        ("requests.create", {"fields": [("a", 1)]}, "fields"),
        ("requests.update", {"fields": "a=1"}, "fields"),
        ("requests.approve", {"comment": 5}, "comment"),
        ("requests.reject", {"reassign_to": ["bob"]}, "reassign_to"),
        # Not a raw TypeError from the JSON encoder: the library's (a ValueError).
        ("requests.create", {"fields": {"Bad": object()}}, "Bad"),
        *[("submit_record", {"values": {"Bad": value}}, "Bad") for value in UNSUPPORTED],
        *[("update_record", {"values": {"Ok": "x", "Bad": v}}, "Bad") for v in UNSUPPORTED],
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


def test_query_values_are_sent_as_text_and_body_values_as_json() -> None:
    texts = {True: "true", False: "false", RequestStatus.PENDING: "pending", 1.5: "1.5", 7: "7"}
    assert [rt.query_value(value, "q") for value in texts] == list(texts.values())
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
