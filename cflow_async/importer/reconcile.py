"""Finding rows whose outcome is unknown in Cflow.

A record submitted through the legacy ``submitrecord`` is, in Cflow, a request of its
workflow: the OpenAPI listing ``GET /cflow/workflows/{workflowId}/requests`` shows it
with its values as ``fields``. (Our assumption about the real server, stated in the
README; the sandbox behaves so.) With a key column that is also a field, a row is in
Cflow when a request of the workflow has ``fields[key] == value``.

The listing is fetched once per reconciliation and indexed by the key field.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

from .journal import Journal, JournalRow, key_text
from .summary import ImportSummary, UnreconciledRowsError

if TYPE_CHECKING:
    from .._client import CflowClient
    from .job import ImportOptions

__all__ = ["index_requests", "openapi_workflow_id", "settle_open_rows"]

_CONTROL_SAMPLE: Final = 50

logger = logging.getLogger("cflow_async.importer")


async def openapi_workflow_id(cflow: CflowClient, workflow_name: str) -> str:
    """The OpenAPI id of the workflow the legacy API calls ``workflow_name``.

    The legacy API names workflows, the OpenAPI one gives them ids; the OpenAPI listing
    (getWorkflows) carries both. When no workflow there has that name, the name is used
    as the id (the sandbox's ids are the names)."""
    for workflow in await cflow.workflows.list():
        names = {getattr(workflow, "name", None), getattr(workflow, "id", None)}
        if workflow_name in names:
            found = getattr(workflow, "id", None)
            if isinstance(found, str | int) and str(found):
                return str(found)
    logger.info("no OpenAPI workflow named %r; using the name as its id", workflow_name)
    return workflow_name


def _fields(request: Any) -> dict[str, Any]:
    fields = getattr(request, "fields", None)
    properties = getattr(fields, "additional_properties", None)
    if isinstance(properties, dict):
        return properties
    if isinstance(fields, dict):
        return fields
    return {}


async def index_requests(
    cflow: CflowClient, workflow_name: str, field: str
) -> dict[str, list[str]]:
    """``{key_text(fields[field]): [request ids]}`` over the workflow's requests: the
    journal's form of a key, so a value Cflow stores as ``"3 "`` is found as ``"3"``."""
    workflow_id = await openapi_workflow_id(cflow, workflow_name)
    # A listing the models cannot read is the request path's ResponseValidationError.
    requests = await cflow.requests.list(workflow_id)
    index: dict[str, list[str]] = {}
    for request in requests:
        value = _fields(request).get(field)
        if value is None:
            continue
        request_id = getattr(request, "id", None)
        index.setdefault(key_text(value), []).append(
            "" if request_id is None or not isinstance(request_id, str | int) else str(request_id)
        )
    return index


async def settle_open_rows(
    cflow: CflowClient,
    workflow: str,
    journal: Journal,
    options: ImportOptions,
    note: Callable[[str], None],
    summary: Callable[[], ImportSummary],
) -> set[str]:
    """Before reading: make the rows an earlier run left ``in_flight`` or ``unknown``
    ``done`` (found in Cflow) or ``pending`` (not found, or ``resubmit_unknown``).
    Returns the keys found."""
    open_rows = journal.rows_in(("in_flight", "unknown"))
    if not open_rows:
        return set()
    keys = [row.key for row in open_rows]
    if options.resubmit_unknown:
        note(f"resubmitting {len(keys)} rows whose outcome is unknown, as asked")
        with journal.transaction():
            journal.mark_pending(keys)
        return set()
    if options.key is None:
        raise UnreconciledRowsError(
            f"{len(keys)} rows may or may not be in Cflow, and without --key there is"
            " nothing to look them up by: check them by hand, then run again with"
            " --resubmit-unknown to send those not found",
            summary(),
            keys,
        )
    # A positive control: the rows the journal most recently knew were done must all be
    # in the listing. If one is missing, the listing lags behind, is partial, or does not
    # show our records by this field, and "not found" would mean nothing: refuse rather
    # than send rows again. The most recent ones, as those a lagging listing misses.
    control = [row.key for row in journal.latest_done(_CONTROL_SAMPLE)]
    if not control and options.settle <= 0:
        raise UnreconciledRowsError(
            f"no row of this journal is known to be in Cflow to check the requests listing"
            f" against, and --settle is 0: nothing tells whether the {len(keys)} rows of"
            " unknown outcome are missing from Cflow or not yet listed. Run again with"
            " --settle SECONDS, or check them by hand and use --resubmit-unknown",
            summary(),
            keys,
        )
    await _wait_to_settle(open_rows, options.settle, note)
    field = options.mapping.get(options.key, options.key)
    index = await index_requests(cflow, workflow, field)
    missed = [key for key in control if key not in index]
    if missed:
        raise UnreconciledRowsError(
            f"the requests listing does not show {len(missed)} of the {len(control)} rows"
            f" this journal most recently recorded in Cflow (looked up by field {field!r};"
            f" e.g. {missed[:3]}), so it cannot tell whether the {len(keys)} rows of"
            " unknown outcome are there",
            summary(),
            keys,
        )
    if not control:
        note(
            f"no row of this journal is known to be in Cflow to check the listing against:"
            f" rows not found are taken as not in Cflow only because --settle"
            f" {options.settle:g} s have passed since they were sent"
        )
    found: list[tuple[str, str | None]] = []
    missing: list[str] = []
    for key in keys:
        ids = index.get(key)
        if ids:
            found.append((key, ids[0] or None))
            if len(ids) > 1:
                note(f"key {key!r} is in Cflow {len(ids)} times (ids {ids})")
        else:
            missing.append(key)
    with journal.transaction():
        journal.mark_done(found)
        journal.mark_pending(missing)
    note(
        f"reconciled {len(keys)} rows: {len(found)} found in Cflow,"
        f" {len(missing)} not found (sent once more)"
    )
    return {key for key, _ in found}


async def _wait_to_settle(
    open_rows: Sequence[JournalRow], settle: float, note: Callable[[str], None]
) -> None:
    # A request the previous process sent just before it died may still be on its way or
    # being processed; looking too early would miss it and send the row again.
    latest = max(row.updated_at for row in open_rows)
    told = False
    # A loop, not one sleep: a sleep may end early (a clock step), and the rule is that
    # the listing is read only once ``settle`` seconds have passed.
    while (wait := settle - (time.time() - latest)) > 0:
        if not told:
            note(f"waiting {wait:.0f} s for the previous run's requests to land")
            told = True
        await asyncio.sleep(wait)
