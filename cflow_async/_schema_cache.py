"""The per-client cache of :class:`~cflow_async._records.RecordSchema` objects behind
``CflowClient.record_schema``: a TTL per (workflow, group_id), and one fetch shared by
concurrent callers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final

from ._errors import InvalidArgumentError
from ._records import RecordSchema

__all__ = ["DEFAULT_SCHEMA_TTL", "SchemaCache"]

DEFAULT_SCHEMA_TTL: Final = 300.0


class SchemaCache:
    """Schemas by (workflow, group_id) for ``ttl`` seconds. Concurrent callers for one key
    share one fetch, so 1,000 rows validated at once cost one request."""

    def __init__(self, ttl: float = DEFAULT_SCHEMA_TTL) -> None:
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not ttl >= 0:
            raise InvalidArgumentError(f"schema_ttl must be a number of seconds >= 0, got {ttl!r}")
        self.ttl = float(ttl)
        self._entries: dict[tuple[str, str | None], tuple[float, RecordSchema]] = {}
        self._pending: dict[tuple[str, str | None], asyncio.Task[RecordSchema]] = {}

    async def get(
        self,
        key: tuple[str, str | None],
        fetch: Callable[[], Awaitable[RecordSchema]],
        *,
        refresh: bool = False,
    ) -> RecordSchema:
        if not refresh:
            entry = self._entries.get(key)
            if entry is not None and time.monotonic() < entry[0]:
                return entry[1]
        task = self._pending.get(key)
        # A fetch under way is fresh enough even for refresh=True; one from another event
        # loop cannot be awaited here.
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.ensure_future(self._load(key, fetch))
            self._pending[key] = task
            # Retrieve the outcome even if every waiter was cancelled (no "never retrieved").
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        # shield: one waiter cancelled must not cancel the fetch the others wait for.
        return await asyncio.shield(task)

    async def _load(
        self, key: tuple[str, str | None], fetch: Callable[[], Awaitable[RecordSchema]]
    ) -> RecordSchema:
        try:
            schema = await fetch()
            self._entries[key] = (time.monotonic() + self.ttl, schema)
            return schema
        finally:
            if self._pending.get(key) is asyncio.current_task():
                del self._pending[key]

    def clear(self) -> None:
        self._entries.clear()
