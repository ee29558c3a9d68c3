"""Property-based tests of response handling: for every endpoint (the 9 legacy methods and
every OpenAPI namespace method), any status from 100 to 599 with any body and hostile
headers yields either a parsed result or a CflowError, nothing else.

Each test builds one client on an ``httpx.MockTransport`` whose handler answers with the
current example, and drives it from a sync hypothesis test through a private event loop
(one loop and one client per test, not per example).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from cflow_openapi.models import (
    Request,
    RequestStatus,
    Role,
    RolePermissions,
    Stage,
    User,
    UserStatus,
    WorkflowStatus,
)
from cflow_openapi.models import Workflow as ApiWorkflow
from cflow_openapi.models.request_fields import RequestFields
from cflow_openapi.types import Unset
from endpoints import CATALOG, Endpoint
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cflow_async import (
    CflowAPIError,
    CflowClient,
    CflowError,
    FieldDefinition,
    FieldOption,
    ProcessStage,
    ResponseValidationError,
    RetryPolicy,
    StageStatus,
    Workflow,
)

pytestmark = pytest.mark.slow

API_KEY = "7f1c2e9a-property-api-key"
USER_KEY = "b84d06f3-property-user-key"
CREDS: dict[str, Any] = {"api_key": API_KEY, "user_key": USER_KEY, "username": "p@example.com"}
Headers = list[tuple[bytes, bytes]]
EXAMPLES = 500
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


# -- the harness --------------------------------------------------------------------------------


class Harness:
    """One event loop and one client whose transport answers with ``self.response``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.response: tuple[int, Headers, bytes] = (200, [], b"")
        self.requests: list[httpx.Request] = []
        self.own = httpx.AsyncClient(transport=httpx.MockTransport(self._answer))
        self.client = CflowClient(**CREDS, http_client=self.own, retry=RetryPolicy(max_retries=0))

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, headers, body = self.response
        # A stream, as a real transport returns (not an already-read response).
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

    def run(self, call: Callable[[CflowClient], Awaitable[Any]]) -> Any:
        """The call's result, or the CflowError it raised; anything else propagates."""
        try:
            return self.loop.run_until_complete(call(self.client))
        except CflowError as exc:
            return exc

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.run_until_complete(self.own.aclose())
        self.loop.close()


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness()
    yield h
    h.close()


# -- strategies ---------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)
plausible = st.sampled_from(
    [
        *["", "0", "27405", "true", "false", "True"],
        *["active", "inactive", "draft", "pending", "approved", "rejected", "completed"],
        *["2024-03-26T18:30:00", "2024-03-26T18:30:00+05:30", "2024-02-30T00:00:00"],
        *["3/26/2022 6:30:00 PM", "Z", "\u540d\u524d"],
    ]
)
field_values = plausible | scalars | st.lists(scalars, max_size=2) | json_values


def objects(keys: list[str], nested: dict[str, st.SearchStrategy[Any]] | None = None) -> Any:
    """Dicts with the real keys (each present or not) holding realistic or random values,
    sometimes with an unknown key too."""
    optional: dict[str, Any] = {key: field_values for key in keys}
    for key, strategy in (nested or {}).items():
        optional[key] = strategy | field_values
    optional["unexpected"] = json_values
    return st.fixed_dictionaries({}, optional=optional)


def shapes(item: Any, wrapper: str | None = None) -> Any:
    options = [item, st.lists(item, max_size=4)]
    if wrapper is not None:
        options.append(st.fixed_dictionaries({wrapper: st.lists(item, max_size=4) | json_values}))
    return st.one_of(*options)


WORKFLOW_ITEM = objects(["WorkflowName", "WorkflowDisplayName", "id", "name", "status"])
PROCESS_ITEM = objects(["ProcessStage", "ProcessStageDisplayName", "ProcessID"])
STATUS_ITEM = objects(["Group_ID", "Field_Status"])
OPTION_ITEM = objects(["label", "value"])
FIELD_KEYS = ["name", "type", "label", "spec", "help", "default:", "default", "required"]
FIELD_ITEM = objects(
    [*FIELD_KEYS, "multiple", "multiline"],
    {"options": st.none() | st.lists(OPTION_ITEM, max_size=3)},
)
RECORD = objects(["Record_Id"])
STAGE = objects(["id", "name", "order", "reviewers"], {"reviewers": st.lists(field_values)})
API_WORKFLOW = objects(
    ["id", "name", "description", "status", "createdAt", "updatedAt"],
    {"stages": st.lists(STAGE, max_size=3)},
)
#: Random values almost never make a workflow that parses with a stage that has reviewers:
#: half of the workflows are as documented, their reviewers names or numeric ids.
DOCUMENTED_STAGE = st.fixed_dictionaries(
    {"reviewers": st.lists(st.text(max_size=6) | st.integers(0, 99), min_size=1, max_size=3)},
    optional={"id": st.text(max_size=6), "name": st.text(max_size=6), "order": st.integers()},
)
API_WORKFLOW |= st.fixed_dictionaries(
    {"stages": st.lists(DOCUMENTED_STAGE, min_size=1, max_size=3)},
    optional={"id": st.text(max_size=6), "name": st.text(max_size=6)},
)
API_REQUEST = objects(
    ["id", "workflowId", "status", "currentStage", "submittedBy", "createdAt", "updatedAt"],
    {"fields": st.dictionaries(st.text(max_size=8), json_values, max_size=3)},
)
USER = objects(["id", "username", "email", "role", "status"])
ROLE = objects(
    ["id", "name"], {"permissions": objects(["workflows", "lookups", "reports", "support"])}
)


def bodies(shape: Any) -> Any:
    """Bytes: JSON of any value or of a near-real shape, or something that is not JSON."""
    as_json = (shape | json_values).map(lambda v: json.dumps(v).encode())
    truncated = st.builds(
        lambda raw, cut: raw[: max(0, len(raw) - cut)], as_json, st.integers(1, 12)
    )
    junk = st.sampled_from(
        [
            *[b"", b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>"],
            *[b"\xef\xbb\xbf[]", b"\xff\xfe[\x00]\x00", b"[" * 5000 + b"]" * 5000],
            *[b"NaN", b"1" * 5000, b'{"a": 1}{"b": 2}'],
        ]
    ) | st.binary(max_size=40)
    near_real = shape.map(lambda v: json.dumps(v).encode())
    return st.one_of(near_real, near_real, as_json, truncated, junk)


statuses = st.integers(min_value=100, max_value=599) | st.sampled_from(
    [200, 200, 201, 204, 299, 301, 400, 401, 404, 429, 500, 503]
)
header_text = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=12
) | st.sampled_from(
    [
        *["0", "1e-9", "-1", "inf", "nan", "1e400", "application/json", "text/html; charset=utf-8"],
        *["gzip", "deflate", "br", "identity", "gzip, identity", "Wed, 21 Oct 2015 07:28:00 GMT"],
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
        "Mon, 01 Jan 2020 99999999999999999999:00:00 GMT",
    ]
)


#: Up to two of these headers, each with any value.
headers = st.lists(
    st.tuples(
        st.sampled_from(["content-type", "content-encoding", "x-request-id", "location"]),
        header_text,
    ),
    max_size=2,
).map(lambda pairs: [(k.encode(), v.encode("latin-1")) for k, v in pairs])


# -- endpoints and what a parsed result must look like ------------------------------------------


Check = Callable[[Any], bool]
#: A type or tuple of types (an isinstance check), or any other predicate.
Spec = type | tuple[type, ...] | Check


def passes(value: Any, spec: Spec) -> bool:
    return isinstance(value, spec) if isinstance(spec, type | tuple) else spec(value)


def model(cls: type, **attributes: Spec) -> Check:
    """An instance of ``cls`` whose attributes pass their specs."""
    return lambda obj: (
        isinstance(obj, cls)
        and all(passes(getattr(obj, name), spec) for name, spec in attributes.items())
    )


def items(spec: Spec, container: type = list) -> Check:
    return lambda value: isinstance(value, container) and all(passes(x, spec) for x in value)


def unset_or(spec: Spec) -> Check:
    return lambda value: isinstance(value, Unset) or passes(value, spec)


# What a parsed item must look like. OpenAPI models: every property is optional (Unset when
# absent) and of its documented type.
STR_OR_NONE = (str, type(None))
OPT_STR = (Unset, str)
OPT_DATE = (Unset, dt.datetime)
WORKFLOW_OK = model(Workflow, name=str, display_name=str, id=STR_OR_NONE, status=STR_OR_NONE)
PROCESS_OK = model(ProcessStage, stage=str, display_name=str, process_id=str)
FIELD_OK = model(
    FieldDefinition,
    **dict.fromkeys(["name", "type", "label", "help"], str),
    **dict.fromkeys(["required", "multiple", "multiline"], bool),
    options=items(model(FieldOption, label=str, value=str), tuple),
)
STAGE_OK = model(
    Stage,
    id=OPT_STR,
    name=OPT_STR,
    order=unset_or(lambda order: type(order) is int),  # not a bool, not a float
    reviewers=unset_or(items(str)),
)
API_WORKFLOW_OK = model(
    ApiWorkflow,
    **dict.fromkeys(["id", "name", "description"], OPT_STR),
    status=(Unset, WorkflowStatus),
    created_at=OPT_DATE,
    updated_at=OPT_DATE,
    stages=unset_or(items(STAGE_OK)),
)
REQUEST_OK = model(
    Request,
    **dict.fromkeys(["id", "workflow_id", "current_stage", "submitted_by"], OPT_STR),
    status=(Unset, RequestStatus),
    fields=(Unset, RequestFields),
    created_at=OPT_DATE,
    updated_at=OPT_DATE,
)
USER_OK = model(
    User, **dict.fromkeys(["id", "username", "email", "role"], OPT_STR), status=(Unset, UserStatus)
)
PERMISSIONS = dict.fromkeys(["workflows", "lookups", "reports", "support"], OPT_STR)
ROLE_OK = model(
    Role, id=OPT_STR, name=OPT_STR, permissions=unset_or(model(RolePermissions, **PERMISSIONS))
)

#: Per result type: the near-real bodies to answer with, and what a parsed item must look
#: like (each list item, or the single result). Endpoints come from the catalog.
READS: dict[Any, tuple[Any, Spec]] = {
    type(None): (json_values, type(None)),
    str: (RECORD, str),
    Workflow: (shapes(WORKFLOW_ITEM, "Workflows"), WORKFLOW_OK),
    ProcessStage: (shapes(PROCESS_ITEM, "Process"), PROCESS_OK),
    StageStatus: (shapes(STATUS_ITEM, "Status"), model(StageStatus, group_id=str, status=str)),
    FieldDefinition: (shapes(FIELD_ITEM, "Fields"), FIELD_OK),
    ApiWorkflow: (shapes(API_WORKFLOW), API_WORKFLOW_OK),
    Request: (shapes(API_REQUEST), REQUEST_OK),
    User: (shapes(USER), USER_OK),
    Role: (shapes(ROLE), ROLE_OK),
}


def check_for(ep: Endpoint) -> Check:
    """The endpoint's declared type (catalog) and, item by item, the deeper check above."""
    spec = READS[ep.model][1]
    if ep.returns_list:
        return lambda r: ep.check(r) and all(passes(x, spec) for x in r)
    return lambda r: ep.check(r) and passes(r, spec)


def assert_well_formed(outcome: Any, status: int, check: Check) -> None:
    if isinstance(outcome, CflowError):
        text = str(outcome)
        assert repr(outcome)
        assert API_KEY not in text
        assert USER_KEY not in text
        if isinstance(outcome, CflowAPIError):
            assert outcome.status_code == status
            assert status >= 300
            assert outcome.response.request.headers.get("apikey") != API_KEY
        if isinstance(outcome, ResponseValidationError):
            assert status < 300
            assert "body starts: " in text
            assert "\n" not in text
            assert "\r" not in text
        return
    # A result is only ever read from a success.
    assert status < 300, f"a result for HTTP {status}: {outcome!r}"
    assert check(outcome), outcome


# -- the properties -----------------------------------------------------------------------------


# Endpoints grouped by the type they read: each example is answered to every endpoint of
# its family, so every endpoint sees every example without paying to generate it again.
FAMILIES: dict[str, tuple[Any, list[Endpoint]]] = {}
for _ep in CATALOG:
    _family = f"{_ep.kind} {getattr(_ep.model, '__name__', _ep.model)}"
    FAMILIES.setdefault(_family, (READS[_ep.model][0], []))[1].append(_ep)


def answer_all(
    harness: Harness, members: list[Endpoint], status: int, extra: Headers, body: bytes
) -> None:
    harness.response = (status, extra, body)
    failures = []
    for ep in members:
        try:
            assert_well_formed(harness.run(ep), status, check_for(ep))
        except Exception as exc:  # collected, so one report names every endpoint that broke
            failures.append(f"{ep}: {type(exc).__name__}: {exc}")
    assert failures == [], f"HTTP {status} {extra} {body[:120]!r}"


@pytest.mark.parametrize("family", list(FAMILIES))
def test_any_response_gives_a_result_or_a_cflow_error(harness: Harness, family: str) -> None:
    shape, members = FAMILIES[family]
    sent_before = len(harness.requests)

    @PROPERTY
    @given(status=statuses, body=bodies(shape), extra=headers, compress=st.booleans())
    def prop(status: int, body: bytes, extra: Headers, compress: bool) -> None:
        if compress:  # a well-formed gzip body, which the client must decode
            body = gzip.compress(body)
            extra = [*extra, (b"content-encoding", b"gzip")]
        answer_all(harness, members, status, extra, body)

    prop()
    # Every endpoint of the family really went through the request path for every example.
    assert len(harness.requests) - sent_before >= EXAMPLES * len(members)
    assert harness.requests[-1].headers["apikey"] == API_KEY


def test_well_formed_bodies_always_parse(harness: Harness) -> None:
    """The other direction: bodies exactly as documented never fail."""

    @settings(max_examples=200, deadline=None)
    @given(
        names=st.lists(st.text(min_size=1, max_size=20), min_size=0, max_size=5),
        ids=st.lists(st.integers(0, 10**9) | st.text(min_size=1, max_size=8), max_size=5),
    )
    def prop(names: list[str], ids: list[int | str]) -> None:
        workflows = {"Workflows": [{"WorkflowName": n, "WorkflowDisplayName": n} for n in names]}
        harness.response = (200, [], json.dumps(workflows).encode())
        assert [w.name for w in harness.run(lambda c: c.get_workflows())] == names
        process = [{"ProcessStage": "S", "ProcessID": i} for i in ids]
        harness.response = (200, [], json.dumps(process).encode())
        assert [s.process_id for s in harness.run(lambda c: c.get_process("W"))] == [
            str(i) for i in ids
        ]

    prop()
