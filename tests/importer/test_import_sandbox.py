"""``cflow.import_records`` (the Python API) against the loopback sandbox on both backends:
field definitions applied, and an unknown outcome settled by reconciliation through the
OpenAPI requests listing (where the sandbox, like Cflow, shows legacy records)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from cflow_async import CflowClient

pytestmark = pytest.mark.integration

KEY = "GoogleSheetRowNumber"


async def test_import_records_then_reconcile(
    sandbox: Any, sandbox_client: CflowClient, tmp_path: Path
) -> None:
    source = tmp_path / "rows.jsonl"
    lines = [{"Name": f"n{i}", "City": "trichy", KEY: str(i)} for i in range(1, 31)]
    lines[4]["Ctiy"] = "typo"  # refused by the field definitions, never sent
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    fault = {"status": 503, "act": True, "method": "POST", "path_contains": "submitrecord"}
    async with httpx.AsyncClient(base_url=sandbox.url) as admin:
        (await admin.post("/__sandbox__/faults/script", json=[fault])).raise_for_status()
        first = await sandbox_client.import_records("User Workflow", source, key=KEY)
        assert (first.submitted, first.unknown, first.rejected) == (28, 1, 1)
        second = await sandbox_client.import_records(
            "User Workflow", source, key=KEY, reconcile=True, settle=0
        )
        records = (await admin.get("/__sandbox__/records")).json()["records"]
    assert (second.reconciled, second.submitted, second.skipped) == (1, 0, 28)
    assert second.journal_counts["done"] == 29
    assert Counter(r["values"][KEY] for r in records) == Counter(
        str(i) for i in range(1, 31) if i != 5
    )
