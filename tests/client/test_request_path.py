"""The one request path's rules, pinned where the structure review found them split:
one "is this a write" answer, arguments checked when called, and ``attempts`` counting the
requests that left."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from cflow_openapi import models
from cflow_openapi.api.requests import create_request, update_request
from conftest import CREDS, FAST_RETRY
from endpoints import endpoint
from pytest_httpx import HTTPXMock

from cflow_async import CflowClient, CflowError, InvalidArgumentError, ResponseValidationError
from cflow_async._retry import IDEMPOTENT_METHODS, may_duplicate

Call = Callable[[CflowClient], Awaitable[Any]]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        *[(m, False) for m in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")],
        ("POST", True),
        ("PATCH", True),
    ],
)
def test_may_duplicate_is_the_one_write_rule(method: str, expected: bool) -> None:
    assert may_duplicate(method) is expected
    assert (method in IDEMPOTENT_METHODS) is not expected


def _generated_update(c: CflowClient) -> Awaitable[Any]:
    body = models.RequestUpdate(fields=models.RequestUpdateFields())
    return update_request.asyncio("wf-1", "r-1", client=c.openapi, body=body)


def _generated_create(c: CflowClient) -> Awaitable[Any]:
    body = models.RequestCreate(fields=models.RequestCreateFields())
    return create_request.asyncio("wf-1", client=c.openapi, body=body)


@pytest.mark.parametrize(
    ("call", "unknown"),
    [
        (endpoint("requests.update"), False),
        (_generated_update, False),
        (endpoint("requests.create"), True),
        (_generated_create, True),
    ],
    ids=["facade-PUT", "generated-PUT", "facade-POST", "generated-POST"],
)
async def test_unreadable_2xx_outcome_is_the_same_through_both_doors(
    client: CflowClient, httpx_mock: HTTPXMock, call: Call, unknown: bool
) -> None:
    # A PUT may be repeated, so its lost answer is no unknown outcome; a POST's is.
    httpx_mock.add_response(status_code=200, content=b"<html>maintenance</html>")
    with pytest.raises(ResponseValidationError) as info:
        await call(client)
    assert info.value.outcome_unknown is unknown
    assert info.value.attempts == 1


@pytest.mark.parametrize("raised", [IndexError, OverflowError, KeyError, ValueError, TypeError])
async def test_whatever_a_reader_raises_on_a_body_is_a_response_validation_error(
    client: CflowClient, httpx_mock: HTTPXMock, raised: type[Exception]
) -> None:
    # The one read path turns a reader's failure into the typed error for every reader
    # (legacy, OpenAPI, the importer's listing): no caller needs a guard of its own.
    def reader(data: Any) -> Any:
        raise raised("bad")

    httpx_mock.add_response(json={"a": 1})
    with pytest.raises(ResponseValidationError, match="unreadable response to GET /x") as info:
        await client._requester.request("op", "GET", "/x", reader)
    assert info.value.__context__ is None  # no body held on the chain


async def test_submit_records_checks_its_arguments_when_called(client: CflowClient) -> None:
    pulled: list[int] = []

    def rows() -> Any:
        for n in range(5):
            pulled.append(n)
            yield {"n": n}

    # Each raises at the call itself: no iteration, no request, nothing read from rows.
    with pytest.raises(InvalidArgumentError, match="concurrency"):
        client.submit_records("Orders", rows(), concurrency=0)
    with pytest.raises(InvalidArgumentError, match="rate"):
        client.submit_records("Orders", rows(), rate=-1)
    with pytest.raises(InvalidArgumentError, match="workflow_name"):
        client.submit_records("  ", rows())
    with pytest.raises(InvalidArgumentError, match="iterable"):
        client.submit_records("Orders", 42)  # type: ignore[arg-type]
    assert pulled == []


async def test_attempts_count_requests_that_left(httpx_mock: HTTPXMock) -> None:
    async with CflowClient(**CREDS, http_backend="httpx") as cflow:
        with pytest.raises(InvalidArgumentError) as refused:
            await cflow.submit_record("Orders", {"when": object()})
        assert refused.value.attempts == 0
        httpx_mock.add_response(status_code=404, json={"message": "no"})
        with pytest.raises(CflowError) as answered:
            await cflow.get_workflows()
        assert answered.value.attempts == 1
    with pytest.raises(CflowError, match="closed") as closed:
        await cflow.get_workflows()
    assert closed.value.attempts == 0


def test_attempts_is_zero_for_the_wrong_event_loop() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(200, json=[])))
    cflow = CflowClient(**CREDS, http_client=http)
    asyncio.run(cflow.get_workflows())
    with pytest.raises(CflowError, match="another event loop") as info:
        asyncio.run(cflow.get_workflows())
    assert info.value.attempts == 0


def test_constructor_errors_say_nothing_was_sent() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        CflowClient(**CREDS, max_connections=0)
    assert info.value.attempts == 0


@pytest.mark.integration
@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_a_dropped_kept_alive_request_is_resent_by_the_retry_loop_only(
    cflow_sandbox: Any, backend: str, method: str, sleeps: Any
) -> None:
    # aiohttp on its own resends a GET/PUT/DELETE whose kept-alive connection drops: that
    # resend must not happen behind the retry loop's back (uncounted, unhooked, no backoff).
    attempts: list[int] = []

    class Hook:
        def on_request(self, event: Any) -> None:
            attempts.append(event.attempt)

    async with CflowClient(
        api_key=cflow_sandbox.api_key,
        user_key=cflow_sandbox.user_key,
        username=cflow_sandbox.username,
        base_url=cflow_sandbox.url,
        http_backend=backend,
        retry=FAST_RETRY,
        hooks=[Hook()],
    ) as cflow:
        created = await cflow.requests.create("Test", {"Name": "x"})  # opens the connection
        calls = {
            "GET": ("getworkflows", cflow.with_raw_response.get_workflows),
            "PUT": (created.id, lambda: cflow.with_raw_response.requests.update(
                "Test", created.id, {"Name": "y"}
            )),
        }  # fmt: skip
        path, call = calls[method]
        seen = cflow_sandbox.stats()["requests_seen"]
        attempts.clear()
        cflow_sandbox.fail_next(method, path, drop=True)
        raw = await call()
    assert raw.attempts == 2
    assert cflow_sandbox.stats()["requests_seen"] - seen == 2  # both left through the loop
    assert attempts == [1, 2]
    assert len(sleeps.delays) == 1  # the loop's own backoff before the second attempt
