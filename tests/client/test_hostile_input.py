"""Hostile input: header-breaking credentials, query and path values that try to escape
their place, oversized and compressed responses, and 2xx bodies of the wrong shape."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gzip
import inspect
import json
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
from conftest import API_KEY, CREDS, USER_KEY, USERNAME
from endpoints import Endpoint, by_name, endpoint, select
from pytest_httpx import HTTPXMock
from servers import KINDS, Loopback, Reply, Seen, make_client

from cflow_async import (
    CflowAPIError,
    CflowClient,
    CflowError,
    InvalidArgumentError,
    NotFoundError,
    RateLimitError,
    ResponseTooLargeError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
)

# Values that would add query parameters, a fragment, headers or path segments if they were
# pasted into a URL without encoding.
HOSTILE = [
    *["a&b=c", "x=y", "name#frag", "what?x=1"],
    *["line\r\nX-Injected: 1", "line\nX-Injected: 1", "tab\there"],
    *["%26%3D%23", "a+b c", "../../etc/passwd", "a/b", "a;b,c", "nul\x00byte"],
    *["Gr\u00fc\u00dfe \u540d\u524d \U0001f600", "\u2028\u2029\ufeff"],
]


def _ok_reply(seen: Seen) -> Reply:
    if "/updaterecord" in seen.target:
        return Reply(body=b'{"Record_Id": "9"}')
    if "/requests/" in seen.target:
        return Reply(body=b'{"id": "r1"}')
    return Reply(body=b"[]")


async def result_or(error: type[Exception], call: Awaitable[Any]) -> Any:
    """The call's result, or the ``error`` it raised."""
    try:
        return await call
    except error as exc:
        return exc


@contextlib.asynccontextmanager
async def served(
    kind: str, answer: Callable[[Seen], Reply], **options: Any
) -> AsyncIterator[tuple[Loopback, CflowClient]]:
    """A loopback server answering with ``answer``, and a client of that kind on it."""
    async with Loopback(answer) as server, make_client(kind, server.url, **options) as client:
        yield server, client


# -- credentials --------------------------------------------------------------------------------

FIELDS = ["api_key", "user_key", "username"]
BAD_CREDENTIAL_PARTS = [
    *["\r", "\n", "\r\nX-Evil: 1", "\x00", "\x01", "\x1b[31m", "\x7f", "\t"],  # control characters
    *["\u00e9", "\u043a\u043b\u044e\u0447", "\u2028", "\ufeff", "\U0001f511"],  # not ASCII
]
#: (field, value, set in the environment instead of passed)
BAD_CREDENTIALS = [
    *[
        (field, "abc" + bad + end, False)
        for end in ("def", "")  # in the middle, at the end
        for bad in BAD_CREDENTIAL_PARTS
        for field in FIELDS
    ],
    *[(field, "abc\r\nX-Evil: 1", True) for field in FIELDS],
    *[("api_key", blank_or_padded, False) for blank_or_padded in (" key", "key ", "   ", "")],
]


@pytest.mark.parametrize(("field", "value", "from_env"), BAD_CREDENTIALS)
def test_bad_credentials_are_refused(
    field: str, value: str, from_env: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = dict(CREDS)
    if from_env:
        del creds[field]
        monkeypatch.setenv("CFLOW_" + field.upper(), value)
    else:
        creds[field] = value
    with pytest.raises(ValueError, match=field) as info:
        CflowClient(**creds, http_backend="httpx")
    assert isinstance(info.value, InvalidArgumentError)


async def test_printable_credentials_are_sent_verbatim(httpx_mock: HTTPXMock) -> None:
    key = "A-z_0.9~!#$%&'*+^`|=:;,/?@[]{}()<>\"\\ end"
    httpx_mock.add_response(json=[])
    async with CflowClient(
        api_key=key, user_key=USER_KEY, username="u&x=1", http_backend="httpx"
    ) as client:
        await client.get_workflow_fieldsets("W")
    request = httpx_mock.get_requests()[0]
    assert request.headers["apikey"] == key
    assert request.headers["username"] == "u&x=1"
    assert dict(parse_qsl(request.url.query.decode())) == {"username": "u&x=1", "WorkflowName": "W"}


# -- query values and path ids -----------------------------------------------------------------

#: Every call that takes arguments, and every one with ids in its path (and each such id).
ARG_ENDPOINTS = select(has_args=True)
PATH_ARGS = [(ep, arg) for ep in select(has_path_args=True) for arg in ep.path_args]
PATH_HOSTILE = [*HOSTILE, "...", ".hidden", "a/../b", "%2e%2e", "/", "?", "#"]
PATH_IDS = [*PATH_HOSTILE, 0, 10**18]  # ints are ids too, sent as decimal
EXPECTED_HEADERS = {
    *["host", "accept", "accept-encoding", "user-agent", "content-type", "content-length"],
    *["apikey", "userkey", "username"],
}


def parsed_query(raw: bytes) -> list[tuple[str, str]]:
    text = raw.decode("ascii")  # everything outside ASCII must arrive percent-encoded
    for forbidden in ("#", "\r", "\n", " ", "\t", "+"):
        assert forbidden not in text
    return sorted(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))


def split_target(raw: bytes) -> tuple[list[str], list[tuple[str, str]]]:
    """The path segments after the API root (decoded) and the sorted query pairs."""
    path, _, query = raw.partition(b"?")
    text = path.decode("ascii")
    assert text.startswith("/integromat/api/cflow/")
    segments = text.removeprefix("/integromat/api/cflow/").split("/")
    return [unquote(s) for s in segments], parsed_query(query)


@pytest.mark.parametrize("ep", ARG_ENDPOINTS, ids=str)
@pytest.mark.parametrize("value", PATH_HOSTILE)
async def test_values_stay_in_their_parameter_or_segment(
    client: CflowClient, httpx_mock: HTTPXMock, ep: Endpoint, value: str
) -> None:
    """Each call carries the value in every argument."""
    httpx_mock.add_response(**ep.ok_response())
    args = ep.with_value(value)
    await ep.call(client, **args)
    request = httpx_mock.get_requests()[0]
    assert request.method == ep.method
    assert request.url.fragment == ""
    assert split_target(request.url.raw_path) == (
        ep.segments(**args),
        sorted(ep.expected_query(USERNAME, **args).items()),
    )
    assert {k.lower() for k in request.headers} <= EXPECTED_HEADERS
    assert request.headers["apikey"] == API_KEY
    if ep.kind == "legacy" and ep.has_body:
        body = json.loads(request.content)
        assert body["main"]["WorkflowName"] == value
        values = body.get("dynamicobj") or body.get("Values")
        assert values == {value: value}


@pytest.mark.parametrize("value", [12345, 0, -7, 10**30])
async def test_integer_ids_are_sent_as_decimal(
    client: CflowClient, httpx_mock: HTTPXMock, value: int
) -> None:
    httpx_mock.add_response(json={"Record_Id": "1"})
    await client.update_record("W", value, value, {})
    expected = {"username": USERNAME, "WorkflowName": "W", "group_id": str(value)}
    assert split_target(httpx_mock.get_requests()[0].url.raw_path) == (
        ["updaterecord"],
        sorted({**expected, "RecordId": str(value)}.items()),
    )


NOT_PATH_IDS = [".", "..", " .. ", "", True, None, 1.0]
UNUSABLE = ["", "   ", None, 1.5, True, b"bytes", ["a"]]
#: A lone surrogate cannot be sent as UTF-8: an argument error, not a UnicodeEncodeError.
LONE_SURROGATES = ["\ud800", "ok\udfff"]
GET_PROCESS, GET_STATUS, SUBMIT, GET_REQUEST = by_name(
    "get_process", "get_status", "submit_record", "requests.get"
)
#: (call, one argument replaced, what the error must name): path ids that are dot segments
#: or not ids, legacy names and ids that are blank or not text (a blank group id is sent
#: as it is), and text that cannot be encoded.
REFUSED = [
    *[(ep, {arg: value}, arg) for ep, arg in PATH_ARGS for value in NOT_PATH_IDS],
    *[(GET_PROCESS, {"workflow_name": v}, "workflow_name") for v in UNUSABLE + LONE_SURROGATES],
    *[(GET_STATUS, {"group_id": value}, "group_id") for value in UNUSABLE if value != "   "],
    *[(SUBMIT, {"values": {"field": value}}, "field") for value in LONE_SURROGATES],
    *[
        (GET_REQUEST, {"workflow_id": v, "request_id": "r1"}, "workflow_id")
        for v in LONE_SURROGATES
    ],
]


@pytest.mark.parametrize(("ep", "argument", "named"), REFUSED, ids=str)
async def test_unusable_arguments_are_refused_before_sending(
    client: CflowClient, httpx_mock: HTTPXMock, ep: Endpoint, argument: dict[str, Any], named: str
) -> None:
    """Each argument on its own (the others valid): refused before sending with the library's
    own InvalidArgumentError (a CflowError and a ValueError), the error naming it."""
    with pytest.raises(InvalidArgumentError, match=named) as info:
        await ep.call(client, **argument)
    assert isinstance(info.value, CflowError)
    assert httpx_mock.get_requests() == []


@pytest.mark.integration
@pytest.mark.parametrize("kind", KINDS)
async def test_query_and_path_values_stay_in_place_on_the_wire(kind: str) -> None:
    async with served(kind, _ok_reply) as (server, client):
        for value in HOSTILE:
            await client.update_record(value, value, value, {value: value})
        for value in PATH_IDS:
            await client.requests.get(value, value)
    queries, paths = server.seen[: len(HOSTILE)], server.seen[len(HOSTILE) :]
    for value, seen in zip(HOSTILE, queries, strict=True):
        expected = {"username": USERNAME, "WorkflowName": value, "group_id": value}
        assert split_target(seen.target.encode("latin-1")) == (
            ["updaterecord"],
            sorted({**expected, "RecordId": value}.items()),
        )
        names = [k.lower() for k, _ in seen.headers]
        assert "x-injected" not in names
        assert len(names) == len(set(names))
        assert seen.header("apikey") == API_KEY
        assert seen.header("username") == USERNAME
        assert json.loads(seen.body)["Values"] == {value: value}
    for value, seen in zip(PATH_IDS, paths, strict=True):
        segments = ["workflows", str(value), "requests", str(value)]
        assert split_target(seen.target.encode("latin-1")) == (segments, [])
        assert seen.header("apikey") == API_KEY


# -- response size ------------------------------------------------------------------------------

CAP = 1000


def _array(size: int) -> bytes:
    """A valid JSON empty array of exactly ``size`` bytes."""
    return b"[" + b" " * (size - 2) + b"]"


CAPPED_CALLS = by_name("get_process", "users.list")  # a legacy and an OpenAPI list reader
GZIP_JSON = (("content-type", "application/json"), ("content-encoding", "gzip"))


def test_default_response_cap_is_50_mb() -> None:
    default = inspect.signature(CflowClient).parameters["max_response_bytes"].default
    assert default == 50 * 1024 * 1024


@pytest.mark.integration
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("call", CAPPED_CALLS, ids=str)
async def test_oversized_responses_are_refused_and_the_client_stays_usable(
    kind: str, chunked: bool, call: Endpoint
) -> None:
    sizes = [CAP, CAP + 1, 50 * CAP, CAP]
    replies = [Reply(body=_array(size), chunked=chunked) for size in sizes]
    async with served(kind, lambda _: replies.pop(0), max_response_bytes=CAP) as (server, client):
        assert await call(client) == []  # exactly at the cap: accepted
        for _ in range(2):
            with pytest.raises(ResponseTooLargeError) as info:
                await call(client)
            assert isinstance(info.value, CflowError)
            assert info.value.attempts == 1
            assert f"max_response_bytes={CAP}" in str(info.value)
        assert await call(client) == []  # and the client still works
    assert len(server.seen) == 4  # a refused response is not fetched again


@pytest.mark.integration
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("call", CAPPED_CALLS, ids=str)
async def test_compressed_responses_are_capped_after_decoding(kind: str, call: Endpoint) -> None:
    """A few KB of gzip can expand to gigabytes; the cap must bound what is held in memory
    (the decoded body), not just the bytes on the wire, and the refusal must come before
    the whole bomb is inflated."""
    cap = 64 * 1024
    decoded = 40 * 1024 * 1024
    bomb = gzip.compress(_array(decoded), compresslevel=9)
    assert len(bomb) < cap  # on the wire it is under the cap
    reply = Reply(body=bomb, headers=GZIP_JSON)
    async with served(kind, lambda seen: reply, max_response_bytes=cap) as (_, client):
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError):
                await call(client)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < decoded // 5, (
        f"peak {peak / 1e6:.1f} MB while refusing a {decoded / 1e6:.0f} MB body"
    )


@pytest.mark.integration
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("status", "body", "call", "expected"),
    [
        (404, b'{"message": "no such workflow"}', *by_name("workflows.get"), NotFoundError),
        (500, b'{"message": "boom"}', *by_name("submit_record"), ServerError),
        (200, b"<html>gateway says no</html>", *by_name("get_process"), ResponseValidationError),
        (200, b'{"id": 1}', *by_name("users.list"), ResponseValidationError),
    ],
    ids=["404", "500", "html-200", "shape-200"],
)
async def test_compressed_error_responses_raise_typed_errors(
    kind: str, status: int, body: bytes, call: Endpoint, expected: type
) -> None:
    """Servers gzip error pages too (the generated layer even asks for gzip); the typed
    error keeps the decoded body."""
    reply = Reply(status, gzip.compress(body), GZIP_JSON)
    async with served(kind, lambda seen: reply, retry=RetryPolicy(max_retries=0)) as (_, client):
        with pytest.raises(expected) as info:
            await call(client)
    err = info.value
    # The message quotes the decoded body, not gzip bytes.
    assert body.decode()[:12] in str(err)
    if isinstance(err, CflowAPIError):
        assert err.body == json.loads(body)


# -- bad 2xx bodies -----------------------------------------------------------------------------


@dataclasses.dataclass
class Bad:
    body: bytes
    content_type: str = "application/json"
    start: str | None = None  # what the error message must quote (default: the first 40 bytes)
    #: A JSON object without a documented key: an OpenAPI reader of one object reads it as a
    #: valid, if empty, model (every property is optional), its unknown keys kept aside.
    empty_model: bool = False


WRAPPERS = ["Workflows", "Status", "Fields", "Process"]  # the legacy readers' list keys
#: Bodies that no reader takes.
BAD_BODIES = {
    "html page": Bad(
        b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"
    ),
    "empty": Bad(b""),
    "truncated": Bad(b'[{"ProcessStage": "Review", "Proc'),
    "not utf-8": Bad(b"\xff\xfe\xfa{ not utf-8", start="not utf-8"),
    "scalar": Bad(b"42"),
    "string": Bad(b'"[]"'),
    "null": Bad(b"null"),
    "list of nulls": Bad(b"[null, null]"),
    "list of lists": Bad(b"[[1, 2]]"),  # dict() would make {1: 2} of it
    "list of ints": Bad(b"[1, 2]"),
    "list of strings": Bad(b'["a", "b"]'),
    "object without list": Bad(b'{"unexpected": true}', empty_model=True),
    "empty object": Bad(b"{}", empty_model=True),
    "wrapped nulls": Bad(json.dumps(dict.fromkeys(WRAPPERS)).encode(), empty_model=True),
    "wrong list type": Bad(
        b'{"Workflows": {"a": 1}, "Process": 5, "Fields": "x", "Status": 1}', empty_model=True
    ),
    "xml": Bad(b"<?xml version='1.0'?><Workflows/>", "application/xml"),
    "control chars": Bad(
        b"\x1b[2J\x1b[31mERROR\r\n\x07\x00 more" + b"x" * 2000, "text/plain", start="ERROR"
    ),
    # json.loads raises RecursionError: still an unreadable response, not a raw error.
    "nested deep": Bad(b"[" * 10_000 + b"]" * 10_000),
    "nested deeper": Bad(b"[" * 200_000 + b"]" * 200_000),
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

#: Every call that reads a body (all but check_connection and requests.delete).
READERS = select(where=lambda ep: ep.ok_body is not None)
OBJECT_READERS = select(kind="openapi", where=lambda ep: ep in READERS and not ep.returns_list)


def wrong(calls: list[Endpoint], *bodies: Any) -> list[Any]:
    """Each JSON body answered to each call."""
    return [pytest.param(c, Bad(json.dumps(b).encode()), id=str(c)) for c in calls for b in bodies]


BAD_CASES = [
    *[
        pytest.param(ep, bad, id=f"{ep}-{name}")
        for ep in READERS
        for name, bad in BAD_BODIES.items()
    ],
    # A list where one object is expected (the generated from_dict would read [] as a model).
    *wrong(OBJECT_READERS, [], [{"id": "r-1"}]),
    # Not an object, or an object without a usable Record_Id.
    *wrong(
        select(where=lambda ep: ep.model is str),
        *[[], [{"Record_Id": "44"}], "44", {"RecordId": "44"}],
        *[{"Record_Id": value} for value in (None, ["44"], {"id": 44}, True)],
    ),
    *[wrong([endpoint(name)], body)[0] for name, body in WRONG_ITEMS],
    # Ids are strings or ints: not inf, NaN, floats, or numbers too long to parse.
    *[
        pytest.param(
            endpoint("get_process"),
            Bad(b'[{"ProcessStage": "S", "ProcessID": ' + n + b"}]"),
            id="float-id",
        )
        for n in (b"Infinity", b"-Infinity", b"NaN", b"1e308", b"1.5", b"1" + b"0" * 5000)
    ],
]


def assert_safe_snippet(err: ResponseValidationError) -> None:
    message = str(err)
    assert "body starts: " in message
    assert len(message) < 800
    for raw in ("\r", "\n", "\x1b", "\x07", "\x00"):
        assert raw not in message
    assert API_KEY not in message
    assert err.response is not None
    assert 200 <= err.response.status_code < 300
    assert err.response.request.headers.get("apikey") != API_KEY


@pytest.mark.parametrize(("ep", "bad"), BAD_CASES)
async def test_bad_2xx_bodies_raise_a_typed_error_with_a_safe_snippet(
    client: CflowClient, httpx_mock: HTTPXMock, ep: Endpoint, bad: Bad
) -> None:
    httpx_mock.add_response(
        status_code=ep.ok_status, content=bad.body, headers={"content-type": bad.content_type}
    )
    outcome = await result_or(ResponseValidationError, ep.call(client))
    if bad.empty_model and ep in OBJECT_READERS:
        assert outcome.additional_properties == json.loads(bad.body)
        return
    assert isinstance(outcome, ResponseValidationError), outcome
    assert_safe_snippet(outcome)
    start = bad.body[:40].decode() if bad.start is None else bad.start
    assert start in str(outcome), str(outcome)
    # A write answered 2xx was probably applied: the error must say so, and not send it again.
    assert outcome.outcome_unknown is ep.writes
    assert len(httpx_mock.get_requests()) == 1


#: Bodies read as documented though not quite as documented: numbers where strings are
#: expected (ids as "27405"), nulls where a list or a text with a default is expected.
#: (call, body, what to look at, what it must be)
LENIENT: dict[str, tuple[str, Any, Callable[[Any], Any], Any]] = {
    "numbers-legacy-workflows": (
        "get_workflows",
        {"Workflows": [{"WorkflowName": 7, "WorkflowDisplayName": 7.5}, {"name": 8, "id": 9}]},
        lambda r: [(w.name, w.display_name, w.id) for w in r],
        [("7", "7.5", None), ("8", "8", "9")],
    ),
    "numbers-legacy-process": (
        "get_process",
        [{"ProcessStage": 1, "ProcessStageDisplayName": 2, "ProcessID": 27405}],
        lambda r: [(s.stage, s.display_name, s.process_id) for s in r],
        [("1", "2", "27405")],
    ),
    "numbers-legacy-fields": (
        "get_workflow_fieldsets",
        [{"name": 5, "type": 6, "label": 7, "help": 8, "required": "true"}],
        lambda r: [(f.name, f.type, f.label, f.help, f.required) for f in r],
        [("5", "6", "7", "8", True)],
    ),
    "numbers-openapi-nested": (
        "roles.list",
        [{"id": 1, "name": 2, "permissions": {"workflows": 3}}],
        lambda r: [(x.id, x.name, x.permissions.workflows) for x in r],
        [("1", "2", "3")],
    ),
    "numbers-openapi-object": (
        "workflows.get",
        {"id": 1, "name": 2, "stages": [{"id": 3, "name": 4, "order": 1, "reviewers": [5]}]},
        lambda r: (r.id, r.name, r.stages[0].id, r.stages[0].order, r.stages[0].reviewers),
        ("1", "2", "3", 1, ["5"]),
    ),
    "null-list": (
        "get_workflow_fieldsets",
        [{"name": "City", "type": "dropdown", "options": None, "default:": None}],
        lambda r: [(f.name, f.options, f.default) for f in r],
        [("City", (), None)],
    ),
    "null-text": (
        "get_workflow_fieldsets",
        [{"name": "City", "type": None, "label": None, "help": None}],
        lambda r: [(f.type, f.label, f.help) for f in r],
        [("text", "City", "")],
    ),
    "null-display-name": (
        "get_workflows",
        {"Workflows": [{"WorkflowName": "W", "WorkflowDisplayName": None}]},
        lambda r: [w.display_name for w in r],
        ["W"],
    ),
}


@pytest.mark.parametrize("case", list(LENIENT))
async def test_near_documented_bodies_are_read_as_documented(
    client: CflowClient, httpx_mock: HTTPXMock, case: str
) -> None:
    """Never an object whose str-typed fields hold ints. Served as HTML: JSON is read
    whatever the content type says."""
    name, data, view, expected = LENIENT[case]
    httpx_mock.add_response(
        content=json.dumps(data).encode(), headers={"content-type": "text/html; charset=iso-8859-1"}
    )
    assert view(await endpoint(name)(client)) == expected


@pytest.mark.integration
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 abc Whatever\r\n\r\n",
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\ncontent-length: 2\r\n\r\n[]",
        b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n[]",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n[]\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: 2\r\n\r\n[]",
        b'HTTP/1.1 200 OK\r\ncontent-length: 500\r\n\r\n[{"ProcessStage": "Rev',
    ],
    ids=[
        *["status-line", "not-http", "header-line", "content-length", "chunk-size", "fake-gzip"],
        "cut-short",
    ],
)
async def test_malformed_http_is_a_typed_error(kind: str, raw: bytes) -> None:
    """A connection error: retried for a GET, flagged as possibly applied for a write."""
    healed = False

    def answer(seen: Seen) -> Reply:
        return _ok_reply(seen) if healed else Reply(raw=raw)

    async with served(kind, answer) as (server, client):
        with pytest.raises(CflowError) as read:
            await client.get_process("W")
        with pytest.raises(CflowError) as write:
            await client.submit_record("W", {})
        assert read.value.attempts == 3
        assert write.value.attempts == 1
        assert write.value.outcome_unknown is True
        assert len(server.seen) == 4
        healed = True
        assert await client.get_process("W") == []  # and the client still works


# -- hostile headers ----------------------------------------------------------------------------

RETRY_AFTER = [
    *["inf", "-inf", "nan", "-5", "1e400", "99999999999999999999999", "0x10", "", "\u00b2"],
    "Mon, 01 Jan 99999 00:00:00 GMT",
    "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
    "Mon, 01 Jan 2020 99999999999999999999:00:00 GMT",
    "Wed, 21 Oct 2015 07:28:00",
    "Wed, 21 Oct 2015 07:28:00 GMT",  # in the past: no wait
]
#: (status, header, its value on the wire)
HOSTILE_HEADERS = [
    *[
        (status, header, value.encode("latin-1"))
        for status in (429, 503)
        for header in ("retry-after", "retry-after-ms")
        for value in RETRY_AFTER
    ],
    *[(200, "content-length", v.encode()) for v in ["\u00b2", "\u0663", "12abc", "-1", "1,2"]],
]


@pytest.mark.parametrize(("status", "header", "value"), HOSTILE_HEADERS)
async def test_hostile_headers_from_a_custom_transport_end_in_a_typed_error(
    status: int, header: str, value: bytes
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        stream = httpx.ByteStream(b"[]")
        return httpx.Response(status, headers=[(header.encode(), value)], stream=stream)

    policy = RetryPolicy(initial_backoff=0.001, max_backoff=0.002, max_retry_after=0.01)
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as own,
        CflowClient(**CREDS, http_client=own, retry=policy) as client,
    ):
        async with asyncio.timeout(5):
            outcome = await result_or(CflowError, client.get_workflows())
    if status == 200:  # a typed error is fine; a raw ValueError is not
        assert outcome == [] or isinstance(outcome, CflowError)
    else:
        assert type(outcome) is (RateLimitError if status == 429 else ServerError)
        assert outcome.status_code == status
