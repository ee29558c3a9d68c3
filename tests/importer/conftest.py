"""The importer tests' scripted fake Cflow (an ``httpx.MockTransport``), a client on it, and
helpers that write a sheet, run an import and read its journal."""

from __future__ import annotations

import contextlib
import csv
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import CREDS, FAST_RETRY

from cflow_async import CflowClient, RetryBudget
from cflow_async.importer import ImportOptions, open_import
from cflow_async.importer.journal import Journal

WORKFLOW = "User Workflow"
KEY = "GoogleSheetRowNumber"
STATES = ("pending", "in_flight", "done", "failed", "unknown")


class FakeCflow:
    """Records submissions by key; ``script[key]`` may answer instead (once per entry)."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}  # record id -> values
        self.posts: Counter[str] = Counter()  # key -> submissions received
        self.script: dict[str, list[int]] = {}  # key -> statuses to answer, in order
        self.apply_anyway: set[str] = set()  # keys whose faulted submission is still applied
        self.listed: int | None = None  # the listing shows only the oldest N records
        self.retry_after = "0"  # of a scripted 429
        self.on_post: Callable[[str], None] | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path.endswith("/submitrecord"):
            values = json.loads(request.content)["dynamicobj"]
            key = str(values.get(KEY, values.get("n")))  # without a key: the "n" column
            self.posts[key] += 1
            if self.on_post is not None:
                self.on_post(key)
            statuses = self.script.get(key)
            if statuses:
                status = statuses.pop(0)
                if key in self.apply_anyway:
                    self._store(values)
                headers = {"retry-after": self.retry_after} if status == 429 else {}
                return httpx.Response(status, json={"message": "scripted"}, headers=headers)
            return httpx.Response(200, json={"Record_Id": self._store(values)})
        if request.method == "GET" and path.endswith("/getworkflows"):
            return httpx.Response(200, json=[{"id": "wf-1", "name": WORKFLOW}])
        if request.method == "GET" and path.endswith("/workflows/wf-1/requests"):
            shown = list(self.records.items())[: self.listed]
            return httpx.Response(
                200, json=[{"id": rid, "workflowId": "wf-1", "fields": v} for rid, v in shown]
            )
        return httpx.Response(404, json={"message": f"no route {path}"})

    def _store(self, values: dict[str, Any]) -> str:
        record_id = str(100 + len(self.records))
        self.records[record_id] = values
        return record_id

    def keys(self) -> Counter[str]:
        return Counter(str(v[KEY]) for v in self.records.values())


@contextlib.asynccontextmanager
async def fake_client(
    fake: FakeCflow, budget: RetryBudget | None = None
) -> AsyncIterator[CflowClient]:
    async def handle(request: httpx.Request) -> httpx.Response:
        return fake.handler(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    try:
        async with CflowClient(
            **CREDS, http_client=http, retry=FAST_RETRY, retry_budget=budget
        ) as cflow:
            yield cflow
    finally:
        await http.aclose()


class Bench:
    """A fake Cflow, a client on it, and ``rows.csv`` in the test's directory."""

    def __init__(self, fake: FakeCflow, cflow: CflowClient, tmp_path: Path) -> None:
        self.fake, self.cflow, self.tmp_path = fake, cflow, tmp_path
        self.source = tmp_path / "rows.csv"

    def sheet(self, count: int, *, change: dict[int, str] | None = None) -> Path:
        return write_csv(self.source, count, change=change)

    async def run(self, rows: Any = None, **kwargs: Any) -> Any:
        """``run()`` on ``rows``, by default the sheet."""
        return await run(self.cflow, self.source if rows is None else rows, **kwargs)

    def journal(self) -> dict[str, Any]:
        return journal_rows(self.source)


@pytest.fixture
async def imp(tmp_path: Path) -> AsyncIterator[Bench]:
    fake = FakeCflow()
    async with fake_client(fake) as cflow:
        yield Bench(fake, cflow, tmp_path)


def write_csv(path: Path, count: int, *, change: dict[int, str] | None = None) -> Path:
    """Rows 2 to ``count + 1`` of a sheet keyed by its row number; ``change`` sets cities."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Name", "Email", "City", KEY])
        for number in range(2, count + 2):
            city = (change or {}).get(number, "trichy")
            writer.writerow([f"name {number}", f"r{number}@example.com", city, number])
    return path


async def run(cflow: CflowClient, source: Any, **kwargs: Any) -> Any:
    """Open an import of ``source`` (ImportOptions ``key=KEY, settle=0`` unless told
    otherwise; ``journal``, ``rejects``, ``schema``, ``display`` go to open_import), run it,
    close it. Nothing is validated unless a schema is given: the fake has no field
    definitions."""
    names = ("journal", "rejects", "schema", "display")
    opened = {name: kwargs.pop(name, None) for name in names}
    options = ImportOptions(**{"key": KEY, "settle": 0.0, **kwargs})
    job = await open_import(cflow, WORKFLOW, source, options=options, validate=False, **opened)
    try:
        return await job.run()
    finally:
        job.close()


def open_journal(path: Any, **kwargs: Any) -> Journal:
    return Journal.open(path, **{"workflow": WORKFLOW, "key_column": KEY, "source": None, **kwargs})


def journal_rows(source: Path) -> dict[str, Any]:
    """The rows of the journal next to ``source``, by key."""
    with open_journal(str(source) + ".journal.sqlite") as journal:
        return {row.key: row for row in journal.rows_in(STATES)}
