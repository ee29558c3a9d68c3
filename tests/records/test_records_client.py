"""The client's side of field-aware records (pytest-httpx): record_schema and its cache,
validate= on the calls that write, and timezone= for every way a record is written."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import zoneinfo
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from conftest import BASE, CREDS, FAST_RETRY
from pytest_httpx import HTTPXMock
from test_records import seed

import cflow_async._schema_cache as cache_module
from cflow_async import (
    CflowClient,
    InvalidArgumentError,
    NotFoundError,
    RecordSchema,
    RecordValidationError,
)

WORKFLOW_FIELDS = f"{BASE}/cflow/getworkflowfieldsets?username=tester%40example.com&WorkflowName=W"
SUBMIT = f"{BASE}/cflow/submitrecord?username=tester%40example.com&WorkflowName=W"
AWARE = dt.datetime(2022, 3, 26, 13, 0, tzinfo=dt.UTC)


def sent(request: httpx.Request) -> Any:
    return json.loads(request.content)


def paths(httpx_mock: HTTPXMock) -> list[str]:
    return [r.url.path.rsplit("/", 1)[-1] for r in httpx_mock.get_requests()]


def with_date_field() -> list[dict[str, Any]]:
    # The seed's workflow fieldsets have text fields only; add the process stage's date.
    process = seed("processfieldsets.json")
    return [*seed("workflowfieldsets.json"), process[3]]  # "R_Approved Date2", type date


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The schema cache's ``time``: ``clock.now`` is what ``time.monotonic()`` says."""
    fake = SimpleNamespace(now=1000.0)
    fake.monotonic = lambda: fake.now
    monkeypatch.setattr(cache_module, "time", fake)
    return fake


# -- record_schema ----------------------------------------------------------------------


async def test_record_schema_from_workflow_or_for_a_stage_process_fieldsets(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url=WORKFLOW_FIELDS, json=seed("workflowfieldsets.json"))
    httpx_mock.add_response(json=seed("processfieldsets.json"))
    schema = await client.record_schema("W")
    assert isinstance(schema, RecordSchema)
    assert schema.names == ("Name", "Phone", "Email", "City", "GoogleSheetRowNumber")
    assert (schema.workflow_name, schema.group_id) == ("W", None)
    stage = await client.record_schema("W", group_id=27408)
    request = httpx_mock.get_requests()[-1]
    assert request.url.path.endswith("/getworkflowprocessfieldsets")
    assert request.url.params["group_id"] == "27408"
    assert stage.group_id == "27408"
    assert "R_Status1" in stage


async def test_schema_is_cached_until_the_ttl_and_refresh_bypasses_it(
    client: CflowClient, httpx_mock: HTTPXMock, clock: SimpleNamespace
) -> None:
    httpx_mock.add_response(json=seed("workflowfieldsets.json"), is_reusable=True)
    first = await client.record_schema("W")
    clock.now += 299
    assert await client.record_schema("W") is first
    assert len(httpx_mock.get_requests()) == 1
    refreshed = await client.record_schema("W", refresh=True)
    assert refreshed is not first
    assert len(httpx_mock.get_requests()) == 2
    clock.now += 301
    assert await client.record_schema("W") is not refreshed
    assert len(httpx_mock.get_requests()) == 3
    # Another stage is another schema; a with_options copy shares the cache.
    await client.record_schema("W", "27408")
    assert await client.with_options(timeout=5).record_schema("W") is not None
    assert len(httpx_mock.get_requests()) == 4


async def test_schema_ttl_is_configurable(httpx_mock: HTTPXMock, clock: SimpleNamespace) -> None:
    httpx_mock.add_response(json=[], is_reusable=True)
    async with CflowClient(**CREDS, http_backend="httpx", schema_ttl=0) as client:
        await client.record_schema("W")
        await client.record_schema("W")
    assert len(httpx_mock.get_requests()) == 2
    with pytest.raises(InvalidArgumentError, match="schema_ttl"):
        CflowClient(**CREDS, http_backend="httpx", schema_ttl=-1)


async def test_concurrent_callers_share_one_fetch(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        return httpx.Response(200, json=seed("workflowfieldsets.json"))

    httpx_mock.add_callback(slow, is_reusable=True)
    schemas = await asyncio.gather(*(client.record_schema("W") for _ in range(50)))
    assert len(httpx_mock.get_requests()) == 1
    assert all(s is schemas[0] for s in schemas)


async def test_a_cancelled_waiter_does_not_cancel_the_shared_fetch(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    release = asyncio.Event()

    async def gated(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200, json=seed("workflowfieldsets.json"))

    httpx_mock.add_callback(gated, is_reusable=True)
    first = asyncio.create_task(client.record_schema("W"))
    second = asyncio.create_task(client.record_schema("W"))
    await asyncio.sleep(0.01)
    first.cancel()
    release.set()
    assert "City" in await second
    assert first.cancelled()
    assert len(httpx_mock.get_requests()) == 1


async def test_a_failed_fetch_is_not_cached(client: CflowClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=404, json={"message": "no such workflow"})
    httpx_mock.add_response(json=seed("workflowfieldsets.json"))
    with pytest.raises(NotFoundError):
        await client.record_schema("W")
    assert "City" in await client.record_schema("W")


# -- validate= on the calls that write ------------------------------------------------


async def test_submit_validate_refuses_without_a_request_or_converts_and_sends(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url=WORKFLOW_FIELDS, json=with_date_field(), is_reusable=True)
    with pytest.raises(RecordValidationError) as caught:
        await client.submit_record("W", {"Ctiy": "trichy"}, validate=True)
    assert [p.code for p in caught.value.problems] == ["unknown_field"]
    assert "did you mean 'City'?" in str(caught.value)
    assert paths(httpx_mock) == ["getworkflowfieldsets"]  # the schema, no submit
    httpx_mock.add_response(url=SUBMIT, json={"Record_Id": "44"})
    values = {"City": "trichy", "R_Approved Date2": "2026-03-01"}
    assert await client.submit_record("W", values, validate=True) == "44"  # schema cached
    *_, submitted = httpx_mock.get_requests()
    assert sent(submitted)["dynamicobj"] == {**values, "R_Approved Date2": "3/1/2026 12:00:00 AM"}
    assert paths(httpx_mock) == ["getworkflowfieldsets", "submitrecord"]


async def test_submit_without_validate_is_one_request_as_before_and_takes_a_typed_record(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    class Row:
        def to_values(self) -> dict[str, Any]:
            return {"City": "trichy", "When": dt.date(2026, 3, 1)}

    httpx_mock.add_response(url=SUBMIT, json={"Record_Id": "1"}, is_reusable=True)
    await client.submit_record("W", {"Ctiy": "2026-03-01"})
    assert paths(httpx_mock) == ["submitrecord"]
    assert sent(httpx_mock.get_requests()[0])["dynamicobj"] == {"Ctiy": "2026-03-01"}
    await client.submit_record("W", Row())
    assert sent(httpx_mock.get_requests()[1])["dynamicobj"] == {
        "City": "trichy",
        "When": "3/1/2026 12:00:00 AM",
    }


async def test_update_validate_uses_the_stage_schema_and_allows_a_subset(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    # fieldsformap's RecordId is required; an update may leave it out.
    httpx_mock.add_response(json=seed("fieldsformap.json"))
    httpx_mock.add_response(json={"Record_Id": "32"})
    await client.update_record("W", 27408, 32, {"R_Status1": "Approved"}, validate=True)
    fetched, updated = httpx_mock.get_requests()
    assert fetched.url.path.endswith("/getworkflowprocessfieldsets")
    assert fetched.url.params["group_id"] == "27408"
    assert sent(updated)["Values"] == {"R_Status1": "Approved"}
    with pytest.raises(RecordValidationError) as caught:
        await client.update_record("W", 27408, 32, {"R_Status1": "Done"}, validate=True)
    assert caught.value.problems[0].code == "invalid_option"
    assert len(httpx_mock.get_requests()) == 2


# -- time zones ------------------------------------------------------------------------


async def test_aware_datetime_without_timezone_raises_before_sending(
    client: CflowClient, httpx_mock: HTTPXMock
) -> None:
    writes = [
        client.submit_record("W", {"When": AWARE}),
        client.update_record("W", "1", "2", {"When": [AWARE]}),
        client.requests.create("wf-1", {"When": AWARE}),
        client.requests.update("wf-1", "r-1", {"When": AWARE}),
    ]
    for write in writes:
        with pytest.raises(InvalidArgumentError, match="naive datetime") as caught:
            await write
        assert "timezone=" in str(caught.value)
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize("timezone", ["Asia/Kolkata", zoneinfo.ZoneInfo("Asia/Kolkata")])
async def test_aware_datetimes_are_converted_into_the_timezone(
    httpx_mock: HTTPXMock, timezone: Any
) -> None:
    httpx_mock.add_response(json={"Record_Id": "1"}, is_reusable=True)
    async with CflowClient(
        **CREDS, http_backend="httpx", retry=FAST_RETRY, timezone=timezone
    ) as client:
        assert client.timezone == zoneinfo.ZoneInfo("Asia/Kolkata")
        naive = dt.datetime(2022, 3, 26, 13, 0)
        await client.submit_record("W", {"When": AWARE, "Wall": naive})
        await client.update_record("W", "1", "2", {"When": AWARE})
        await client.with_options(timeout=5).submit_record("W", {"When": AWARE})
        async for result in client.submit_records("W", [{"When": AWARE}]):
            assert result.ok
    wire = "3/26/2022 6:30:00 PM"  # 13:00 UTC is 18:30 in India
    submitted, updated, copied, bulk = (sent(r) for r in httpx_mock.get_requests())
    assert submitted["dynamicobj"] == {"When": wire, "Wall": "3/26/2022 1:00:00 PM"}
    assert updated["Values"] == {"When": wire}
    assert copied["dynamicobj"] == {"When": wire}
    assert bulk["dynamicobj"] == {"When": wire}


async def test_openapi_fields_use_the_timezone(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=400, json={"message": "stop here"})
    async with CflowClient(**CREDS, http_backend="httpx", timezone="Asia/Kolkata") as client:
        with pytest.raises(Exception, match="stop here"):
            await client.requests.create("wf-1", {"When": AWARE})
    (request,) = httpx_mock.get_requests()
    assert sent(request) == {"fields": {"When": "3/26/2022 6:30:00 PM"}}


@pytest.mark.parametrize("timezone", ["Nowhere/Special", "", 5])
def test_bad_timezone_is_refused(timezone: Any) -> None:
    with pytest.raises(InvalidArgumentError, match=r"time zone|timezone"):
        CflowClient(**CREDS, http_backend="httpx", timezone=timezone)
