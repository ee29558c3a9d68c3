"""Errors: status codes to classes, redirects, transport failures, unreadable 2xx bodies."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from endpoints import CATALOG, Endpoint, by_name, endpoint, one_per_route_kind, select
from pytest_httpx import HTTPXMock

from cflow_async import (
    AuthenticationError,
    BadRequestError,
    CflowAPIError,
    CflowClient,
    CflowConnectionError,
    CflowError,
    CflowTimeoutError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
    UnprocessableEntityError,
)

STATUS_CLASSES: list[tuple[int, type[CflowAPIError]]] = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    *[(status, ServerError) for status in (500, 502, 503, 504, 599)],
]


@pytest.fixture
def no_retry(client: CflowClient) -> CflowClient:
    return client.with_options(retry=RetryPolicy(max_retries=0))


# -- status codes -----------------------------------------------------------------------


# Every status on one call per request path (legacy GET and POST, the connection check,
# OpenAPI GET of a list and of an object, POST, PUT and DELETE), and 404 on every call.
STATUS_CASES = [
    *[
        pytest.param(
            call, status, cls, {"error": f"status {status}", "code": status}, id=f"{call}-{status}"
        )
        for call in one_per_route_kind()
        for status, cls in STATUS_CLASSES
    ],
    *[
        pytest.param(call, 404, NotFoundError, {"error": "not found"}, id=f"{call}-not-found")
        for call in CATALOG
    ],
]


@pytest.mark.parametrize(("call", "status", "cls", "payload"), STATUS_CASES)
async def test_status_maps_to_error_class(
    no_retry: CflowClient,
    httpx_mock: HTTPXMock,
    call: Endpoint,
    status: int,
    cls: type[CflowAPIError],
    payload: dict[str, Any],
) -> None:
    httpx_mock.add_response(status_code=status, json=payload)
    with pytest.raises(cls) as info:
        await call(no_retry)
    error = info.value
    assert type(error) is cls
    assert isinstance(error, CflowAPIError)
    assert isinstance(error, CflowError)
    assert error.status_code == status
    assert error.body == payload
    assert isinstance(error.response, httpx.Response)
    assert error.response.status_code == status
    assert str(status) in str(error)
    assert len(httpx_mock.get_requests()) == 1


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
async def test_html_error_body_is_text(
    no_retry: CflowClient, httpx_mock: HTTPXMock, status: int, cls: type[CflowAPIError]
) -> None:
    page = "<html><head><title>Gateway</title></head><body>Something broke</body></html>"
    httpx_mock.add_response(status_code=status, html=page)
    with pytest.raises(cls) as info:
        await no_retry.get_workflows()
    assert info.value.status_code == status
    assert info.value.body == page
    assert info.value.response.text == page


async def test_error_class_hierarchy() -> None:
    for _, cls in STATUS_CLASSES:
        assert issubclass(cls, CflowAPIError)
        assert issubclass(cls, CflowError)
    assert issubclass(CflowAPIError, CflowError)
    assert issubclass(CflowTimeoutError, CflowConnectionError)
    assert issubclass(CflowConnectionError, CflowError)
    assert issubclass(ResponseValidationError, CflowError)


async def test_retryable_status_is_retried_by_default_then_raised(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    # With the fixture's policy (max_retries=2) a GET that keeps failing is tried 3 times.
    for _ in range(3):
        httpx_mock.add_response(status_code=503, json={"error": "busy"})
    with pytest.raises(ServerError) as info:
        await client.get_workflows()
    assert info.value.status_code == 503
    assert len(httpx_mock.get_requests()) == 3


# -- redirects --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(
    "call", by_name("get_workflows", "submit_record", "users.list", "workflows.get"), ids=str
)
async def test_redirect_is_an_error_and_not_followed(
    client: CflowClient, httpx_mock: HTTPXMock, status: int, call: Endpoint
) -> None:
    target = "https://elsewhere.example/steal"
    httpx_mock.add_response(status_code=status, headers={"location": target})
    httpx_mock.add_response(url=target, json=[], is_optional=True)
    with pytest.raises(CflowAPIError) as info:
        await call(client)
    error = info.value
    assert error.status_code == status
    assert "redirect" in str(error).lower()
    requests = httpx_mock.get_requests()
    assert len(requests) == 1
    assert requests[0].url.host == "us.cflowapps.com"


# -- transport failures -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "timeout"),
    [
        (httpx.ConnectError("connection refused"), False),
        (httpx.RemoteProtocolError("server disconnected"), False),
        (httpx.ReadError("reset by peer"), False),
        (httpx.ReadTimeout("read timed out"), True),
        (httpx.ConnectTimeout("connect timed out"), True),
    ],
    ids=["connect", "remote-protocol", "read-error", "read-timeout", "connect-timeout"],
)
@pytest.mark.parametrize("call", CATALOG, ids=str)
async def test_transport_errors_are_connection_errors(
    no_retry: CflowClient, httpx_mock: HTTPXMock, call: Endpoint, exc: Exception, timeout: bool
) -> None:
    httpx_mock.add_exception(exc)
    with pytest.raises(CflowConnectionError) as info:
        await call(no_retry)
    assert isinstance(info.value, CflowTimeoutError) is timeout
    assert isinstance(info.value, CflowError)


# -- unreadable 2xx bodies ----------------------------------------------------------------
# (Not JSON at all, an empty or cut-short body: tests/client/test_hostile_input.py, every reader.)


def compact(body: Any) -> str:
    # How the mock puts a JSON body on the wire.
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def shapes(calls: list[Endpoint], bodies: dict[str, Any]) -> list[Any]:
    """Every body (by id) answered to every call."""
    return [pytest.param(c, b, id=f"{c}-{i}") for c in calls for i, b in bodies.items()]


WRAPPERS = ["Workflows", "Status", "Fields", "Process"]  # the legacy readers' list keys
LEGACY_LIST_BODIES = {
    "dict": {"a": 1},
    "null": None,
    "string": "x",
    "number": 42,
    "list-of-ints": [1, 2],
    "list-of-strings": ["a", "b"],
    "list-of-null": [None],
    "list-of-list": [[]],
    "wrapped-null": dict.fromkeys(WRAPPERS),
    "wrapped-dict": {key: {"a": 1} for key in WRAPPERS},
}
GEN_LIST_BODIES = {
    "dict": {"a": 1},
    "null": None,
    "string": "x",
    "list-of-ints": [1, 2],
    "empty-dict": {},
    "object": {"id": "r-1", "status": "pending"},
    "list-of-null": [None],
}
GEN_OBJECT_BODIES = {
    "string": "x",
    "null": None,
    "number": 42,
    "list-of-ints": [1, 2],
    "empty-list": [],
    "list-of-object": [{"id": "r-1"}],
    "list-of-pairs": [["id", "r-1"]],
}
#: A right overall shape holding an item or field of the wrong type.
WRONG_ITEMS = [
    ("get_workflows", {"Workflows": [{"Something": "else"}]}),
    ("get_workflows", {"Workflows": [{"WorkflowName": None}]}),
    ("get_workflows", {"Workflows": [{"WorkflowName": ["a"]}]}),
    ("get_workflows", [{"name": {"x": 1}}]),
    ("get_process", [{"ProcessStage": "A", "ProcessStageDisplayName": "A"}]),
    ("get_process", [{"ProcessStage": "A", "ProcessID": None}]),
    ("get_process", [{"ProcessStage": "A", "ProcessID": True}]),
    ("get_process", [{"ProcessStage": "A", "ProcessID": ["1"]}]),
    ("get_process", [{"ProcessID": "1"}]),
    ("get_status", {"Status": [{"Field_Status": "New"}]}),
    ("get_status", {"Status": [{"Group_ID": {"id": 1}, "Field_Status": "New"}]}),
    ("get_workflow_fieldsets", [{"type": "text"}]),
    ("get_workflow_fieldsets", [{"name": "A", "options": "New,Approved"}]),
    ("get_workflow_fieldsets", [{"name": "A", "options": {"label": "x"}}]),
    ("get_workflow_fieldsets", [{"name": "A", "options": [None]}]),
    ("get_workflow_fieldsets", [{"name": "A", "options": ["New"]}]),
    ("get_workflow_fieldsets", [{"name": "A", "required": "sometimes"}]),
    ("get_process_fieldsets", [{"name": "A", "options": [{"label": {"x": 1}}]}]),
    ("get_process_fields_for_map", [{"name": None}]),
    ("requests.get", {"id": "r-1", "status": 5}),
    ("requests.get", {"id": "r-1", "createdAt": "yesterday"}),
    ("requests.get", {"id": "r-1", "createdAt": 5}),
    ("requests.get", {"id": "r-1", "fields": "City=trichy"}),
    ("requests.get", {"id": "r-1", "fields": [1, 2]}),
    ("workflows.get", {"id": "wf-1", "stages": None}),
    ("workflows.get", {"id": "wf-1", "stages": [1]}),
    ("workflows.get", {"id": "wf-1", "stages": "Submit"}),
    ("workflows.get", {"id": "wf-1", "status": ["active"]}),
    ("workflows.get", {"name": "wf", "stages": None}),
    ("users.list", [{"id": "u1", "status": 1}]),
    ("roles.list", [{"id": "r1", "permissions": "all"}]),
    ("requests.list", [{"id": "r-1", "updatedAt": "not a date"}]),
]


@pytest.mark.parametrize(
    ("call", "body"),
    [
        *shapes(select(kind="legacy", where=lambda ep: ep.returns_list), LEGACY_LIST_BODIES),
        *shapes(select(kind="openapi", where=lambda ep: ep.returns_list), GEN_LIST_BODIES),
        *shapes(
            select(kind="openapi", where=lambda ep: not ep.returns_list and ep.ok_body),
            GEN_OBJECT_BODIES,
        ),
        *[pytest.param(endpoint(name), body, id=name) for name, body in WRONG_ITEMS],
    ],
)
async def test_2xx_body_of_the_wrong_shape(
    client: CflowClient, httpx_mock: HTTPXMock, call: Endpoint, body: Any
) -> None:
    httpx_mock.add_response(status_code=call.ok_status, content=compact(body).encode())
    with pytest.raises(ResponseValidationError, match="body starts") as info:
        await call(client)
    assert compact(body)[:40] in str(info.value)


#: Not an object, or an object without a usable Record_Id.
RECORD_BODIES = ["x", "44", None, [], [{"Record_Id": "44"}], 44, {}, {"RecordId": "44"}]
RECORD_BODIES += [{"Record_Id": value} for value in (None, ["44"], {"id": 44}, True)]


@pytest.mark.parametrize("call", select(where=lambda ep: ep.model is str), ids=str)
@pytest.mark.parametrize("body", RECORD_BODIES)
async def test_record_id_wrong_shape(
    client: CflowClient, httpx_mock: HTTPXMock, call: Endpoint, body: Any
) -> None:
    httpx_mock.add_response(method="POST", content=compact(body).encode())
    with pytest.raises(ResponseValidationError, match="body starts") as info:
        await call(client)
    # The write was answered 2xx: it was most likely applied; nothing was retried.
    assert len(httpx_mock.get_requests()) == 1
    assert info.value.response is not None


async def test_validation_error_message_is_bounded(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    page = "<html>" + "x" * 100_000 + "</html>"
    httpx_mock.add_response(html=page)
    with pytest.raises(ResponseValidationError) as info:
        await client.get_workflows()
    message = str(info.value)
    assert "<html>xxx" in message
    assert len(message) < 2_000


async def test_api_error_message_names_the_path(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=404, json={"error": "no such workflow"})
    with pytest.raises(NotFoundError) as info:
        await client.get_process("Missing")
    assert "/integromat/api/cflow/getprocess" in str(info.value)
    assert info.value.body == {"error": "no such workflow"}


async def test_deeply_nested_error_body_still_maps_to_its_class(
    no_retry: CflowClient, httpx_mock: HTTPXMock
) -> None:
    depth = 50_000
    httpx_mock.add_response(status_code=404, content=b"[" * depth + b"]" * depth)
    with pytest.raises(NotFoundError) as info:
        await no_retry.get_workflows()
    assert info.value.status_code == 404
