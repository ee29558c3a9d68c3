"""A property test of RecordSchema over generated field definitions and values: any value
gives either a prepared dict the sandbox accepts, or a RecordValidationError, and nothing
else.

"The sandbox accepts" is checked against the sandbox's app in-process (httpx's
ASGITransport), with the generated definitions installed as the workflow's form, through
``submit_record(validate=True)``: a 400 there is a disagreement between the client's
rules and the sandbox's.

``multiple: true`` means a list of values of the field's type for every type, in
RecordSchema and in the sandbox alike, so both properties generate it for every type.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cflow_async import CflowClient, RecordSchema, RecordValidationError
from cflow_async._records import KNOWN_TYPES
from cflow_async.sandbox import DEMO_API_KEY, DEMO_USER_KEY, DEMO_USERNAME, create_app
from cflow_async.sandbox.data import FieldSets

pytestmark = pytest.mark.slow

PROPERTY = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CODES = {
    "unknown_field",
    "required_missing",
    "invalid_option",
    "not_multiple",
    "invalid_date",
    "aware_datetime",
    "unsendable_type",
}
TYPES = ["text", "select", "date", "datetime", "attachment"]  # the last one is unknown
KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")

names = st.text(min_size=1, max_size=8)
option_values = st.text(max_size=6)


@st.composite
def definitions(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Field definitions in the wire shape, ``"default:"`` key included."""
    field_names = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    result = []
    for name in field_names:
        kind = draw(st.sampled_from(TYPES))
        options = None
        if kind == "select":
            values = draw(st.lists(option_values, max_size=4, unique=True))
            options = [{"label": v.upper(), "value": v} for v in values] or draw(
                st.sampled_from([None, []])
            )
        result.append(
            {
                "name": name,
                "type": kind,
                "label": name,
                "options": options,
                "spec": None,
                "help": "",
                "default:": draw(st.none() | st.text(max_size=3)),
                "required": draw(st.booleans()),
                "multiple": draw(st.booleans()),
                "multiline": False,
            }
        )
    return result


naive = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30))
aware = st.datetimes(
    min_value=dt.datetime(1, 1, 2),
    max_value=dt.datetime(9999, 12, 30),
    timezones=st.sampled_from([dt.UTC, KOLKATA, dt.timezone(dt.timedelta(hours=-7))]),
)
scalars = st.one_of(
    st.none(),
    st.text(max_size=10),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.dates(),
    naive,
    aware,
    naive.map(dt.datetime.isoformat),
    aware.map(dt.datetime.isoformat),
    st.dates().map(dt.date.isoformat),
    st.builds(lambda d: f"{d.month}/{d.day}/{d.year} 6:30:00 PM", st.dates()),
    st.just(object()),
    st.just(b"bytes"),
)
values_of = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[Any, Any], Any]:
    defs = draw(definitions())
    known = [d["name"] for d in defs]
    selects = [o["value"] for d in defs for o in d["options"] or []]
    chosen = st.sampled_from(selects or [""])
    value = values_of | chosen | st.lists(chosen)
    keys = st.sampled_from(known) | names
    record = draw(st.dictionaries(keys, value, max_size=6))
    timezone = draw(st.sampled_from([None, KOLKATA]))
    return defs, record, timezone


@pytest.fixture(scope="module")
def app() -> Any:
    """One in-process sandbox app for every example; each example installs its own form."""
    return create_app()


@given(case=cases())
@PROPERTY
async def test_prepare_gives_values_that_recheck_clean_and_the_sandbox_accepts(
    app: Any, case: tuple[list[dict[str, Any]], dict[Any, Any], Any]
) -> None:
    defs, record, timezone = case
    schema = RecordSchema.from_json(defs, timezone=timezone)
    problems = schema.check(record)
    if problems:
        assert {p.code for p in problems} <= CODES
        with pytest.raises(RecordValidationError) as caught:
            schema.prepare(record)
        assert caught.value.problems == tuple(problems)
    else:
        prepared = schema.prepare(record)
        assert set(prepared) == set(record)
        json.dumps(prepared, ensure_ascii=False, allow_nan=False).encode()
        # Prepared values are final: checking them again finds nothing and changes nothing.
        assert schema.check(prepared) == []
        assert schema.prepare(prepared) == prepared
        for name, value in prepared.items():
            field = schema.field(name)
            assert field is not None
            if field.type in KNOWN_TYPES and field.multiple and value is not None:
                assert isinstance(value, list)
    # The same values through submit_record(validate=True) to the sandbox app.
    workflow = app.sandbox.workflows["Test"]
    workflow.field_sets = FieldSets(defs, defs, defs)
    workflow.definitions = workflow.field_sets.definitions()
    before = app.sandbox.records_stored
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    async with (
        http,
        CflowClient(
            api_key=DEMO_API_KEY,
            user_key=DEMO_USER_KEY,
            username=DEMO_USERNAME,
            base_url="http://127.0.0.1",
            http_client=http,
            timezone=timezone,
        ) as client,
    ):
        try:
            await client.submit_record("Test", record, validate=True)
        except RecordValidationError:
            assert app.sandbox.records_stored == before
            return
    assert app.sandbox.records_stored == before + 1
