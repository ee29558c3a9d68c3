"""Import a spreadsheet into Cflow as a durable job: resumable after a crash, never a
duplicate. ``await cflow.import_records(...)`` or ``cflow import FILE --workflow NAME``.

Modules: ``readers`` (CSV, JSON Lines, XLSX), ``journal`` (SQLite), ``writer`` (group
commit), ``rate`` (AIMD), ``reconcile`` (finding rows of unknown outcome), ``job`` (the
orchestration), ``api`` (``open_import``, ``import_records``), ``progress``, ``rejects``,
``summary``, ``arguments`` and ``cli`` (the ``cflow import`` command).

Names load on first use (PEP 562): ``cflow --help`` reads ``arguments`` without paying
for the client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import import_records, open_import
    from .job import ImportJob
    from .journal import JournalError
    from .options import ImportOptions, RecordSchema
    from .summary import ImportAbortedError, ImportSummary, UnreconciledRowsError

_LAZY = {
    "ImportAbortedError": ".summary",
    "ImportJob": ".job",
    "ImportOptions": ".options",
    "ImportSummary": ".summary",
    "JournalError": ".journal",
    "RecordSchema": ".options",
    "UnreconciledRowsError": ".summary",
    "import_records": ".api",
    "open_import": ".api",
}

__all__ = [
    "ImportAbortedError",
    "ImportJob",
    "ImportOptions",
    "ImportSummary",
    "JournalError",
    "RecordSchema",
    "UnreconciledRowsError",
    "import_records",
    "open_import",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
