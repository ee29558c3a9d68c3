"""Errors: status codes to classes, transport failures. Unreadable 2xx bodies are in
tests/client/test_hostile_input.py, redirects in tests/security/test_security_transport.py."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from endpoints import CATALOG, Endpoint, endpoint, one_per_route_kind
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


NO_RETRY = RetryPolicy(max_retries=0)


# -- status codes -----------------------------------------------------------------------


NOT_JSON = {
    "html": "<html><head><title>Gateway</title></head><body>Something broke</body></html>",
    "deep": "[" * 50_000 + "]" * 50_000,
}
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
    # A body that is not JSON (a proxy's page, JSON nested past the parser's limit) is text.
    *[
        pytest.param(endpoint("get_workflows"), status, cls, text, id=f"{what}-{status}")
        for status, cls in STATUS_CLASSES
        for what, text in NOT_JSON.items()
    ],
]


@pytest.mark.parametrize(("call", "status", "cls", "payload"), STATUS_CASES)
async def test_status_maps_to_error_class(
    client: CflowClient,
    httpx_mock: HTTPXMock,
    call: Endpoint,
    status: int,
    cls: type[CflowAPIError],
    payload: dict[str, Any] | str,
) -> None:
    if isinstance(payload, str):
        httpx_mock.add_response(status_code=status, html=payload)
    else:
        httpx_mock.add_response(status_code=status, json=payload)
    with pytest.raises(cls) as info:
        await call(client.with_options(retry=NO_RETRY))
    error = info.value
    assert type(error) is cls
    assert isinstance(error, CflowAPIError)
    assert isinstance(error, CflowError)
    assert error.status_code == status
    assert error.body == payload
    assert isinstance(error.response, httpx.Response)
    assert error.response.status_code == status
    assert str(status) in str(error)
    assert call.raw_path() in str(error)  # the path, never the query
    assert len(httpx_mock.get_requests()) == 1


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
    client: CflowClient, httpx_mock: HTTPXMock, call: Endpoint, exc: Exception, timeout: bool
) -> None:
    httpx_mock.add_exception(exc)
    with pytest.raises(CflowConnectionError) as info:
        await call(client.with_options(retry=NO_RETRY))
    assert isinstance(info.value, CflowTimeoutError) is timeout
    assert isinstance(info.value, CflowError)
