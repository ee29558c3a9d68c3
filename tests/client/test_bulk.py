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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

import httpx
import pytest
from conftest import CREDS, FAST_RETRY
from servers import Loopback, Reply, Seen

from cflow_async import (
    BadRequestError,
    CflowClient,
    InvalidArgumentError,
    RowResult,
    ServerError,
)

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def _n(request: httpx.Request) -> int:
    """The row number a test put in the row's values."""
    return int(json.loads(request.content)["dynamicobj"]["n"])


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"Record_Id": f"R{_n(request)}"})


@contextlib.asynccontextmanager
async def mock_client(handler: Handler) -> AsyncIterator[CflowClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    try:
        async with CflowClient(**CREDS, http_client=http, retry=FAST_RETRY) as cflow:
            yield cflow
    finally:
        await http.aclose()


async def collect(stream: Any, timeout: float = 10) -> list[RowResult]:
    """All results; a deadlock fails the test instead of hanging it."""

    async def run() -> list[RowResult]:
        return [result async for result in stream]

    return await asyncio.wait_for(run(), timeout)


def rows(count: int) -> list[dict[str, Any]]:
    return [{"n": i, "Title": f"row {i}"} for i in range(count)]


async def test_sync_iterable_one_tagged_result_per_row() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        assert request.url.path.endswith("/cflow/submitrecord")
        assert request.url.params["WorkflowName"] == "Orders"
        return _ok(request)

    async with mock_client(handler) as cflow:
        results = await collect(cflow.submit_records("Orders", rows(25), concurrency=4))

    assert sorted(r.index for r in results) == list(range(25))
    for r in results:
        assert r.ok
        assert r.error is None
        assert r.record_id == f"R{r.index}"  # the result belongs to its own row


async def test_async_iterable() -> None:
    async def source() -> AsyncIterator[dict[str, Any]]:
        for row in rows(12):
            await asyncio.sleep(0)
            yield row

    async def handler(request: httpx.Request) -> httpx.Response:
        return _ok(request)

    async with mock_client(handler) as cflow:
        results = await collect(cflow.submit_records("Orders", source(), concurrency=3))

    assert sorted(r.index for r in results) == list(range(12))
    assert all(r.record_id == f"R{r.index}" for r in results)


async def test_generator_rows() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return _ok(request)

    async with mock_client(handler) as cflow:
        gen = ({"n": i} for i in range(7))
        results = await collect(cflow.submit_records("Orders", gen))

    assert sorted(r.index for r in results) == list(range(7))


async def test_empty_input_yields_nothing() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    async with mock_client(handler) as cflow:
        assert await collect(cflow.submit_records("Orders", [])) == []


async def test_failing_rows_carry_typed_errors_and_the_rest_succeed() -> None:
    attempts: dict[int, int] = {}

    async def handler(request: httpx.Request) -> httpx.Response:
        n = _n(request)
        attempts[n] = attempts.get(n, 0) + 1
        if n == 3:
            return httpx.Response(400, json={"message": "bad field"})
        if n == 5:
            return httpx.Response(500, json={"message": "oops"})
        return _ok(request)

    async with mock_client(handler) as cflow:
        results = await collect(cflow.submit_records("Orders", rows(10), concurrency=4))

    by_index = {r.index: r for r in results}
    assert sorted(by_index) == list(range(10))

    bad = by_index[3]
    assert not bad.ok
    assert bad.record_id is None
    assert isinstance(bad.error, BadRequestError)
    assert bad.error.outcome_unknown is False

    broken = by_index[5]
    assert not broken.ok
    assert isinstance(broken.error, ServerError)
    # A POST that got a 500 may have been applied: flagged, and never retried.
    assert broken.error.outcome_unknown is True
    assert attempts[5] == 1

    for i in set(range(10)) - {3, 5}:
        assert by_index[i].ok
        assert by_index[i].record_id == f"R{i}"


async def test_invalid_row_is_a_row_error_and_sends_nothing() -> None:
    sent: list[int] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        sent.append(_n(request))
        return _ok(request)

    data: list[Any] = [{"n": 0}, {"n": 1, "When": object()}, "not a mapping", {"n": 3}]
    async with mock_client(handler) as cflow:
        results = await collect(cflow.submit_records("Orders", data, concurrency=2))

    by_index = {r.index: r for r in results}
    assert sorted(by_index) == [0, 1, 2, 3]
    assert isinstance(by_index[1].error, InvalidArgumentError)
    assert isinstance(by_index[2].error, InvalidArgumentError)
    assert by_index[0].ok
    assert by_index[3].ok
    assert sorted(sent) == [0, 3]


async def test_unencodable_nested_value_does_not_hang() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return _ok(request)

    data = [{"n": 0}, {"n": 1, "Extra": {"tags": {"a", "b"}}}, {"n": 2}]
    async with mock_client(handler) as cflow:
        results = await collect(cflow.submit_records("Orders", data, concurrency=2), timeout=3)

    by_index = {r.index: r for r in results}
    assert sorted(by_index) == [0, 1, 2]
    assert isinstance(by_index[1].error, InvalidArgumentError)


async def test_error_from_the_rows_iterator_propagates() -> None:
    def source() -> Iterator[dict[str, Any]]:
        yield {"n": 0}
        yield {"n": 1}
        raise ValueError("the CSV is broken at line 3")

    async def handler(request: httpx.Request) -> httpx.Response:
        return _ok(request)

    async with mock_client(handler) as cflow:
        with pytest.raises(ValueError, match="line 3"):
            await collect(cflow.submit_records("Orders", source(), concurrency=2), timeout=3)


class _BrokenRow(Mapping[str, Any]):
    """A row whose reading fails with something other than a CflowError."""

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("this row cannot be read")

    def __len__(self) -> int:
        return 1


async def test_unexpected_error_in_a_row_propagates_instead_of_hanging() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return _ok(request)

    data: list[Any] = [{"n": 0}, _BrokenRow(), {"n": 2}]
    async with mock_client(handler) as cflow:
        with pytest.raises(RuntimeError, match="cannot be read"):
            await collect(cflow.submit_records("Orders", data, concurrency=2), timeout=3)


async def test_invalid_arguments() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    async with mock_client(handler) as cflow:
        with pytest.raises(InvalidArgumentError):
            await collect(cflow.submit_records("Orders", rows(1), concurrency=0))
        with pytest.raises(InvalidArgumentError):
            await collect(cflow.submit_records("Orders", rows(1), rate=0))


@pytest.mark.parametrize("concurrency", [1, 3, 8])
async def test_concurrency_is_bounded(concurrency: int) -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            await asyncio.sleep(0.001)
            return _ok(request)
        finally:
            in_flight -= 1

    async with mock_client(handler) as cflow:
        results = await collect(cflow.submit_records("Orders", rows(40), concurrency=concurrency))

    assert len(results) == 40
    assert peak <= concurrency
    if concurrency > 1:
        assert peak > 1  # and it does run requests side by side


async def test_rows_are_read_lazily() -> None:
    concurrency = 4
    produced = 0

    def source() -> Iterator[dict[str, Any]]:
        nonlocal produced
        for i in range(100_000):
            produced += 1
            yield {"n": i}

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        return _ok(request)

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


async def test_rate_limit_spaces_requests() -> None:
    loop = asyncio.get_running_loop()
    sent_at: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        sent_at.append(loop.time())
        return _ok(request)

    async with mock_client(handler) as cflow:
        results = await collect(cflow.submit_records("Orders", rows(10), concurrency=10, rate=50))

    assert len(results) == 10
    assert len(sent_at) == 10
    # 10 requests at 50/s: the 10th goes out no sooner than 9 x 20 ms after the first,
    # even though all 10 could have been in flight at once. A lower bound only: a slow
    # machine can make this longer, never shorter.
    assert sent_at[-1] - sent_at[0] >= 0.15


async def test_without_rate_requests_are_not_spaced() -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return _ok(request)

    async with mock_client(handler) as cflow:
        await collect(cflow.submit_records("Orders", rows(10), concurrency=10))

    assert peak == 10  # no limiter holding them back


async def test_progress_called_once_per_row() -> None:
    seen: list[RowResult] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if _n(request) == 2:
            return httpx.Response(400, json={"message": "no"})
        return _ok(request)

    async with mock_client(handler) as cflow:
        results = await collect(
            cflow.submit_records("Orders", rows(15), concurrency=4, progress=seen.append)
        )

    assert sorted(r.index for r in seen) == list(range(15))
    assert seen == results  # the same results, in the order they were yielded
    assert not next(r for r in seen if r.index == 2).ok


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


async def test_stopping_early_cancels_in_flight_work_and_client_stays_usable() -> None:
    handler = _Blocking(block_from=1)
    async with mock_client(handler) as cflow:
        stream = cflow.submit_records("Orders", rows(1000), concurrency=4)
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for result in stream:
                assert result.index == 0
                break
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


async def test_plain_break_also_cancels_in_flight_work() -> None:
    # Without aclosing(), the generator is closed when it is garbage-collected, which
    # CPython does as soon as the loop lets go of it.
    handler = _Blocking(block_from=1)
    async with mock_client(handler) as cflow:
        async for result in cflow.submit_records("Orders", rows(1000), concurrency=4):
            assert result.index == 0
            break
        await asyncio.wait_for(handler.all_cancelled.wait(), 5)
        handler.block_from = 10**9
        assert await cflow.submit_record("Orders", {"n": 1}) == "R1"


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
        CflowClient(
            **CREDS,
            base_url=server.url,
            http_backend=backend,  # type: ignore[arg-type]
            retry=FAST_RETRY,
            max_connections=4,
            timeout=10,
        ) as cflow,
    ):
        stream = cflow.submit_records("Orders", rows(500), concurrency=4)
        got = []
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for result in stream:
                got.append(result)
                if len(got) == 2:
                    break
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
