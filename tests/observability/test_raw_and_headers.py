"""Raw responses and per-call control (issue 12, parts 1 and 4): ``with_raw_response``
for legacy and OpenAPI methods alike, ``default_headers``, ``with_options(extra_headers=...,
extra_query=...)``, and credentials that can come from nowhere but their arguments."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cflow_openapi.api.users import list_users
from conftest import API_KEY, CREDS, FAST_RETRY, USERNAME
from pytest_httpx import HTTPXMock

from cflow_async import CflowClient, CflowResponse, InvalidArgumentError, NotFoundError, ServerError
from cflow_async._openapi_door import OpenAPIDoor

WORKFLOWS = {"Workflows": [{"WorkflowName": "Test", "WorkflowDisplayName": "Test"}]}


def make_client(**options: Any) -> CflowClient:
    return CflowClient(**CREDS, http_backend="httpx", retry=FAST_RETRY, **options)


async def test_raw_legacy_calls_have_status_headers_attempts_and_the_value(
    httpx_mock: HTTPXMock,
) -> None:
    httpx_mock.add_response(status_code=503)
    headers = [("x-request-id", "req-42"), ("Set-X", "1"), ("set-x", "2")]
    httpx_mock.add_response(json=WORKFLOWS, headers=headers)
    field = {"name": "City", "type": "text", "label": "City", "required": False}
    httpx_mock.add_response(json=[field])
    httpx_mock.add_response(json={"Record_Id": "44"})
    async with make_client() as cflow:
        response = await cflow.with_raw_response.get_workflows()
        assert isinstance(response, CflowResponse)
        assert (response.status_code, response.headers["X-Request-Id"]) == (200, "req-42")
        # Case-insensitive and multi-valued.
        assert response.headers.get_list("SET-X") == ["1", "2"]
        assert response.attempts == 2
        assert isinstance(response.elapsed, float)
        assert [w.name for w in response.parse()] == ["Test"]
        assert "S3CRET" not in repr(response)
        # With validation, the form is read plainly first.
        response = await cflow.with_raw_response.submit_record("W", {"City": "x"}, validate=True)
        assert (response.status_code, response.parse()) == (200, "44")
        assert "City" in await cflow.record_schema("W")  # cached by the raw call's read
    assert [r.url.path.rsplit("/", 1)[-1] for r in httpx_mock.get_requests()[2:]] == [
        "getworkflowfieldsets",
        "submitrecord",
    ]


async def test_raw_openapi_namespace_call_and_errors(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=201, json=[])
    httpx_mock.add_response(json=[])
    httpx_mock.add_response(status_code=404, json={"error": "no"})
    httpx_mock.add_response(status_code=503)
    async with make_client() as cflow:
        response = await cflow.with_raw_response.requests.list("wf-1")
        assert (response.status_code, response.attempts, response.parse()) == (201, 1, [])
        # The plain client is not switched to raw responses by it.
        assert await cflow.requests.list("wf-1") == []
        # Raw calls raise the same errors.
        with pytest.raises(NotFoundError):
            await cflow.with_raw_response.requests.get("wf-1", "r-1")
        with pytest.raises(ServerError) as info:
            await cflow.with_raw_response.submit_record("Test", {"a": 1})
        assert info.value.outcome_unknown
        # Raw responses refuse what is not one call.
        for name in ("submit_records", "record_schema", "openapi", "aclose"):
            with pytest.raises(AttributeError):
                getattr(cflow.with_raw_response, name)


async def test_default_headers_reach_every_door_extra_ones_the_copy_only(
    httpx_mock: HTTPXMock,
) -> None:
    for body in (WORKFLOWS, [], [], WORKFLOWS, []):
        httpx_mock.add_response(json=body)
    async with make_client(default_headers={"X-Team": "billing"}) as cflow:
        await cflow.get_workflows()
        await cflow.requests.list("wf-1")
        await list_users.asyncio(client=cflow.openapi)
        copy = cflow.with_options(extra_headers={"X-Trace": "t1"}, extra_query={"debug": "1"})
        await copy.get_workflows()
        await list_users.asyncio(client=copy.openapi)
    requests = httpx_mock.get_requests()
    assert [r.headers["x-team"] for r in requests] == ["billing"] * 5
    assert [len(r.headers.get_list("x-team")) for r in requests] == [1] * 5
    assert all(r.headers["apikey"] == API_KEY for r in requests)
    *plain, legacy, generated = requests
    for request in (legacy, generated):
        assert request.headers["x-trace"] == "t1"
        assert request.url.params["debug"] == "1"
    assert legacy.url.params["username"] == USERNAME
    for request in plain:
        assert "x-trace" not in request.headers
        assert "debug" not in request.url.params


async def test_a_call_s_own_query_wins_over_extra_query(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"Record_Id": "7"})
    async with make_client() as cflow:
        copy = cflow.with_options(extra_query={"WorkflowName": "Other", "locale": "en"})
        await copy.submit_record("Orders", {"a": "1"})
        # No operation of today's document takes a query parameter, so build the request
        # the generated layer would send for one and look at the Call its door makes of it.
        door = OpenAPIDoor(copy.with_options(extra_query={"status": "all"})._transport)
        call = await door.call_from(
            httpx.Request("GET", "https://us.cflowapps.com/x?status=pending")
        )
    request = httpx_mock.get_request()
    assert request is not None
    # The query names the workflow the body names, whatever the copy's extra_query says.
    assert request.url.params["WorkflowName"] == "Orders"
    assert request.url.params["locale"] == "en"
    query = httpx.URL(call.url).params
    assert (query["status"], query["locale"]) == ("pending", "en")
    assert call.headers["apikey"] == CREDS["api_key"]


@pytest.mark.parametrize("name", ["apikey", "UserKey", "username", "USERNAME"])
async def test_credentials_cannot_be_set_as_headers_or_query(name: str) -> None:
    with pytest.raises(InvalidArgumentError, match="credentials come only"):
        make_client(default_headers={name: "x"})
    async with make_client() as cflow:
        for option in ("extra_headers", "extra_query"):
            with pytest.raises(InvalidArgumentError, match="credentials come only"):
                cflow.with_options(**{option: {name: "x"}})


@pytest.mark.parametrize(
    "headers", [{"content-length": "1"}, {"x-a": "b\r\nc: d"}, {"bad name": "x"}, {"x-a": 1}, ["x"]]
)
def test_unsafe_headers_are_refused(headers: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        make_client(default_headers=headers)


def test_non_string_query_values_are_refused() -> None:
    cflow = make_client()
    with pytest.raises(InvalidArgumentError):
        cflow.with_options(extra_query={"page": 2})  # type: ignore[dict-item]
