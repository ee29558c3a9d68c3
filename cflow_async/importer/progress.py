"""The operator's view of a running import.

On a terminal: a progress bar drawn by rich (rows, rows/s, ETA, counts of ok, failed and
unknown). rich is well kept, typed, already a dependency of common tools, and draws from
its own refresh thread, so the import loop only hands it numbers. It is the ``import``
extra; without it, or when stderr is not a terminal (CI, cron, a log file), one plain log
line every few seconds instead.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from .summary import ImportCounts

__all__ = ["LogLines", "ProgressDisplay", "make_display"]

_LOG_EVERY = 5.0


class ProgressDisplay(Protocol):
    def update(self, counts: ImportCounts) -> None: ...

    def note(self, message: str) -> None: ...

    def close(self) -> None: ...


def _eta(done: int, total: int | None, rate: float) -> str:
    if total is None or rate <= 0 or done >= total:
        return "?"
    seconds = int((total - done) / rate)
    return (
        f"{seconds // 3600}h{seconds // 60 % 60:02d}m"
        if seconds >= 3600
        else (f"{seconds // 60}m{seconds % 60:02d}s")
    )


class LogLines:
    """One line every ``every`` seconds on ``stream``."""

    def __init__(
        self, total: int | None, stream: TextIO | None = None, every: float = _LOG_EVERY
    ) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self._start = time.monotonic()
        self._last = self._start

    def line(self, counts: ImportCounts) -> str:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = counts.settled / elapsed
        of = f"/{self.total}" if self.total is not None else ""
        return (
            f"import: {counts.settled}{of} rows, {rate:.1f} rows/s, ETA"
            f" {_eta(counts.settled, self.total, rate)}; ok {counts.submitted},"
            f" skipped {counts.skipped + counts.reconciled}, failed {counts.failed},"
            f" unknown {counts.unknown}, rejected {counts.rejected}"
        )

    def update(self, counts: ImportCounts) -> None:
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self.note(self.line(counts))

    def note(self, message: str) -> None:
        self.stream.write(message + "\n")
        self.stream.flush()

    def close(self) -> None:
        pass


class _RichBar:
    def __init__(self, total: int | None, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]import"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[speed]} rows/s"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn(
                "[green]ok {task.fields[ok]}[/] [red]failed {task.fields[failed]}[/]"
                " [yellow]unknown {task.fields[unknown]}[/] skipped {task.fields[skipped]}"
                " rejected {task.fields[rejected]}"
            ),
            console=Console(file=stream),
            transient=False,
        )
        self._start = time.monotonic()
        self._task = self._progress.add_task("import", total=total, **self._fields(None))
        self._progress.start()

    def _fields(self, counts: ImportCounts | None) -> dict[str, Any]:
        if counts is None:
            return dict(speed="0", ok=0, failed=0, unknown=0, skipped=0, rejected=0)
        elapsed = max(time.monotonic() - self._start, 1e-9)
        return {
            "speed": f"{counts.settled / elapsed:.0f}",
            "ok": counts.submitted,
            "failed": counts.failed,
            "unknown": counts.unknown,
            "skipped": counts.skipped + counts.reconciled,
            "rejected": counts.rejected,
        }

    def update(self, counts: ImportCounts) -> None:
        self._progress.update(self._task, completed=counts.settled, **self._fields(counts))

    def note(self, message: str) -> None:
        self._progress.console.print(message, markup=False, highlight=False)

    def close(self) -> None:
        self._progress.stop()


def make_display(total: int | None, stream: TextIO | None = None) -> ProgressDisplay:
    """A rich bar when ``stream`` (default stderr) is a terminal and rich is installed,
    else log lines."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        try:
            return _RichBar(total, stream)
        except ImportError:
            pass
    return LogLines(total, stream)
