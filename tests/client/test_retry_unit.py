"""Unit tests of the retry rules (issue "Resilience"), without sockets.

Two ways to stand in for the network:

* ``trusted``: httpx's own transport (``http_backend="httpx"``) with its
  ``handle_async_request`` patched, so the client believes "never sent" claims such as
  ``httpx.ConnectError``;
* ``untrusted``: an injected ``http_client`` on ``httpx.MockTransport``, whose exception
  types prove nothing about whether a request reached the server.

Responses are streamed (not preloaded) so the tests exercise the retry rules; preloaded
bodies have their own test (``test_injected_client_takes_preloaded_answers_and_is_left_open``).
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib.util
import json
import logging
import math
import pickle
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cflow_openapi.api.requests import create_request
from cflow_openapi.api.users import list_users
from cflow_openapi.models import RequestCreate
from conftest import API_KEY, CREDS, FAST_RETRY, USER_KEY, USERNAME, RecordingAsyncio
from endpoints import USER_JSON, Endpoint, by_name, endpoint, one_per_route_kind, select

from cflow_async import (
    AuthenticationError,
    BadRequestError,
    CflowAPIError,
    CflowClient,
    CflowConnectionError,
    CflowError,
    CflowTimeoutError,
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    RetryBudget,
    RetryPolicy,
    ServerError,
    UnprocessableEntityError,
)

DEMO = "demo@sandbox.local"
WORKFLOWS_JSON = {"Workflows": [{"WorkflowName": "Test", "WorkflowDisplayName": "Test"}]}
USERS_JSON = [USER_JSON | {"id": "1", "username": DEMO, "email": DEMO}]
UNKNOWN_HINT = "outcome is unknown"
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)


# --- a scripted server -------------------------------------------------------------------------


async def _streamed(data: bytes) -> AsyncIterator[bytes]:
    """A body that is streamed, like a network transport's (``content=bytes`` is preloaded)."""
    if data:
        yield data


def streamed(
    status: int, body: Any = None, headers: dict[str, Any] | None = None
) -> httpx.Response:
    data = b"" if body is None else json.dumps(body).encode()
    all_headers = {"content-type": "application/json", "content-length": str(len(data))}
    all_headers.update({name: str(value) for name, value in (headers or {}).items()})
    return httpx.Response(status, headers=all_headers, content=_streamed(data))


@dataclass(frozen=True)
class HttpDate:
    """A Retry-After HTTP date ``seconds`` from the moment the answer is sent (a header is
    turned into text then, so the dates in a table do not age while the suite runs)."""

    seconds: float

    def __str__(self) -> str:
        return email.utils.formatdate(time.time() + self.seconds, usegmt=True)


#: One scripted answer: a status, (status, headers), an httpx exception class, or "ok".
Step = int | tuple[int, dict[str, Any]] | type[Exception] | str


@dataclass
class Server:
    """Answers request n with step n (then with ``then``) and records every request. "ok"
    answers with ``ok``: by default the users for /users, the workflows otherwise."""

    steps: list[Step]
    ok: tuple[int, Any] | None = None
    then: Step = "ok"
    latency: float = 0.0
    requests: list[httpx.Request] = field(default_factory=list)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        step = self.steps.pop(0) if self.steps else self.then
        if step == "ok":
            users = request.url.path.endswith("/users")
            return streamed(*(self.ok or (200, USERS_JSON if users else WORKFLOWS_JSON)))
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("scripted failure")
        status, headers = step if isinstance(step, tuple) else (step, {})
        return streamed(status, {"message": f"scripted {status}"}, headers)


def _status(step: Step) -> int:
    return step[0] if isinstance(step, tuple) else step  # type: ignore[return-value]


Trusted = Callable[..., Server]
Scripted = Callable[..., tuple[Server, CflowClient]]


@pytest.fixture
def trusted(monkeypatch: pytest.MonkeyPatch) -> Trusted:
    """Install a scripted server behind httpx's own transport (the ``client`` fixture)."""

    def install(steps: list[Step], **kwargs: Any) -> Server:
        server = Server(steps, **kwargs)
        monkeypatch.setattr(
            httpx.AsyncHTTPTransport, "handle_async_request", lambda _, r: server.handle(r)
        )
        return server

    return install


@pytest.fixture
def scripted(trusted: Trusted) -> Scripted:
    """A scripted server, and a client reaching it through ``transport``: "httpx" (trusted)
    or "injected" (untrusted: an http_client on ``httpx.MockTransport``)."""

    def make(
        steps: list[Step], *, transport: str, retry: RetryPolicy = FAST_RETRY, **kwargs: Any
    ) -> tuple[Server, CflowClient]:
        if transport == "httpx":
            return trusted(steps, **kwargs), CflowClient(**CREDS, http_backend="httpx", retry=retry)
        server = Server(steps, **kwargs)
        http_client = httpx.AsyncClient(transport=httpx.MockTransport(server.handle))
        return server, CflowClient(**CREDS, http_client=http_client, retry=retry)

    return make


# --- the operations under test -----------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """A call straight through the generated layer (``client.openapi``): the catalog's
    Endpoint protocol (``name``, ``method``, ``ok``, called with the client)."""

    name: str
    method: str
    call: Callable[[CflowClient], Awaitable[Any]]
    ok: tuple[int, Any]

    def __str__(self) -> str:
        return self.name

    def __call__(self, client: CflowClient) -> Awaitable[Any]:
        return self.call(client)


NEW_REQUEST = RequestCreate.from_dict({"fields": {"Name": "x"}})
LIST_USERS = Generated(
    "openapi.list_users",
    "GET",
    lambda c: list_users.asyncio_detailed(client=c.openapi),
    (200, USERS_JSON),
)
CREATE_REQUEST = Generated(
    "openapi.create_request",
    "POST",
    lambda c: create_request.asyncio_detailed("Test", client=c.openapi, body=NEW_REQUEST),
    endpoint("requests.create").ok,
)
Op = Endpoint | Generated
GET_WORKFLOWS, PUT_REQUEST, SUBMIT = by_name("get_workflows", "requests.update", "submit_record")

#: Not duplicated by a repeat: one facade call per request path (legacy and OpenAPI GET,
#: PUT, DELETE), and the generated layer.
IDEMPOTENT_OPS: list[Op] = [*(ep for ep in one_per_route_kind() if not ep.writes), LIST_USERS]
#: Every facade write (``may_duplicate``), and one through the generated layer.
POST_OPS: list[Op] = [*select(writes=True), CREATE_REQUEST]

RETRYABLE_STATUSES = [408, 429, 500, 502, 503, 504]
NEVER_RETRIED_STATUSES = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
}
# Raised before a connection exists: through a trusted transport, nothing was sent.
NEVER_SENT_FAILURES = [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout]
# Raised once the request may have reached the server: a POST must not be sent again.
LOST_ANSWER_FAILURES = [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError]
POST_AMBIGUOUS_FAILURES = [*LOST_ANSWER_FAILURES, httpx.WriteTimeout, httpx.WriteError]
IDEMPOTENT_FAILURES: list[Step] = [*RETRYABLE_STATUSES, *NEVER_SENT_FAILURES, *LOST_ANSWER_FAILURES]
#: The first backoff of FAST_RETRY: 1 ms, less up to 25% jitter.
BACKOFF = (0.75 * FAST_RETRY.initial_backoff, FAST_RETRY.initial_backoff)


def _expected_error(step: Step) -> type[CflowError]:
    if isinstance(step, type):
        timeout = issubclass(step, httpx.TimeoutException)
        return CflowTimeoutError if timeout else CflowConnectionError
    status = _status(step)
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return NEVER_RETRIED_STATUSES.get(status, CflowAPIError)


def _name(step: Step) -> str:
    return step.__name__ if isinstance(step, type) else str(step)


def _assert_ok(op: Op, result: Any) -> None:
    """``result`` is ``op``'s parsed success answer (``op.ok``)."""
    if isinstance(op, Generated):
        assert result.status_code == op.ok[0]
        assert result.parsed
        return
    assert op.check(result)
    if op.returns is str:
        assert result == "44"  # the Record_Id of the canned answer
    elif op.ok_body is not None:
        assert result


# --- RetryPolicy, with_options, argument checks -------------------------------------------------


async def test_defaults_are_the_default_policy_and_a_budget() -> None:
    expected = RetryPolicy(
        max_retries=2, initial_backoff=0.5, max_backoff=8.0, max_retry_after=60, deadline=None
    )
    assert RetryPolicy() == expected
    assert not hasattr(expected, "budget_max_tokens"), "the budget is sized on the client"
    async with CflowClient(**CREDS, http_backend="httpx") as cflow:
        assert cflow.retry == expected
        budget = cflow.retry_budget
        assert budget is cflow._transport.budget, "the public budget is the one in use"
        assert isinstance(budget, RetryBudget)
        assert budget.max_tokens == 20 > 0  # a retry budget is on by default
        assert "tokens=20" in repr(budget)


BAD_SIZES = [-1, "3", True, float("nan")]
BAD_ARGUMENTS: list[tuple[Callable[[], object], str]] = [
    *[(lambda bad=bad: RetryBudget(max_tokens=bad), "RetryBudget") for bad in BAD_SIZES],
    *[
        (
            lambda bad=bad: CflowClient(**CREDS, retry_budget=bad),
            "retry_budget must be a RetryBudget",
        )
        for bad in BAD_SIZES
    ],
    *[
        (lambda field=field: RetryPolicy(**{field: -1}), field)
        for field in ["max_retries", "initial_backoff", "max_backoff", "max_retry_after"]
    ],
    (lambda: RetryPolicy(deadline=0), "deadline"),
    *[
        (lambda bad=bad: CflowClient(**CREDS, http_backend="httpx", timeout=bad), "timeout")
        for bad in [0, -1, True, "5"]
    ],
    (lambda: CflowClient(**CREDS, http_backend="httpx").with_options(retry=3), "retry"),
    (lambda: CflowClient(**CREDS, http_backend="curl"), "valid backends"),
    (
        lambda: CflowClient(**CREDS, http_backend="httpx", http_client=httpx.AsyncClient()),
        "not both",
    ),
]


@pytest.mark.parametrize(("make", "match"), BAD_ARGUMENTS)
def test_bad_arguments_are_refused(make: Callable[[], object], match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        make()


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=5.0)
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (10, 5.0)]:
        for _ in range(50):
            assert 0.75 * ceiling <= policy.backoff(retry) <= ceiling


def test_the_default_backend_is_aiohttp_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert CflowClient(**CREDS).http_backend == "aiohttp"
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "aiohttp" else real(name)
    )
    assert CflowClient(**CREDS).http_backend == "httpx"


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
async def test_with_options_is_a_light_copy_sharing_pool_and_budget(backend: str) -> None:
    budget = RetryBudget(max_tokens=4, token_ratio=0.25)
    cflow = CflowClient(
        **CREDS,
        http_backend=backend,  # type: ignore[arg-type]
        retry=FAST_RETRY,
        retry_budget=budget,
    )
    inner = cflow._transport.inner
    other = RetryPolicy(max_retries=5, initial_backoff=0.01)
    copy = cflow.with_options(retry=other, timeout=3)

    assert copy is not cflow
    assert copy._transport.inner is inner
    assert cflow.retry_budget is budget
    assert copy.retry_budget is budget
    assert copy.retry == other
    assert cflow.retry == FAST_RETRY
    assert copy.timeout == httpx.Timeout(3.0)
    assert cflow.timeout == DEFAULT_TIMEOUT
    assert copy.http_backend == cflow.http_backend

    # Only a retry policy: the timeout is kept, and vice versa.
    assert cflow.with_options(retry=other).timeout == cflow.timeout
    assert cflow.with_options(timeout=7).retry == cflow.retry


async def test_with_options_policy_and_timeout_apply_to_both_layers(trusted: Trusted) -> None:
    server = trusted([503, 503], ok=(200, USERS_JSON))
    async with CflowClient(**CREDS, http_backend="httpx", retry=FAST_RETRY) as cflow:
        strict = cflow.with_options(retry=RetryPolicy(max_retries=0), timeout=2.5)
        with pytest.raises(ServerError) as info:
            await strict.users.list()
        assert info.value.attempts == 1
        with pytest.raises(ServerError):
            await list_users.asyncio_detailed(client=strict.openapi)
        response = await list_users.asyncio_detailed(client=strict.openapi)
        assert response.status_code == 200
    assert len(server.requests) == 3
    for request in server.requests:
        assert request.extensions["timeout"] == httpx.Timeout(2.5).as_dict()


# --- what is retried, and how long it waits: one loop for the facade and the generated layer ---


@dataclass(frozen=True)
class Retried:
    """``op`` meets ``step`` once, waits a delay within ``delay``, and its one retry succeeds."""

    op: Op
    step: Step
    delay: tuple[float, float] = BACKOFF
    transport: str = "httpx"

    def __str__(self) -> str:
        return f"{self.op}-{_name(self.step)}-{self.transport}"


USABLE_RETRY_AFTER = [
    ({"retry-after": "7"}, 7.0),
    ({"retry-after": "0"}, 0.0),
    ({"retry-after": "2.5"}, 2.5),
    ({"retry-after-ms": "1500"}, 1.5),
    ({"retry-after": "60"}, 60.0),  # exactly the cap is still honoured
]
RETRIED = [
    # Calls that a repeat cannot duplicate: every retryable status and transport failure.
    *[Retried(op, step) for op in IDEMPOTENT_OPS for step in IDEMPOTENT_FAILURES],
    # A POST only when the server certainly did not act: it was never sent, or got a 429.
    *[Retried(op, step) for op in POST_OPS for step in [*NEVER_SENT_FAILURES, 429]],
    # An injected transport's "never sent" proves nothing, but a GET or a 429 needs no proof.
    *[
        Retried(GET_WORKFLOWS, step, transport="injected")
        for step in [*NEVER_SENT_FAILURES, httpx.RemoteProtocolError, 503]
    ],
    Retried(SUBMIT, 429, transport="injected"),
    # The server's Retry-After sets the delay...
    *[
        Retried(GET_WORKFLOWS, (status, headers), (seconds, seconds))
        for status in [429, 503]
        for headers, seconds in USABLE_RETRY_AFTER
    ],
    Retried(SUBMIT, (429, {"retry-after": "3"}), (3.0, 3.0)),
    # ...as an HTTP date too: one-second resolution, plus however long the test took.
    Retried(GET_WORKFLOWS, (503, {"retry-after": HttpDate(30)}), (25.0, 31.0)),
    Retried(GET_WORKFLOWS, (503, {"retry-after": HttpDate(-3600)}), (0.0, 0.0)),  # past: now
    # Without a usable one, the policy's backoff is used.
    *[Retried(GET_WORKFLOWS, (503, {"retry-after": value})) for value in ["soon", "-5"]],
]


@pytest.mark.parametrize("case", RETRIED, ids=str)
async def test_failure_is_retried_once_then_succeeds(
    scripted: Scripted, sleeps: RecordingAsyncio, case: Retried
) -> None:
    server, cflow = scripted([case.step], ok=case.op.ok, transport=case.transport)
    async with cflow:
        _assert_ok(case.op, await case.op(cflow))
    assert [request.method for request in server.requests] == [case.op.method] * 2
    assert server.requests[0].content == server.requests[1].content  # the same body both times
    for request in server.requests:  # and the credentials
        assert [request.headers[h] for h in ("apikey", "userkey", "username")] == [*CREDS.values()]
    (delay,) = sleeps.delays
    low, high = case.delay
    assert low <= delay <= high


@dataclass(frozen=True)
class Fails:
    """``op`` meets ``step`` on each of ``attempts`` attempts, then raises (a further attempt
    would have succeeded). ``delays`` and ``retry_after`` are checked where given."""

    op: Op
    step: Step
    attempts: int
    unknown: bool = False
    transport: str = "httpx"
    retry: RetryPolicy = FAST_RETRY
    delays: tuple[float, ...] | None = None
    retry_after: tuple[float, float] | None = None

    def __str__(self) -> str:
        return f"{self.op}-{_name(self.step)}-{self.transport}-attempts={self.attempts}"


ABOVE_THE_CAP = [  # each Retry-After with the value it means
    ({"retry-after": "61"}, (61.0, 61.0)),
    ({"retry-after": "3600"}, (3600.0, 3600.0)),
    ({"retry-after-ms": "61000"}, (61.0, 61.0)),
    ({"retry-after": HttpDate(7200)}, (7190.0, 7200.0)),
]
LOW_CAP = RetryPolicy(max_retry_after=5)
FAILS = [
    # Idempotent calls give up after max_retries; their outcome is known.
    *[Fails(op, step, 3) for op in [GET_WORKFLOWS, PUT_REQUEST] for step in IDEMPOTENT_FAILURES],
    Fails(LIST_USERS, 503, 3),
    *[
        Fails(GET_WORKFLOWS, step, 1, retry=RetryPolicy(max_retries=0))
        for step in [503, httpx.ConnectError, httpx.ReadTimeout]
    ],
    # A POST that was never sent, or got a 429, is retried like a GET.
    *[Fails(SUBMIT, step, 3) for step in [*NEVER_SENT_FAILURES, 429]],
    # Client errors are never retried, whatever the method; nor is a POST's 408.
    *[
        Fails(op, status, 1)
        for op in IDEMPOTENT_OPS + POST_OPS[::2]
        for status in NEVER_RETRIED_STATUSES
    ],
    Fails(SUBMIT, 408, 1),
    # A POST that may have reached the server (a 5xx, or lost on the way back) is not sent
    # again, and its outcome is unknown.
    *[
        Fails(op, step, 1, unknown=True)
        for op in POST_OPS
        for step in [500, 502, 503, 504, *POST_AMBIGUOUS_FAILURES]
    ],
    # Any 5xx to a write may come after the server acted (a 524 is an origin timeout).
    *[Fails(SUBMIT, status, 1, unknown=True) for status in [501, 505, 507, 520, 524, 599]],
    # Through an injected transport no "never sent" claim is trusted.
    *[Fails(SUBMIT, step, 1, unknown=True, transport="injected") for step in NEVER_SENT_FAILURES],
    # A Retry-After above max_retry_after raises at once (the generated layer too)...
    *[
        Fails(op, (status, headers), 1, retry_after=meaning if status == 429 else None)
        for op, status in [
            (GET_WORKFLOWS, 429),
            (GET_WORKFLOWS, 503),
            (LIST_USERS, 503),
            (SUBMIT, 429),
        ]
        for headers, meaning in ABOVE_THE_CAP
    ],
    # ...and so does one above the policy's own cap, or one the deadline would cut short.
    Fails(GET_WORKFLOWS, (429, {"retry-after": "10"}), 1, retry=LOW_CAP, retry_after=(10, 10)),
    Fails(GET_WORKFLOWS, (503, {"retry-after": "30"}), 1, retry=RetryPolicy(deadline=5.0)),
    # A RateLimitError still carries the Retry-After when the retries run out.
    Fails(GET_WORKFLOWS, (429, {"retry-after": "2"}), 3, delays=(2.0, 2.0), retry_after=(2, 2)),
]


@pytest.mark.parametrize("case", FAILS, ids=str)
async def test_failure_ends_the_call_after_its_attempts(
    scripted: Scripted, sleeps: RecordingAsyncio, case: Fails
) -> None:
    steps = [case.step] * case.attempts
    server, cflow = scripted(steps, ok=case.op.ok, transport=case.transport, retry=case.retry)
    async with cflow:
        assert cflow.http_backend == ("custom" if case.transport == "injected" else "httpx")
        with pytest.raises(_expected_error(case.step)) as info:
            await case.op(cflow)
    error = info.value
    assert error.attempts == case.attempts
    assert len(server.requests) == case.attempts
    assert len(sleeps.delays) == case.attempts - 1
    assert error.outcome_unknown is case.unknown
    assert (UNKNOWN_HINT in str(error)) is case.unknown
    if not isinstance(case.step, type):
        assert error.status_code == _status(case.step)
    if case.delays is not None:
        assert sleeps.delays == list(case.delays)
    if case.retry_after is not None:
        low, high = case.retry_after
        assert low <= error.retry_after <= high


def _mock(
    status: int, retry: RetryPolicy | None = None, **response: Any
) -> tuple[list[httpx.Request], httpx.AsyncClient, CflowClient]:
    """A client on an httpx.MockTransport answering every request with a preloaded
    ``httpx.Response(status, **response)``, and the list of requests it saw."""
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(status, **response))
    http = httpx.AsyncClient(transport=transport)
    return seen, http, CflowClient(**CREDS, http_client=http, retry=retry)


async def test_injected_client_takes_preloaded_answers_and_is_left_open() -> None:
    """The brief's own recipe: a MockTransport handler returning ``httpx.Response(...)`` with
    ``json=``. httpx reads such a body at construction, so the transport must accept a
    response whose content is already in memory."""
    seen, http_client, cflow = _mock(200, FAST_RETRY, json=WORKFLOWS_JSON)
    async with cflow:
        workflows = await cflow.get_workflows()
    assert [w.name for w in workflows] == ["Test"]
    assert seen[0].headers["apikey"] == API_KEY
    assert not http_client.is_closed
    await http_client.aclose()


def test_a_light_copy_shares_the_client_s_event_loop_binding() -> None:
    seen, _, cflow = _mock(200, json=WORKFLOWS_JSON)
    assert [w.name for w in asyncio.run(cflow.get_workflows())] == ["Test"]
    # A light copy (with_options) shares the binding (the client's own is test_request_path's).
    with pytest.raises(CflowError, match="another event loop"):
        asyncio.run(cflow.with_options(timeout=3).get_workflows())
    assert len(seen) == 1


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "\ud800", {"a": {"b": {1, 2}}}])
async def test_values_json_cannot_carry_are_refused_before_sending(value: Any) -> None:
    seen, http, cflow = _mock(200, json={"Record_Id": "1"})
    with pytest.raises(InvalidArgumentError):
        await cflow.submit_record("Test", {"Amount": value})
    with pytest.raises(InvalidArgumentError):
        await cflow.requests.create("Test", {"Amount": value})
    assert seen == []
    await http.aclose()


async def test_direct_generated_calls_stay_typed_and_async_only() -> None:
    seen, http, cflow = _mock(200, text="<html>maintenance</html>")
    with pytest.raises(ResponseValidationError, match="maintenance"):
        await list_users.asyncio(client=cflow.openapi)
    # The generated sync functions would bypass the request path: they refuse.
    with pytest.raises(CflowError, match="async-only"):
        list_users.sync(client=cflow.openapi)
    assert len(seen) == 1
    await http.aclose()


async def test_errors_survive_pickling() -> None:
    _, http, cflow = _mock(429, headers={"retry-after": "120"}, json={"message": "slow down"})
    with pytest.raises(CflowError) as info:
        await cflow.get_workflows()
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is type(info.value)
    assert str(copy) == str(info.value)
    assert copy.status_code == 429  # type: ignore[attr-defined]
    assert copy.retry_after == 120  # type: ignore[attr-defined]
    assert copy.body == {"message": "slow down"}  # type: ignore[attr-defined]
    assert copy.response.request.headers["apikey"] == "[redacted]"  # type: ignore[attr-defined]
    await http.aclose()


# --- the retry budget --------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [503, httpx.ConnectError])
async def test_retry_budget_caps_attempts_when_everything_fails(
    scripted: Scripted, sleeps: RecordingAsyncio, failure: Step
) -> None:
    server, cflow = scripted([], then=failure, transport="injected")
    calls = 300
    async with cflow:
        for _ in range(calls):
            with pytest.raises(CflowError):
                await cflow.get_workflows()
        assert len(server.requests) <= 1.2 * calls
        # Retries did happen at first: the budget is not simply off.
        assert len(server.requests) > calls

        # While drained, a failure is not retried even though the next attempt would work.
        server.then = "ok"
        server.steps = [failure]
        with pytest.raises(CflowError) as info:
            await cflow.get_workflows()
        assert info.value.attempts == 1

        # Successes refill the bucket, and retries come back.
        for _ in range(100):
            await cflow.get_workflows()
        before = len(server.requests)
        server.steps = [failure]
        assert await cflow.get_workflows()
        assert len(server.requests) - before == 2, "no retry after the budget refilled"


async def test_retry_budget_caps_attempts_under_concurrency_and_logs_it(
    scripted: Scripted, sleeps: RecordingAsyncio, caplog: pytest.LogCaptureFixture
) -> None:
    server, cflow = scripted([], then=503, transport="injected")
    calls = 300
    async with cflow:
        with caplog.at_level(logging.INFO, logger="cflow_async"):
            results = await asyncio.gather(
                *(cflow.get_workflows() for _ in range(calls)), return_exceptions=True
            )
    assert all(isinstance(r, ServerError) for r in results)
    assert len(server.requests) <= 1.2 * calls
    assert sum(r.attempts for r in results if isinstance(r, ServerError)) == len(server.requests)
    messages = [r.getMessage() for r in caplog.records if r.name == "cflow_async"]
    assert any("budget" in m for m in messages)


def test_retry_budget_bucket() -> None:
    budget = RetryBudget(max_tokens=10, token_ratio=0.5)
    assert budget.allows_retry()
    for _ in range(5):
        budget.record_failure()
    assert not budget.allows_retry()  # 5 tokens left: not more than half
    budget.record_success()
    assert budget.allows_retry()
    for _ in range(100):
        budget.record_success()
    assert budget.tokens == 10
    for _ in range(100):
        budget.record_failure()
    assert budget.tokens == 0
    off = RetryBudget(max_tokens=0, token_ratio=0.5)
    off.record_failure()
    assert off.allows_retry()


# --- attempts and logging ----------------------------------------------------------------------


def _retry_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    ours = [r for r in caplog.records if r.name == "cflow_async"]
    return [r for r in ours if r.getMessage().startswith("Retrying")]


def _assert_no_secrets(text: str) -> None:
    for secret in (API_KEY, USER_KEY, "S3CRET", USERNAME, "tester", "username=", "WorkflowName="):
        assert secret not in text, f"{secret!r} leaked into {text!r}"
    assert "?" not in text, f"a query string leaked into {text!r}"


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (503, "503"),
        (429, "429"),
        (httpx.ConnectError, "scripted failure"),
        ((503, {"retry-after": "4.25"}), "4.25"),  # the delay
    ],
)
async def test_each_retry_logs_one_info_line_without_secrets(
    client: CflowClient,
    trusted: Trusted,
    sleeps: RecordingAsyncio,
    caplog: pytest.LogCaptureFixture,
    step: Step,
    reason: str,
) -> None:
    trusted([], then=step)
    with caplog.at_level(logging.INFO, logger="cflow_async"), pytest.raises(CflowError) as info:
        await client.get_workflows()
    assert info.value.attempts == 3
    lines = _retry_lines(caplog)
    assert len(lines) == info.value.attempts - 1
    for number, record in enumerate(lines, start=2):
        assert record.levelno == logging.INFO
        message = record.getMessage()
        assert "GET" in message
        assert "/integromat/api/cflow/getworkflows" in message
        assert f"attempt {number}" in message
        assert reason in message
        assert any(ch.isdigit() for ch in message.split(" in ", 1)[1])  # the delay
        _assert_no_secrets(message)
    _assert_no_secrets(str(info.value))
    _assert_no_secrets(repr(info.value))


async def test_post_retry_logs_without_body_or_secrets_and_a_success_logs_none(
    client: CflowClient, trusted: Trusted, caplog: pytest.LogCaptureFixture
) -> None:
    trusted([httpx.ConnectError], ok=SUBMIT.ok)
    with caplog.at_level(logging.INFO, logger="cflow_async"):
        await client.submit_record("Test", {"Name": "marker-value-123"})
        (line,) = _retry_lines(caplog)
        caplog.clear()
        await client.submit_record("Test", {"Name": "no-retry"})
        assert _retry_lines(caplog) == []
    message = line.getMessage()
    assert "POST" in message
    assert "/integromat/api/cflow/submitrecord" in message
    assert "marker-value-123" not in message
    _assert_no_secrets(message)


# --- timeouts and the deadline -----------------------------------------------------------------


@pytest.mark.parametrize("op", [GET_WORKFLOWS, LIST_USERS, SUBMIT], ids=str)
async def test_deadline_bounds_a_slow_call(trusted: Trusted, op: Op) -> None:
    server = trusted([], ok=op.ok, latency=30.0)
    policy = RetryPolicy(initial_backoff=0.001, max_backoff=0.005, deadline=0.3)
    async with CflowClient(**CREDS, http_backend="httpx", retry=policy) as cflow:
        with pytest.raises(CflowTimeoutError) as info:
            await op(cflow)
    # Not a clock reading: without the deadline the 30 s read timeout would end the call,
    # and its message would name the read timeout, not the deadline.
    assert "deadline" in str(info.value)
    assert info.value.outcome_unknown is (op.method == "POST")
    assert len(server.requests) == 1


async def test_deadline_bounds_all_attempts_together(trusted: Trusted) -> None:
    # Each attempt takes 0.4 s and fails with 503; the deadline cuts the second one.
    server = trusted([], then=503, latency=0.4)
    policy = RetryPolicy(initial_backoff=0.001, max_backoff=0.005, max_retries=10, deadline=0.6)
    async with CflowClient(**CREDS, http_backend="httpx", retry=policy) as cflow:
        with pytest.raises(CflowTimeoutError) as info:
            await cflow.get_workflows()
    assert len(server.requests) >= 2
    # The error reports the attempts made, like every other error.
    assert info.value.attempts == len(server.requests)


# --- cancelling and closing during a backoff ---------------------------------------------------


async def test_cancelling_during_backoff_propagates(trusted: Trusted) -> None:
    server = trusted([503])
    policy = RetryPolicy(initial_backoff=30.0, max_backoff=30.0)
    async with CflowClient(**CREDS, http_backend="httpx", retry=policy) as cflow:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(cflow.get_workflows(), 0.2)
        assert len(server.requests) == 1
        # The next call is unaffected.
        assert await cflow.get_workflows()


async def test_closing_during_a_backoff_stops_the_retry() -> None:
    seen, http, cflow = _mock(503, headers={"retry-after": "0.3"})
    call = asyncio.create_task(cflow.get_workflows())
    await asyncio.sleep(0.1)
    await cflow.aclose()
    with pytest.raises(CflowError, match="closed"):
        await call
    assert len(seen) == 1
    await http.aclose()
