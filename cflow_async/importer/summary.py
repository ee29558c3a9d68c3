"""What an import did: live counters while it runs, a frozen summary at the end, and the
errors that stop an import before the end of its input."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from .._errors import CflowError

__all__ = ["ImportAbortedError", "ImportCounts", "ImportSummary", "UnreconciledRowsError"]


@attrs.define
class ImportCounts:
    """Counters of the rows read by this run, by what became of them."""

    read: int = 0
    submitted: int = 0
    skipped: int = 0
    reconciled: int = 0
    rejected: int = 0
    failed: int = 0
    unknown: int = 0
    changed: int = 0
    duplicates: int = 0
    would_submit: int = 0

    @property
    def settled(self) -> int:
        """Rows whose fate in this run is decided (for progress)."""
        return (
            self.submitted
            + self.skipped
            + self.reconciled
            + self.rejected
            + self.failed
            + self.unknown
            + self.changed
            + self.duplicates
            + self.would_submit
        )


_ROWS = (
    ("submitted", "submitted (created in Cflow by this run)"),
    ("skipped", "skipped (done by an earlier run)"),
    ("reconciled", "found in Cflow by reconciliation"),
    ("rejected", "rejected (invalid; see the rejects file)"),
    ("failed", "failed (not created)"),
    ("unknown", "unknown outcome (run again with --reconcile)"),
    ("changed", "changed since sent (not resent)"),
    ("duplicates", "duplicates: a key seen before, or values already sent (not resent)"),
)


@attrs.frozen
class ImportSummary:
    """The outcome of ``import_records`` / ``cflow import``.

    The counts cover the rows read by this run: ``submitted`` were created now, ``skipped``
    by an earlier run, ``reconciled`` found in Cflow by ``reconcile``; ``failed`` rows
    were certainly not created, ``unknown`` ones may have been (their requests' fate is
    unknown: run again with reconcile). ``journal_counts`` are the journal's own totals.
    """

    workflow: str
    journal: str
    read: int
    submitted: int
    skipped: int
    reconciled: int
    rejected: int
    failed: int
    unknown: int
    changed: int
    duplicates: int
    would_submit: int
    dry_run: bool
    interrupted: bool
    elapsed: float
    rows_per_second: float
    settled_rate: float | None
    throttled: int
    rejects_path: str | None
    journal_counts: dict[str, int]
    failures_by_type: dict[str, int] = attrs.field(factory=dict)

    @property
    def complete(self) -> bool:
        """Every row read is in Cflow (or was rejected as invalid)."""
        return not (self.failed or self.unknown or self.changed or self.interrupted)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def table(self) -> str:
        lines = [
            f"import into {self.workflow!r}"
            + (" (dry run)" if self.dry_run else "")
            + (" (interrupted)" if self.interrupted else ""),
            f"  {'rows read':<46}{self.read:>10}",
        ]
        if self.dry_run:
            lines.append(f"  {'would submit':<46}{self.would_submit:>10}")
        lines += [f"  {label:<46}{getattr(self, name):>10}" for name, label in _ROWS]
        rate = "no limit" if self.settled_rate is None else f"{self.settled_rate:.1f}/s"
        lines += [
            f"  {'throughput':<46}{self.rows_per_second:>8.1f}/s",
            f"  {'rate settled at':<46}{rate:>10}  ({self.throttled} x 429)",
            f"  {'elapsed':<46}{self.elapsed:>9.1f}s",
            f"  journal: {self.journal}",
        ]
        if self.rejected and self.rejects_path:
            lines.append(f"  rejects: {self.rejects_path}")
        for name, count in sorted(self.failures_by_type.items()):
            lines.append(f"  failures of type {name}: {count}")
        return "\n".join(lines)


class ImportAbortedError(CflowError):
    """The import stopped before the end of its input. ``summary`` has the counts so far
    (the journal is consistent: run the same import again to go on); ``__cause__`` is the
    error that stopped it, when there was one."""

    def __init__(self, message: str, summary: ImportSummary, cause: CflowError | None) -> None:
        super().__init__(message, outcome_unknown=bool(cause and cause.outcome_unknown))
        self.summary = summary
        self.cause = cause


class UnreconciledRowsError(ImportAbortedError):
    """``reconcile`` was asked for, but without a key column that is also a Cflow field
    the rows whose outcome is unknown cannot be looked up. ``keys`` lists them."""

    def __init__(self, message: str, summary: ImportSummary, keys: Sequence[str]) -> None:
        super().__init__(message, summary, None)
        self.outcome_unknown = True
        self.keys = list(keys)
