"""The rejects file: the rows an import did not send, and why, as CSV.

Columns: ``row`` (the input's row number), ``key``, ``reason`` (``invalid``: the record
schema refused it; ``changed``: it differs from what was already sent under its key;
``duplicate``: its key appeared earlier in the input or, without a key, an earlier run
sent its values under another row number), ``problems``. Values are not
copied: the row number points back to them. The file is created on the first reject, so
a clean import leaves none (and a stale one from an earlier run is removed at start).
"""

from __future__ import annotations

import contextlib
import csv
import os
from typing import IO, Any

from .._errors import InvalidArgumentError

__all__ = ["RejectsFile"]


class RejectsFile:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.count = 0
        self._file: IO[str] | None = None
        self._writer: Any = None
        try:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
        except OSError as exc:
            raise self._error(exc) from None

    def _error(self, exc: OSError) -> InvalidArgumentError:
        return InvalidArgumentError(f"cannot write the rejects file {self.path!r}: {exc.strerror}")

    def write(self, number: int, key: str, reason: str, problems: list[str]) -> None:
        try:
            if self._writer is None:
                self._file = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
                self._writer = csv.writer(self._file)
                self._writer.writerow(["row", "key", "reason", "problems"])
            self._writer.writerow([number, key, reason, "; ".join(problems)])
        except OSError as exc:
            raise self._error(exc) from None
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None
