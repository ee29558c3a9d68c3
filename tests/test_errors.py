"""Errors: status codes to classes, redirects, transport failures, unreadable 2xx bodies."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
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

NO_RETRY = RetryPolicy(max_retries=0)

STATUS_CLASSES: list[tuple[int, type[CflowAPIError]]] = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, ServerError),
    (502, ServerError),
    (503, ServerError),
    (504, ServerError),
    (599, ServerError),
]

Call = Callable[[CflowClient], Awaitable[Any]]

# One call per kind of request path: legacy GET, legacy POST, generated GET/POST/PUT/DELETE.
CALLS: dict[str, Call] = {
    "get_workflows": lambda c: c.get_workflows(),
    "get_process": lambda c: c.get_process("W"),
    "submit_record": lambda c: c.submit_record("W", {"a": 1}),
    "update_record": lambda c: c.update_record("W", "1", "2", {"a": 1}),
    "check_connection": lambda c: c.check_connection(),
    "workflows.get": lambda c: c.workflows.get("wf-1"),
    "requests.list": lambda c: c.requests.list("wf-1"),
    "requests.create": lambda c: c.requests.create("wf-1", {"a": 1}),
    "requests.update": lambda c: c.requests.update("wf-1", "r-1", {"a": 1}),
    "requests.delete": lambda c: c.requests.delete("wf-1", "r-1"),
    "requests.approve": lambda c: c.requests.approve("wf-1", "r-1", comment="ok"),
    "users.list": lambda c: c.users.list(),
    "roles.list": lambda c: c.roles.list(),
}


@pytest.fixture
def no_retry(client: CflowClient) -> CflowClient:
    return client.with_options(retry=NO_RETRY)


# -- status codes -----------------------------------------------------------------------


# Legacy GET, legacy POST, the connection check, and generated GET/POST/PUT/DELETE.
STATUS_CALLS = [
    "get_workflows",
    "submit_record",
    "check_connection",
    "requests.list",
    "requests.create",
    "requests.update",
    "requests.delete",
]


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
@pytest.mark.parametrize("call", STATUS_CALLS)
async def test_status_maps_to_error_class(
    no_retry: CflowClient,
    httpx_mock: HTTPXMock,
    call: str,
    status: int,
    cls: type[CflowAPIError],
) -> None:
    payload = {"error": f"status {status}", "code": status}
    httpx_mock.add_response(status_code=status, json=payload)
    with pytest.raises(cls) as info:
        await CALLS[call](no_retry)
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


@pytest.mark.parametrize("call", list(CALLS))
async def test_not_found_on_every_call(
    no_retry: CflowClient, httpx_mock: HTTPXMock, call: str
) -> None:
    httpx_mock.add_response(status_code=404, json={"error": "not found"})
    with pytest.raises(NotFoundError) as info:
        await CALLS[call](no_retry)
    assert info.value.status_code == 404
    assert info.value.body == {"error": "not found"}
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
@pytest.mark.parametrize("call", ["get_workflows", "submit_record", "users.list", "workflows.get"])
async def test_redirect_is_an_error_and_not_followed(
    client: CflowClient, httpx_mock: HTTPXMock, status: int, call: str
) -> None:
    target = "https://elsewhere.example/steal"
    httpx_mock.add_response(status_code=status, headers={"location": target})
    httpx_mock.add_response(url=target, json=[], is_optional=True)
    with pytest.raises(CflowAPIError) as info:
        await CALLS[call](client)
    error = info.value
    assert error.status_code == status
    assert "redirect" in str(error).lower()
    requests = httpx_mock.get_requests()
    assert len(requests) == 1
    assert requests[0].url.host == "us.cflowapps.com"


# -- transport failures -------------------------------------------------------------------


@pytest.mark.parametrize("call", list(CALLS))
async def test_connect_error(no_retry: CflowClient, httpx_mock: HTTPXMock, call: str) -> None:
    httpx_mock.add_exception(httpx.ConnectError("connection refused"))
    with pytest.raises(CflowConnectionError) as info:
        await CALLS[call](no_retry)
    assert not isinstance(info.value, CflowTimeoutError)
    assert isinstance(info.value, CflowError)


@pytest.mark.parametrize(
    "exc",
    [httpx.ReadTimeout("read timed out"), httpx.ConnectTimeout("connect timed out")],
    ids=["read", "connect"],
)
@pytest.mark.parametrize("call", list(CALLS))
async def test_timeouts(
    no_retry: CflowClient, httpx_mock: HTTPXMock, call: str, exc: Exception
) -> None:
    httpx_mock.add_exception(exc)
    with pytest.raises(CflowTimeoutError) as info:
        await CALLS[call](no_retry)
    assert isinstance(info.value, CflowConnectionError)
    assert isinstance(info.value, CflowError)


@pytest.mark.parametrize(
    "exc",
    [httpx.RemoteProtocolError("server disconnected"), httpx.ReadError("reset by peer")],
    ids=["remote-protocol", "read-error"],
)
async def test_other_transport_errors_are_connection_errors(
    no_retry: CflowClient, httpx_mock: HTTPXMock, exc: Exception
) -> None:
    httpx_mock.add_exception(exc)
    with pytest.raises(CflowConnectionError):
        await no_retry.get_workflows()


async def test_submit_timeout_outcome_is_unknown(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    # A POST that may have reached the server is not retried and says so.
    httpx_mock.add_exception(httpx.ReadTimeout("read timed out"))
    with pytest.raises(CflowTimeoutError) as info:
        await client.submit_record("W", {"a": 1})
    assert info.value.outcome_unknown is True
    assert len(httpx_mock.get_requests()) == 1


# -- unreadable 2xx bodies: legacy ------------------------------------------------------

HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>Maintenance</title></head>"
    "<body>We'll be back soon</body></html>"
)
TRUNCATED = '[{"name": "City", "type": "te'

LEGACY_CALLS: dict[str, Call] = {
    "get_workflows": lambda c: c.get_workflows(),
    "get_process": lambda c: c.get_process("W"),
    "get_status": lambda c: c.get_status("W", "27406"),
    "submit_record": lambda c: c.submit_record("W", {"a": 1}),
    "update_record": lambda c: c.update_record("W", "1", "2", {"a": 1}),
    "get_process_fields_for_map": lambda c: c.get_process_fields_for_map("W", "1"),
    "get_workflow_fieldsets": lambda c: c.get_workflow_fieldsets("W"),
    "get_process_fieldsets": lambda c: c.get_process_fieldsets("W", "1"),
}
LIST_CALLS = [name for name in LEGACY_CALLS if name not in ("submit_record", "update_record")]
RECORD_CALLS = ["submit_record", "update_record"]


def compact(body: Any) -> str:
    # How the mock puts a JSON body on the wire.
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _assert_shows_body_start(error: ResponseValidationError, start: str) -> None:
    assert start in str(error), str(error)


@pytest.mark.parametrize("call", list(LEGACY_CALLS))
@pytest.mark.parametrize(
    ("content", "start"),
    [
        (HTML_PAGE.encode(), "<!DOCTYPE html><html><head><title>Maintenance"),
        (TRUNCATED.encode(), '[{"name": "City", "type": "te'),
        (b"", ""),
        (b"\xff\xfe not utf-8", "not utf-8"),
    ],
    ids=["html", "truncated", "empty", "binary"],
)
async def test_legacy_unparseable_body(
    client: CflowClient, httpx_mock: HTTPXMock, call: str, content: bytes, start: str
) -> None:
    httpx_mock.add_response(content=content, headers={"content-type": "text/html"})
    with pytest.raises(ResponseValidationError) as info:
        await LEGACY_CALLS[call](client)
    _assert_shows_body_start(info.value, start)
    assert info.value.response is not None
    assert info.value.response.status_code == 200


@pytest.mark.parametrize("call", LIST_CALLS)
@pytest.mark.parametrize(
    "body",
    [
        {"a": 1},
        None,
        "x",
        42,
        [1, 2],
        ["a", "b"],
        [None],
        [[]],
        {"Workflows": None, "Status": None, "Fields": None, "Process": None},
        {"Workflows": {"a": 1}, "Status": {"a": 1}, "Fields": {"a": 1}, "Process": {"a": 1}},
    ],
    ids=[
        "dict",
        "null",
        "string",
        "number",
        "list-of-ints",
        "list-of-strings",
        "list-of-null",
        "list-of-list",
        "wrapped-null",
        "wrapped-dict",
    ],
)
async def test_legacy_list_wrong_shape(
    client: CflowClient, httpx_mock: HTTPXMock, call: str, body: Any
) -> None:
    httpx_mock.add_response(content=compact(body).encode())
    with pytest.raises(ResponseValidationError) as info:
        await LEGACY_CALLS[call](client)
    assert "body starts" in str(info.value)
    _assert_shows_body_start(info.value, compact(body)[:40])


@pytest.mark.parametrize(
    ("call", "item"),
    [
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
    ],
)
async def test_legacy_item_wrong_shape(
    client: CflowClient, httpx_mock: HTTPXMock, call: str, item: Any
) -> None:
    httpx_mock.add_response(content=compact(item).encode())
    with pytest.raises(ResponseValidationError, match="body starts"):
        await LEGACY_CALLS[call](client)


@pytest.mark.parametrize("call", RECORD_CALLS)
@pytest.mark.parametrize(
    "body",
    [
        "x",
        "44",
        None,
        [],
        [{"Record_Id": "44"}],
        {},
        {"RecordId": "44"},
        {"Record_Id": None},
        {"Record_Id": ["44"]},
        {"Record_Id": {"id": 44}},
        {"Record_Id": True},
        44,
    ],
    ids=[
        "string",
        "string-id",
        "null",
        "empty-list",
        "list",
        "empty-dict",
        "wrong-key",
        "null-id",
        "list-id",
        "dict-id",
        "bool-id",
        "number",
    ],
)
async def test_record_id_wrong_shape(
    client: CflowClient, httpx_mock: HTTPXMock, call: str, body: Any
) -> None:
    httpx_mock.add_response(method="POST", content=compact(body).encode())
    with pytest.raises(ResponseValidationError, match="body starts") as info:
        await LEGACY_CALLS[call](client)
    # The write was answered 2xx: it was most likely applied; nothing was retried.
    assert len(httpx_mock.get_requests()) == 1
    assert info.value.response is not None


# -- unreadable 2xx bodies: generated operations ----------------------------------------

GEN_LIST_CALLS: dict[str, Call] = {
    "workflows.list": lambda c: c.workflows.list(),
    "requests.list": lambda c: c.requests.list("wf-1"),
    "users.list": lambda c: c.users.list(),
    "roles.list": lambda c: c.roles.list(),
}
GEN_OBJECT_CALLS: dict[str, Call] = {
    "workflows.get": lambda c: c.workflows.get("wf-1"),
    "requests.get": lambda c: c.requests.get("wf-1", "r-1"),
    "requests.create": lambda c: c.requests.create("wf-1", {"a": 1}),
    "requests.create_draft": lambda c: c.requests.create_draft("wf-1", {"a": 1}),
    "requests.update": lambda c: c.requests.update("wf-1", "r-1", {"a": 1}),
    "requests.approve": lambda c: c.requests.approve("wf-1", "r-1"),
    "requests.reject": lambda c: c.requests.reject("wf-1", "r-1"),
}
ALL_GEN = {**GEN_LIST_CALLS, **GEN_OBJECT_CALLS}


def _status_for(call: str) -> int:
    return 201 if call in ("requests.create", "requests.create_draft") else 200


@pytest.mark.parametrize("call", list(ALL_GEN))
@pytest.mark.parametrize(
    ("content", "start"),
    [
        (HTML_PAGE.encode(), "<!DOCTYPE html><html><head><title>Maintenance"),
        (b'{"id": "r-1", "status": "pen', '{"id": "r-1", "status": "pen'),
        (b"", ""),
    ],
    ids=["html", "truncated", "empty"],
)
async def test_generated_unparseable_body(
    client: CflowClient, httpx_mock: HTTPXMock, call: str, content: bytes, start: str
) -> None:
    httpx_mock.add_response(status_code=_status_for(call), content=content)
    with pytest.raises(ResponseValidationError) as info:
        await ALL_GEN[call](client)
    _assert_shows_body_start(info.value, start)


@pytest.mark.parametrize("call", list(GEN_LIST_CALLS))
@pytest.mark.parametrize(
    "body",
    [{"a": 1}, None, "x", [1, 2], {}, {"id": "r-1", "status": "pending"}, [None]],
    ids=["dict", "null", "string", "list-of-ints", "empty-dict", "object", "list-of-null"],
)
async def test_generated_list_wrong_shape(
    client: CflowClient, httpx_mock: HTTPXMock, call: str, body: Any
) -> None:
    httpx_mock.add_response(content=compact(body).encode())
    with pytest.raises(ResponseValidationError, match="body starts"):
        await GEN_LIST_CALLS[call](client)


@pytest.mark.parametrize("call", list(GEN_OBJECT_CALLS))
@pytest.mark.parametrize(
    "body",
    ["x", None, 42, [1, 2], [], [{"id": "r-1"}], [["id", "r-1"]]],
    ids=[
        "string",
        "null",
        "number",
        "list-of-ints",
        "empty-list",
        "list-of-object",
        "list-of-pairs",
    ],
)
async def test_generated_object_wrong_shape(
    client: CflowClient, httpx_mock: HTTPXMock, call: str, body: Any
) -> None:
    httpx_mock.add_response(status_code=_status_for(call), content=compact(body).encode())
    with pytest.raises(ResponseValidationError, match="body starts"):
        await GEN_OBJECT_CALLS[call](client)


@pytest.mark.parametrize(
    ("call", "body"),
    [
        ("requests.get", {"id": "r-1", "status": 5}),
        ("requests.get", {"id": "r-1", "createdAt": "yesterday"}),
        ("requests.get", {"id": "r-1", "createdAt": 5}),
        ("requests.get", {"id": "r-1", "fields": "City=trichy"}),
        ("requests.get", {"id": "r-1", "fields": [1, 2]}),
        ("workflows.get", {"id": "wf-1", "stages": None}),
        ("workflows.get", {"id": "wf-1", "stages": [1]}),
        ("workflows.get", {"id": "wf-1", "stages": "Submit"}),
        ("workflows.get", {"id": "wf-1", "status": ["active"]}),
        ("users.list", [{"id": "u1", "status": 1}]),
        ("roles.list", [{"id": "r1", "permissions": "all"}]),
        ("requests.list", [{"id": "r-1", "updatedAt": "not a date"}]),
    ],
)
async def test_generated_field_wrong_shape(
    client: CflowClient, httpx_mock: HTTPXMock, call: str, body: Any
) -> None:
    httpx_mock.add_response(content=compact(body).encode())
    with pytest.raises(ResponseValidationError, match="body starts"):
        await ALL_GEN[call](client)


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


@pytest.mark.parametrize(
    "call", ["get_workflows", "get_process", "submit_record", "requests.list", "workflows.get"]
)
async def test_deeply_nested_body_is_a_validation_error(
    client: CflowClient, httpx_mock: HTTPXMock, call: str
) -> None:
    # Valid JSON, but nested past the parser's recursion limit: still an unreadable
    # response, not a raw RecursionError.
    depth = 50_000
    httpx_mock.add_response(content=b"[" * depth + b"]" * depth)
    with pytest.raises(ResponseValidationError, match="body starts"):
        await CALLS[call](client)


async def test_deeply_nested_error_body_still_maps_to_its_class(
    no_retry: CflowClient, httpx_mock: HTTPXMock
) -> None:
    depth = 50_000
    httpx_mock.add_response(status_code=404, content=b"[" * depth + b"]" * depth)
    with pytest.raises(NotFoundError) as info:
        await no_retry.get_workflows()
    assert info.value.status_code == 404
