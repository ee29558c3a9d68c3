"""Secrets never leak: not through reprs of anything reachable from the client, not through
exceptions (message, repr, formatted traceback, attached request), not through log records
of any logger at any level (captured at DEBUG while each failing scenario runs), on both
backends and through a caller's own httpx client."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import inspect
import logging
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from types import CodeType, FrameType, ModuleType, SimpleNamespace, TracebackType
from typing import Any

import httpx
import pytest
import servers
from cflow_openapi import Client as OpenAPIClient
from conftest import free_port
from endpoints import by_name, endpoint
from servers import KINDS, Loopback, Reply, Seen

import cflow_async as cf
from cflow_async import CflowAPIError, CflowClient, CflowConnectionError, CflowError, RetryPolicy

API_KEY = "7f1c2e9a-secrets-api-key-value"
USER_KEY = "b84d06f3-secrets-user-key-value"
USERNAME = "secrets@example.com"
CREDS: dict[str, Any] = {"api_key": API_KEY, "user_key": USER_KEY, "username": USERNAME}
# The full values, and their distinctive starts (a partial leak is a leak).
SECRETS = (API_KEY, USER_KEY, API_KEY[:8], USER_KEY[:8])


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


make_client = functools.partial(servers.make_client, creds=CREDS)  # (kind, base_url, **options)


# -- walking everything reachable ---------------------------------------------------------------

_SCALARS = (str, bytes, bytearray, int, float, complex, bool, type(None))
_OPAQUE = (ModuleType, type, FrameType, TracebackType, CodeType, asyncio.AbstractEventLoop)


def _texts(obj: Any) -> Iterator[str]:
    if isinstance(obj, bytes | bytearray):
        yield bytes(obj).decode("latin-1")
        return
    for render in (repr, str):
        try:
            yield render(obj)
        except Exception as exc:  # a broken repr is not a leak
            yield f"<{type(exc).__name__}>"


def _children(obj: Any, *, follow_chain: bool) -> Iterator[tuple[str, Any]]:
    if isinstance(obj, Mapping):  # httpx.Headers included
        for key, value in list(obj.items()):
            yield f"[{key!r}]", key
            yield f"[{key!r}]", value
        return
    if isinstance(obj, list | tuple | set | frozenset | collections.deque):
        for index, item in enumerate(list(obj)):
            yield f"[{index}]", item
        return
    if isinstance(obj, BaseException) and follow_chain:
        yield ".__cause__", obj.__cause__
        yield ".__context__", obj.__context__
    for name in dir(obj):
        if name.startswith("_"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # deprecated properties such as URL.raw
                value = getattr(obj, name)
        except Exception:  # a property that cannot be read now (e.g. Response.elapsed)
            continue
        if inspect.isroutine(value) or isinstance(value, type):
            continue
        yield f".{name}", value


@dataclasses.dataclass
class Walk:
    leaks: list[str]
    types: set[type]


def walk(root: Any, *, follow_chain: bool = True, max_depth: int = 7) -> Walk:
    """Every object reachable from ``root`` through public attributes, mapping items and
    sequence items (and an exception's cause/context): paths whose repr/str shows a secret."""
    result = Walk([], set())
    visited: set[int] = set()
    queue: collections.deque[tuple[str, Any, int]] = collections.deque([("root", root, 0)])
    while queue and len(visited) < 50_000:
        path, obj, depth = queue.popleft()
        if id(obj) in visited or isinstance(obj, _OPAQUE):
            continue
        visited.add(id(obj))
        result.types.add(type(obj))
        for text in _texts(obj):
            if leaked(text):
                result.leaks.append(f"{path} ({type(obj).__name__}): {text[:120]!r}")
                break
        if depth < max_depth and not isinstance(obj, _SCALARS):
            for name, child in _children(obj, follow_chain=follow_chain):
                queue.append((path + name, child, depth + 1))
    return result


def test_the_walker_finds_a_planted_secret() -> None:
    """The leak checks below can fail: a secret three levels down is found, a private one not."""

    class Holder:
        def __init__(self) -> None:
            self.public = {"nested": [SimpleNamespace(token=b"x" + API_KEY.encode())]}
            self._private = USER_KEY

    found = walk(Holder())
    assert len(found.leaks) >= 1
    assert any(".public['nested'][0].token" in leak for leak in found.leaks)
    assert not any(USER_KEY in leak for leak in found.leaks)
    error = ValueError("outer")
    error.__cause__ = RuntimeError(f"inner {USER_KEY}")
    assert any("__cause__" in leak for leak in walk(error).leaks)


@pytest.fixture
def all_log_records(monkeypatch: pytest.MonkeyPatch) -> list[logging.LogRecord]:
    """Every record any logger creates, at DEBUG, whatever its level, handlers, propagation
    or ``logging.disable``."""
    records: list[logging.LogRecord] = []
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        records.append(record)
        original(self, record)

    monkeypatch.setattr(logging.Logger, "handle", handle)
    monkeypatch.setattr(logging.Logger, "isEnabledFor", lambda self, level: True)
    return records


def _record_texts(record: logging.LogRecord) -> Iterator[str]:
    try:
        yield record.getMessage()
    except Exception:
        yield str(record.msg)
    yield repr(record.args)
    yield repr(vars(record))
    if record.exc_info:
        yield logging.Formatter().formatException(record.exc_info)
    if record.stack_info:
        yield record.stack_info


def assert_no_log_record_leaks(records: list[logging.LogRecord]) -> None:
    bad = [
        f"{r.name}:{r.levelname}: {text[:200]!r}"
        for r in records
        for text in _record_texts(r)
        if leaked(text)
    ]
    assert bad == []


# -- the client and everything reachable from it ------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("kind", KINDS)
async def test_nothing_reachable_from_the_client_shows_a_secret(
    kind: str, all_log_records: list[logging.LogRecord]
) -> None:
    async with Loopback() as server, make_client(kind, server.url) as client:
        before = walk(client)
        await client.get_workflows()  # pools, sessions and caches now exist
        assert server.seen[0].header("apikey") == API_KEY  # the headers really are sent
        copy = client.with_options(retry=RetryPolicy(max_retries=0), timeout=3)
        roots = {
            "client": client,
            "str(client)": str(client),
            "with_options copy": copy,
            "openapi pool": client.openapi.get_async_httpx_client(),
        }
        walks = {name: walk(root) for name, root in roots.items()}
    assert before.leaks == []
    assert_no_log_record_leaks(all_log_records)  # a successful call's records
    for name, result in walks.items():
        assert result.leaks == [], name
    # The walk really went through the public surface.
    reached = walks["client"].types
    assert {OpenAPIClient, RetryPolicy, httpx.Timeout} <= reached
    assert any(t.__name__ == "RequestsNamespace" for t in reached)
    assert httpx.Headers in walks["openapi pool"].types
    for text in (repr(client), str(client), repr(copy), repr(client.retry)):
        assert leaked(text) == []
        assert "cflow" in text.lower() or "Retry" in text
    # Informative all the same.
    assert USERNAME in repr(client)
    assert server.url in repr(client)


# -- exceptions ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Scenario:
    reply: Reply | Callable[[Seen], Reply] | None  # None: nothing listens on the port
    call: Callable[[CflowClient], Any]
    expected: type[CflowError]
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


def _json(status: int, body: bytes = b'{"message": "no"}', **headers: str) -> Reply:
    return Reply(status, body, (("content-type", "application/json"), *headers.items()))


def _echo(status: int) -> Callable[[Seen], Reply]:
    """An error page quoting the request's headers, as misconfigured gateways and debug
    servers send: the body snippet an error message quotes must not carry the keys into
    logs and trackers."""

    def echo(seen: Seen) -> Reply:
        headers = "\n".join(f"{k}: {v}" for k, v in seen.headers)
        return Reply(status, f"<html><pre>{headers}</pre></html>".encode(), ())

    return echo


_wf, _submit, _users = by_name("get_workflows", "submit_record", "users.list")
HTML = Reply(body=b"<html>oops</html>")
BIG = Reply(body=b"[" + b" " * 500 + b"]")
BIG_CHUNKED = Reply(body=b"[" + b" " * 5000 + b"]", chunked=True)
SMALL_LIMIT = {"max_response_bytes": 100}
SLOW = Reply(delay=2)
DEADLINE = {"retry": RetryPolicy(deadline=0.3, initial_backoff=0.001)}


async def _after_close(c: CflowClient) -> Any:
    await c.aclose()
    return await c.get_workflows()


SCENARIOS: dict[str, Scenario] = {
    "closed client": Scenario(Reply(), _after_close, CflowError),
    "400": Scenario(_json(400), _wf, cf.BadRequestError),
    "401": Scenario(_json(401), _wf, cf.AuthenticationError),
    "403": Scenario(_json(403), _wf, cf.PermissionDeniedError),
    "404 openapi": Scenario(_json(404), endpoint("workflows.get"), cf.NotFoundError),
    "409": Scenario(_json(409), endpoint("requests.create"), cf.ConflictError),
    "422": Scenario(_json(422), _submit, cf.UnprocessableEntityError),
    "429 retried": Scenario(_json(429, **{"retry-after": "0"}), _wf, cf.RateLimitError),
    "418": Scenario(_json(418), _wf, CflowAPIError),
    "500 GET retried": Scenario(_json(500), _wf, cf.ServerError),
    "503 POST": Scenario(_json(503), _submit, cf.ServerError),
    "302": Scenario(Reply(302, b"", (("location", "http://127.0.0.1:1/x"),)), _wf, CflowAPIError),
    "drop GET": Scenario(Reply(drop=True), _wf, CflowConnectionError),
    "malformed status line": Scenario(
        Reply(raw=b"HTTP/1.1 abc\r\n\r\n"), _wf, CflowConnectionError
    ),
    "malformed header": Scenario(
        Reply(raw=b"HTTP/1.1 200 OK\r\nno colon here\r\ncontent-length: 2\r\n\r\n[]"),
        _submit,
        CflowConnectionError,
    ),
    "drop POST": Scenario(Reply(drop=True), _submit, CflowConnectionError),
    "drop openapi": Scenario(Reply(drop=True), _users, CflowConnectionError),  # no query
    "refused": Scenario(None, _wf, CflowConnectionError),
    "read timeout": Scenario(SLOW, _wf, cf.CflowTimeoutError, {"timeout": 0.2}),
    "deadline": Scenario(SLOW, _submit, cf.CflowTimeoutError, DEADLINE),
    "too large": Scenario(BIG, _wf, cf.ResponseTooLargeError, SMALL_LIMIT),
    "too large chunked": Scenario(BIG_CHUNKED, _users, cf.ResponseTooLargeError, SMALL_LIMIT),
    "html write": Scenario(HTML, _submit, cf.ResponseValidationError),
    "wrong shape openapi": Scenario(
        Reply(body=b'{"id": 1}'), endpoint("requests.list"), cf.ResponseValidationError
    ),
    "invalid argument": Scenario(Reply(), lambda c: c.get_process(" "), cf.InvalidArgumentError),
    "dot segment": Scenario(Reply(), lambda c: c.requests.get("w", ".."), cf.InvalidArgumentError),
    "echo 401": Scenario(_echo(401), _wf, cf.AuthenticationError),
    "echo 500 POST": Scenario(_echo(500), _submit, cf.ServerError),
    # The chained decode error would hold the echoed body (``JSONDecodeError.doc``).
    "echo html legacy": Scenario(_echo(200), _wf, cf.ResponseValidationError),
    "echo html openapi": Scenario(_echo(200), _users, cf.ResponseValidationError),
}


def assert_exception_hides_secrets(err: BaseException, *, follow_chain: bool = False) -> None:
    for text in (str(err), repr(err), getattr(err, "message", "")):
        assert leaked(text) == [], text
    formatted = "".join(traceback.format_exception(err))
    assert leaked(formatted) == [], formatted
    # The walk goes through an attached response's request and its headers too.
    assert walk(err, follow_chain=follow_chain).leaks == []


def refused_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


@pytest.mark.integration
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_exceptions_and_log_records_hide_secrets(
    kind: str, name: str, all_log_records: list[logging.LogRecord]
) -> None:
    scenario = SCENARIOS[name]
    reply = scenario.reply
    handler = reply if callable(reply) else lambda seen: reply or Reply()
    async with Loopback(handler) as server:
        url = server.url if reply is not None else refused_url()
        async with make_client(kind, url, **scenario.options) as client:
            with pytest.raises(CflowError) as info:
                await scenario.call(client)
    err = info.value
    assert type(err) is scenario.expected, repr(err)
    if scenario.expected not in (cf.InvalidArgumentError, CflowError) and reply is not None:
        # The secrets were really in play: the server received them.
        assert server.seen[0].header("apikey") == API_KEY
    # The walk also goes through the exceptions chained under it (``__cause__``/``__context__``:
    # the httpx error a caller's own client attaches its request to, aiohttp's
    # ClientResponseError and its ``request_info``).
    assert_exception_hides_secrets(err, follow_chain=True)
    if isinstance(err, CflowAPIError):
        assert err.response.request.headers.get("apikey") == "[redacted]"
        assert err.response.request.headers.get("userkey") == "[redacted]"
    assert_no_log_record_leaks(all_log_records)
    if name == "500 GET retried":
        # The capture really saw the libraries talk, at DEBUG and above.
        names = {r.name for r in all_log_records}
        assert any(
            r.name == "cflow_async" and "Retrying" in r.getMessage() for r in all_log_records
        )
        if kind == "httpx":
            assert any(n.startswith("httpcore") for n in names)
            assert any(r.levelno == logging.DEBUG for r in all_log_records)
        if kind == "injected":
            assert "httpx" in names


@pytest.mark.parametrize("field", ["api_key", "user_key", "username"])
@pytest.mark.parametrize("bad", ["\r\nx-evil: 1", "\x00", "\u00e9", "\x7f", "\t"])
def test_refused_credentials_are_not_echoed(
    field: str, bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = API_KEY + bad
    # The environment cannot hold a NUL byte.
    for how in ("argument",) if "\x00" in bad else ("argument", "environment"):
        creds = dict(CREDS)
        if how == "argument":
            creds[field] = value
        else:
            del creds[field]
            monkeypatch.setenv("CFLOW_" + field.upper(), value)
        with pytest.raises(ValueError, match=field) as info:
            CflowClient(**creds)
        assert_exception_hides_secrets(info.value)


def test_missing_credentials_error_hides_the_ones_given() -> None:
    with pytest.raises(ValueError, match="user_key") as info:
        CflowClient(api_key=API_KEY, username=USERNAME)
    assert_exception_hides_secrets(info.value)
