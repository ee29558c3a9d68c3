"""The importer's Python API: ``open_import`` (a job to run) and ``import_records``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._errors import InvalidArgumentError
from .job import ImportJob
from .journal import Journal
from .options import ImportOptions, RecordSchema
from .readers import estimate_rows, read_rows, source_identity
from .rejects import RejectsFile
from .summary import ImportSummary

if TYPE_CHECKING:
    from .._client import CflowClient
    from .progress import ProgressDisplay

__all__ = ["import_records", "open_import"]

Rows = str | os.PathLike[str] | Iterable[Mapping[str, Any]]


def _numbered(rows: Iterable[Mapping[str, Any]]) -> Iterable[tuple[int, Mapping[str, Any]]]:
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            raise InvalidArgumentError(f"row {number} is a {type(row).__name__}, not a mapping")
        yield number, row


def _check(options: ImportOptions) -> None:
    concurrency = options.concurrency
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidArgumentError(f"concurrency must be an int of at least 1, got {concurrency!r}")
    rate = options.rate
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0
    ):
        raise InvalidArgumentError(f"rate must be a positive number per second, got {rate!r}")
    if options.reconcile and options.resubmit_unknown:
        raise InvalidArgumentError("give reconcile or resubmit_unknown, not both")
    if options.settle < 0:
        raise InvalidArgumentError("settle must be 0 or more seconds")


async def _schema_for(cflow: CflowClient, workflow: str) -> RecordSchema | None:
    # Field-aware records (cflow.record_schema) may not be in this build; without them
    # values go as read.
    record_schema = getattr(cflow, "record_schema", None)
    if record_schema is None:
        return None
    schema: RecordSchema = await record_schema(workflow)
    return schema


async def open_import(
    cflow: CflowClient,
    workflow_name: str,
    rows: Rows,
    *,
    journal: str | os.PathLike[str] | None = None,
    options: ImportOptions | None = None,
    rejects: str | os.PathLike[str] | None = None,
    schema: RecordSchema | None = None,
    validate: bool = True,
    display: Callable[[int | None], ProgressDisplay] | None = None,
) -> ImportJob:
    """An import ready to ``run()``; its journal is open: ``job.close()`` when done.

    ``rows`` is a file path (CSV, JSON Lines or XLSX, by extension) or an iterable of
    mappings. The journal defaults to ``FILE.journal.sqlite`` next to the file, the rejects
    file to ``FILE.rejects.csv``; with an iterable a journal path is required.
    ``display(total_rows_or_None)`` makes the progress display."""
    from .._values import workflow_name_text

    workflow_name_text(workflow_name)
    options = options if options is not None else ImportOptions()
    _check(options)
    if isinstance(rows, str | os.PathLike):
        path = os.fspath(rows)
        source = source_identity(path)
        numbered: Iterable[tuple[int, Mapping[str, Any]]] = read_rows(path)
        total = estimate_rows(path)
        journal = journal if journal is not None else path + ".journal.sqlite"
        rejects = rejects if rejects is not None else path + ".rejects.csv"
    elif isinstance(rows, Iterable):
        if journal is None:
            raise InvalidArgumentError("importing rows that are not a file needs journal=PATH")
        source, numbered, total = None, _numbered(rows), None
    else:
        raise InvalidArgumentError(f"rows must be a file path or an iterable, not {rows!r}")
    if schema is None and validate:
        schema = await _schema_for(cflow, workflow_name)
    opened = Journal.open(
        journal,
        workflow=workflow_name,
        key_column=options.key,
        source=source,
        readonly=options.dry_run,
    )
    try:
        return ImportJob(
            cflow,
            workflow_name,
            numbered,
            opened,
            options,
            schema=schema,
            rejects=None if rejects is None else RejectsFile(rejects),
            display=None if display is None else display(total),
        )
    except BaseException:
        opened.close()  # or its exclusive lock would refuse the next attempt
        raise


async def import_records(
    cflow: CflowClient,
    workflow_name: str,
    rows: Rows,
    *,
    journal: str | os.PathLike[str] | None = None,
    key: str | None = None,
    mapping: Mapping[str, str] | None = None,
    concurrency: int = 8,
    rate: float | None = None,
    dry_run: bool = False,
    reconcile: bool = False,
    resubmit_unknown: bool = False,
    rejects: str | os.PathLike[str] | None = None,
    schema: RecordSchema | None = None,
    validate: bool = True,
    settle: float = 30.0,
    progress: bool = False,
) -> ImportSummary:
    """Import ``rows`` into ``workflow_name``; see :meth:`CflowClient.import_records`."""
    options = ImportOptions(
        key=key,
        mapping=dict(mapping or {}),
        concurrency=concurrency,
        rate=rate,
        dry_run=dry_run,
        reconcile=reconcile,
        resubmit_unknown=resubmit_unknown,
        settle=settle,
    )
    from .progress import make_display

    job = await open_import(
        cflow,
        workflow_name,
        rows,
        journal=journal,
        options=options,
        rejects=rejects,
        schema=schema,
        validate=validate,
        display=make_display if progress else None,
    )
    try:
        return await job.run()
    finally:
        job.close()
