"""submit_records: one tagged RowResult per row, typed per-row errors, bounded concurrency,
lazy reading of rows, the rate limit, the progress callback, and stopping early.

Most tests use an ``httpx.MockTransport`` handler through ``http_client=``; the early-stop
test also runs on both real backends against a small loopback server, since cancelling a
request half-way through is where a real connection pool can be left broken.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from conftest import CREDS, FAST_RETRY
from servers import Loopback, Reply, Seen, make_client

from cflow_async import BadRequestError, CflowClient, InvalidArgumentError, RowResult, ServerError

#: An httpx.MockTransport handler, plain or async.
Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def _n(request: httpx.Request) -> int:
    """The row number a test put in the row's values."""
    return int(json.loads(request.content)["dynamicobj"]["n"])


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"Record_Id": f"R{_n(request)}"})


def _no_request(request: httpx.Request) -> httpx.Response:
    raise AssertionError("no request expected")


@contextlib.asynccontextmanager
async def mock_client(handler: Handler = _ok) -> AsyncIterator[CflowClient]:
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http,
        CflowClient(**CREDS, http_client=http, retry=FAST_RETRY) as cflow,
    ):
        yield cflow


async def collect(stream: Any, timeout: float = 10) -> list[RowResult]:
    """All results; a deadlock fails the test instead of hanging it."""
    async with asyncio.timeout(timeout):
        return [result async for result in stream]


async def take(stream: Any, count: int) -> list[RowResult]:
    """The first ``count`` results; then the stream is closed, stopping the run early."""
    got: list[RowResult] = []
    async with contextlib.aclosing(stream):
        async for result in stream:
            got.append(result)
            if len(got) == count:
                break
    return got


def rows(count: int) -> list[dict[str, Any]]:
    return [{"n": i, "Title": f"row {i}"} for i in range(count)]


async def _async_rows(count: int) -> AsyncIterator[dict[str, Any]]:
    for row in rows(count):
        await asyncio.sleep(0)
        yield row


INVALID_ROWS: list[Any] = [{"n": 0}, {"n": 1, "When": object()}, "not a mapping", {"n": 3}]
# An unencodable nested value must not hang the run either.
UNENCODABLE_ROWS = [{"n": 0}, {"n": 1, "Extra": {"tags": {"a", "b"}}}, {"n": 2}]
ERRORS = {400: BadRequestError, 500: ServerError}

# rows (made afresh for each run), how many, concurrency (8 is the default), the statuses
# the server answers some rows with, and the rows invalid before sending.
ROW_CASES = {
    "list": (lambda: rows(25), 25, 4, {}, set()),
    "async-iterable": (lambda: _async_rows(12), 12, 3, {}, set()),
    "empty": (lambda: [], 0, 8, {}, set()),
    "api-errors": (lambda: rows(10), 10, 4, {3: 400, 5: 500}, set()),
    "invalid-rows": (lambda: INVALID_ROWS, 4, 2, {}, {1, 2}),
    "unencodable-nested-value": (lambda: UNENCODABLE_ROWS, 3, 2, {}, {1}),
}


@pytest.mark.parametrize(
    ("data", "count", "concurrency", "statuses", "invalid"),
    ROW_CASES.values(),
    ids=ROW_CASES.keys(),
)
async def test_one_tagged_result_per_row(
    data: Callable[[], Any],
    count: int,
    concurrency: int,
    statuses: dict[int, int],
    invalid: set[int],
) -> None:
    """Rows answered with an error status fail with typed errors, invalid rows fail without
    being sent, the rest succeed; the progress callback sees every result as it is yielded."""
    attempts: Counter[int] = Counter()
    progress: list[RowResult] = []

    def handler(request: httpx.Request) -> httpx.Response:
        # Each row is one submit_record (its wire form: test_endpoint_catalog.py).
        assert request.url.params["WorkflowName"] == "Orders"
        n = _n(request)
        attempts[n] += 1
        return (
            httpx.Response(statuses[n], json={"message": "no"}) if n in statuses else _ok(request)
        )

    async with mock_client(handler) as cflow:
        stream = cflow.submit_records(
            "Orders", data(), concurrency=concurrency, progress=progress.append
        )
        results = await collect(stream, timeout=3)

    assert sorted(r.index for r in results) == list(range(count))
    assert progress == results  # the same results, in the order they were yielded
    failing = {i: ERRORS[status] for i, status in statuses.items()}
    failing.update(dict.fromkeys(invalid, InvalidArgumentError))
    for r in results:
        if r.index in failing:
            assert not r.ok
            assert r.record_id is None
            assert isinstance(r.error, failing[r.index])
            # A POST that got a 500 may have been applied: flagged, and never retried.
            assert r.error.outcome_unknown is (statuses.get(r.index) == 500)
        else:
            assert r.ok
            assert r.error is None
            assert r.record_id == f"R{r.index}"  # the result belongs to its own row
    # Invalid rows are not sent; every other row is sent exactly once.
    assert attempts == Counter(set(range(count)) - invalid)


class _BrokenRow(dict[str, Any]):
    """A row whose reading fails with something other than a CflowError."""

    def items(self) -> Any:
        raise RuntimeError("this row cannot be read")


def _broken_source() -> Iterator[dict[str, Any]]:
    yield {"n": 0}
    yield {"n": 1}
    raise ValueError("the CSV is broken at line 3")


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (_broken_source, ValueError, "line 3"),
        (lambda: [{"n": 0}, _BrokenRow(), {"n": 2}], RuntimeError, "cannot be read"),
    ],
    ids=["from-the-rows-iterator", "from-reading-a-row"],
)
async def test_unexpected_error_propagates_instead_of_hanging(
    data: Callable[[], Any], error: type[Exception], match: str
) -> None:
    async with mock_client() as cflow:
        with pytest.raises(error, match=match):
            await collect(cflow.submit_records("Orders", data(), concurrency=2), timeout=3)


# (A zero concurrency and a negative rate: tests/client/test_request_path.py.)
async def test_a_zero_rate_is_refused() -> None:
    async with mock_client(_no_request) as cflow:
        with pytest.raises(InvalidArgumentError, match="rate"):
            await collect(cflow.submit_records("Orders", rows(1), rate=0))


class _Peak:
    """A handler that takes ``delay`` to answer, noting when each request came and the most
    requests in flight at once."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.sent_at: list[float] = []
        self.in_flight = 0
        self.peak = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent_at.append(asyncio.get_running_loop().time())
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            await asyncio.sleep(self.delay)
            return _ok(request)
        finally:
            self.in_flight -= 1


async def test_rows_are_read_lazily() -> None:
    concurrency = 4
    produced = 0

    def source() -> Iterator[dict[str, Any]]:
        nonlocal produced
        for i in range(100_000):
            produced += 1
            yield {"n": i}

    handler = _Peak(delay=0)
    consumed = 0
    ahead = []
    async with mock_client(handler) as cflow:
        stream = cflow.submit_records("Orders", source(), concurrency=concurrency)
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for _ in stream:
                consumed += 1
                ahead.append(produced - consumed)
                # A slow consumer: let the workers and the reader run as far as they can.
                for _ in range(20):
                    await asyncio.sleep(0)
                if consumed == 60:
                    break

    assert consumed == 60
    # Rows waiting to be sent, rows being sent and results not yet taken are each bounded
    # by `concurrency` (plus the one row the reader holds); nowhere near the 100,000.
    assert max(ahead) <= 3 * concurrency + 1
    assert produced <= consumed + 3 * concurrency + 1


@pytest.mark.parametrize(("concurrency", "rate"), [(1, None), (3, None), (8, None), (10, 50)])
async def test_concurrency_is_bounded_and_rate_spaces_requests(
    concurrency: int, rate: float | None
) -> None:
    handler = _Peak(delay=0.01)
    async with mock_client(handler) as cflow:
        stream = cflow.submit_records("Orders", rows(10), concurrency=concurrency, rate=rate)
        results = await collect(stream)

    assert sorted(r.index for r in results) == list(range(10))
    assert len(handler.sent_at) == 10
    if rate is None:
        # At most `concurrency` requests side by side, and that many: no limiter holds
        # them back.
        assert handler.peak == concurrency
    else:
        # 10 requests at 50/s: the 10th goes out no sooner than 9 x 20 ms after the first,
        # even though all 10 could have been in flight at once. A lower bound only: a slow
        # machine can make this longer, never shorter.
        assert handler.sent_at[-1] - handler.sent_at[0] >= 0.15


class _Blocking:
    """A handler that answers rows below ``block_from`` and holds the rest until cancelled."""

    def __init__(self, block_from: int) -> None:
        self.block_from = block_from
        self.started: list[int] = []
        self.cancelled: list[int] = []
        self.all_cancelled = asyncio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        n = _n(request)
        self.started.append(n)
        if n < self.block_from:
            return _ok(request)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.append(n)
            blocked = [i for i in self.started if i >= self.block_from]
            if len(self.cancelled) == len(blocked):
                self.all_cancelled.set()
            raise
        raise AssertionError("unreachable")


@pytest.mark.parametrize("closing", ["aclosing", "plain-break"])
async def test_stopping_early_cancels_in_flight_work_and_client_stays_usable(closing: str) -> None:
    handler = _Blocking(block_from=1)
    async with mock_client(handler) as cflow:
        if closing == "aclosing":
            (first,) = await take(cflow.submit_records("Orders", rows(1000), concurrency=4), 1)
            assert first.index == 0
        else:
            # Without aclosing(), the generator is closed when it is garbage-collected, which
            # CPython does as soon as the loop lets go of it.
            async for result in cflow.submit_records("Orders", rows(1000), concurrency=4):
                assert result.index == 0
                break
            await asyncio.wait_for(handler.all_cancelled.wait(), 5)
        # Closing the stream has cancelled every request still waiting on the server.
        blocked = [n for n in handler.started if n >= 1]
        assert blocked
        assert sorted(handler.cancelled) == sorted(blocked)
        started = len(handler.started)
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(handler.started) == started  # and nothing new is sent

        # The client is still usable, for single calls and for another bulk run.
        handler.block_from = 10**9
        assert await cflow.submit_record("Orders", {"n": 7}) == "R7"
        again = await collect(cflow.submit_records("Orders", rows(5), concurrency=2))
        assert sorted(r.index for r in again) == list(range(5))


class _Holding:
    """A keep-alive loopback server's handler: submitrecord answers rows below
    ``block_from`` and holds the rest until the client gives up on them."""

    def __init__(self, block_from: int) -> None:
        self.block_from = block_from
        self.blocked = 0

    def __call__(self, seen: Seen) -> Reply:
        n = int(json.loads(seen.body)["dynamicobj"]["n"]) if seen.body else -1
        if n >= self.block_from:
            self.blocked += 1
            return Reply(hold=True)
        return Reply(body=json.dumps({"Record_Id": f"R{n}"}).encode())


@pytest.mark.integration
async def test_stopping_early_on_a_real_backend_leaves_the_pool_usable(backend: str) -> None:
    handler = _Holding(block_from=2)
    async with (
        Loopback(handler, keep_alive=True) as server,
        make_client(backend, server.url, max_connections=4, timeout=10) as cflow,
    ):
        got = await take(cflow.submit_records("Orders", rows(500), concurrency=4), 2)
        assert sorted(r.index for r in got) == [0, 1]
        assert all(r.ok for r in got)
        assert 1 <= handler.blocked <= 4

        # The cancelled requests' connections must not poison the pool (of only 4).
        handler.block_from = 10**9
        for i in range(6):
            assert await cflow.submit_record("Orders", {"n": i}) == f"R{i}"
        again = await collect(cflow.submit_records("Orders", rows(20), concurrency=4))
        assert sorted(r.index for r in again) == list(range(20))
        assert all(r.ok for r in again)
