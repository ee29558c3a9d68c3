"""The endpoint catalog (tests/endpoints.py) is complete, and every entry's canonical call
puts exactly its documented request on the wire and reads its canonical success body."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest
from conftest import API_KEY, USER_KEY, USERNAME
from endpoints import CATALOG, EXAMPLES, LEGACY_QUERY, Endpoint, public_facade_names, select
from pytest_httpx import HTTPXMock

from cflow_async import CflowClient
from cflow_async._legacy import ENDPOINTS


def test_every_public_facade_call_is_in_the_catalog() -> None:
    names = [ep.name for ep in CATALOG]
    assert len(names) == len(set(names))
    assert set(names) == public_facade_names()
    assert len(select(kind="legacy")) == len(ENDPOINTS) == 9
    assert set(LEGACY_QUERY) == set(ENDPOINTS)
    # A new operation with a parameter name the catalog has no example for: add one.
    assert {p for ep in CATALOG for p in ep.params} <= set(EXAMPLES)


def test_the_catalog_reflects_the_library() -> None:
    """Spot checks that the derived fields mean what they say."""
    by = {ep.name: ep for ep in CATALOG}
    assert by["get_status"].method == "GET"
    assert by["get_status"].params == ("workflow_name", "group_id")
    assert by["requests.update"].method == "PUT"
    assert not by["requests.update"].writes
    assert by["requests.approve"].writes
    assert by["requests.create"].ok_status == 201
    assert by["requests.delete"].ok_status == 204
    assert by["requests.delete"].ok_body is None
    assert by["requests.get"].path_args == ("workflow_id", "request_id")
    segments = by["requests.update"].segments(request_id="a/b")
    assert segments == ["workflows", "wf-1", "requests", "a/b"]
    assert by["requests.update"].raw_path(request_id="a/b").endswith("/requests/a%2Fb")


@pytest.mark.parametrize("ep", CATALOG, ids=str)
async def test_canonical_call_puts_its_contract_on_the_wire(
    client: CflowClient, httpx_mock: HTTPXMock, ep: Endpoint
) -> None:
    httpx_mock.add_response(**ep.ok_response())
    result = await ep.call(client)
    assert ep.check(result), result
    [request] = httpx_mock.get_requests()
    assert request.method == ep.method
    assert request.url.raw_path.partition(b"?")[0] == ep.raw_path().encode("ascii")
    query = parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True)
    assert sorted(query) == sorted(ep.expected_query(USERNAME).items())
    auth = (request.headers["apikey"], request.headers["userkey"], request.headers["username"])
    assert auth == (API_KEY, USER_KEY, USERNAME)
    # Each body's JSON: test_legacy_endpoints.py::test_calls (records) and
    # test_openapi_ops.py::test_request_operations_send_arguments_and_read_a_request.
    if ep.has_body:
        assert request.headers["content-type"] == "application/json"
        assert isinstance(json.loads(request.content), dict)
    else:
        assert request.content == b""
