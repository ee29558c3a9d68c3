"""Bulk submission: many rows, bounded concurrency and memory, an optional rate limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import CflowError, InvalidArgumentError
from ._values import workflow_name_text

if TYPE_CHECKING:
    from ._client import CflowClient
    from ._records import RecordSchema

__all__ = ["RowResult", "submit_records"]

_DONE = object()


@attrs.frozen
class RowResult:
    """The outcome of one row: ``record_id`` on success, else ``error``.

    ``index`` is the row's 0-based position in the input; results arrive as rows finish,
    so sort by it if you need input order.
    """

    index: int
    record_id: str | None = None
    error: CflowError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _RateLimiter:
    """Spaces calls at least ``1/rate`` seconds apart (one loop, so no lock needed)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


async def _rows(
    rows: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
) -> AsyncIterator[Mapping[str, Any]]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


def submit_records(
    client: CflowClient,
    workflow_name: str,
    rows: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
    *,
    concurrency: int = 8,
    rate: float | None = None,
    progress: Callable[[RowResult], Any] | None = None,
    validate: bool = False,
) -> AsyncIterator[RowResult]:
    """Check the arguments now (a bad one raises here, once, not once per row when
    iteration starts), then return the generator that does the work."""
    workflow_name_text(workflow_name)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidArgumentError(f"concurrency must be an int of at least 1, got {concurrency!r}")
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0
    ):
        raise InvalidArgumentError(
            f"rate must be a positive number of requests per second, got {rate!r}"
        )
    if not isinstance(rows, Iterable | AsyncIterable):
        raise InvalidArgumentError(f"rows must be iterable, got {type(rows).__name__}")
    return _submit(client, workflow_name, rows, concurrency, rate, progress, validate)


async def _submit(
    client: CflowClient,
    workflow_name: str,
    rows: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
    concurrency: int,
    rate: float | None,
    progress: Callable[[RowResult], Any] | None,
    validate: bool,
) -> AsyncIterator[RowResult]:
    # One schema for the whole run, fetched before any row; if that fails, so does the
    # run (every row would fail the same way).
    schema: RecordSchema | None = await client.record_schema(workflow_name) if validate else None
    limiter = _RateLimiter(rate) if rate is not None else None
    # Both queues are bounded, so a slow consumer or a huge input never piles rows up.
    todo: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency)
    done: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency)

    failure: list[BaseException] = []

    async def feed() -> None:
        index = 0
        try:
            async for row in _rows(rows):
                await todo.put((index, row))
                index += 1
        except Exception as exc:  # the caller's iterator failed: stop, then re-raise it
            failure.append(exc)
        for _ in range(concurrency):
            await todo.put(_DONE)

    async def work() -> None:
        try:
            while (item := await todo.get()) is not _DONE:
                index, row = item
                try:
                    # A bad row fails here, before it takes a rate-limit slot or a request.
                    values = row if schema is None else schema.prepare(row)
                    if limiter is not None:
                        await limiter.wait()
                    record_id = await client.submit_record(workflow_name, values)
                    result = RowResult(index, record_id=record_id)
                except CflowError as exc:
                    result = RowResult(index, error=exc)
                await done.put(result)
        except Exception as exc:  # not a row's outcome but a bug: stop and re-raise it
            failure.append(exc)
        await done.put(_DONE)

    tasks = [asyncio.create_task(feed())]
    tasks += [asyncio.create_task(work()) for _ in range(concurrency)]
    finished = 0
    try:
        while finished < concurrency:
            result = await done.get()
            if result is _DONE:
                finished += 1
                continue
            if progress is not None:
                progress(result)
            yield result
        if failure:
            raise failure[0]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
