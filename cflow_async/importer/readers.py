"""Input files as a stream of ``(row_number, {column: value})``: CSV, JSON Lines, XLSX.

Every reader streams: memory does not grow with the file. Row numbers are what a person
sees in the file: for CSV and XLSX the sheet's row number (the header is row 1, so the
first data row is 2, as in a spreadsheet's ``GoogleSheetRowNumber``); for JSON Lines the
line number. Blank cells are left out of a row: in a spreadsheet an empty cell means
"no value", not "the empty string".
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

import attrs

from .._errors import CflowError, InvalidArgumentError

__all__ = [
    "FORMATS",
    "InputFormat",
    "SourceIdentity",
    "estimate_rows",
    "file_format",
    "read_header",
    "read_rows",
    "source_identity",
]

InputFormat = Literal["csv", "jsonl", "xlsx"]
FORMATS: Final[dict[str, InputFormat]] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
}
_COUNT_CHUNK: Final = 1024 * 1024
_T = TypeVar("_T")


@attrs.frozen
class SourceIdentity:
    """What the journal remembers of its input: the file's name and its columns.

    Not its bytes: re-exporting a sheet after adding or correcting rows gives the same
    import, whose rows the journal then tells apart one by one (a changed row is reported,
    a new one sent). A file of another name, or with other columns, is another import."""

    path: str
    name: str
    size: int
    fingerprint: str


def file_format(path: str | os.PathLike[str]) -> InputFormat:
    suffix = Path(path).suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise InvalidArgumentError(f"cannot read {suffix or 'a file without extension'}: {known}")
    return fmt


def source_identity(path: str | os.PathLike[str]) -> SourceIdentity:
    """The file's name, size, and a SHA-256 of its header (JSON Lines: of nothing)."""
    resolved = Path(path).resolve()
    try:
        size = resolved.stat().st_size
        header = read_header(resolved)
    except CflowError:  # already says which file, and why
        raise
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    except (UnicodeError, ValueError, KeyError, csv.Error, zipfile.BadZipFile) as exc:
        raise InvalidArgumentError(f"cannot read {str(path)!r}: {exc}") from None
    digest = hashlib.sha256(json.dumps(header).encode("utf-8")).hexdigest()
    return SourceIdentity(str(resolved), resolved.name, size, digest)


def read_header(path: str | os.PathLike[str]) -> list[str]:
    """The column names of a CSV or XLSX file; [] for JSON Lines, which has no header."""
    fmt = file_format(path)
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8-sig") as file:
            return _header(next(csv.reader(file), []), str(path), empty_ok=True)
    if fmt == "xlsx":
        book = _open_xlsx(path)
        try:
            rows = _xlsx(path, lambda: _first_sheet(book, path).iter_rows(values_only=True))
            first = _xlsx(path, lambda: next(rows, ()))
            return _header(list(first), str(path), empty_ok=True)
        finally:
            book.close()
    return []


def estimate_rows(path: str | os.PathLike[str]) -> int | None:
    """About how many data rows the file holds, for the progress bar's ETA; None if unknown.

    Counting newlines is a few milliseconds per 10 MB; a quoted field spanning lines
    makes it overcount slightly, which an ETA can live with."""
    fmt = file_format(path)
    if fmt == "xlsx":
        book = _open_xlsx(path)
        try:  # the sheet's recorded dimension: None when the writer left it out
            last = _xlsx(path, lambda: _first_sheet(book, path).max_row)
            return None if last is None else max(0, int(last) - 1)
        finally:
            book.close()
    count = 0
    last = b"\n"
    with open(path, "rb") as file:
        while chunk := file.read(_COUNT_CHUNK):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        count += 1
    return max(0, count - 1) if fmt == "csv" else count


def read_rows(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The data rows of ``path`` with their row numbers, by the file's extension."""
    fmt = file_format(path)
    if fmt == "csv":
        return _csv_rows(path)
    if fmt == "jsonl":
        return _jsonl_rows(path)
    return _xlsx_rows(path)


def _header(names: list[Any], where: str, *, empty_ok: bool = False) -> list[str]:
    header = ["" if name is None else str(name).strip() for name in names]
    if not any(header):
        if empty_ok and not names:
            return []
        raise InvalidArgumentError(f"{where}: the first row must name the columns")
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise InvalidArgumentError(f"{where}: column {name!r} appears twice in the header")
        seen.add(name)
    return header


def _csv_rows(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    # utf-8-sig: spreadsheet programs write a byte-order mark that would stick to the
    # first column's name.
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        try:
            header = _header(next(reader), str(path))
        except StopIteration:
            return
        width = len(header)
        # Records, not lines: a quoted cell may span lines, but it is one sheet row.
        for number, cells in enumerate(reader, start=2):
            if len(cells) > width and any(cells[width:]):
                raise InvalidArgumentError(
                    f"{path}, row {number}: more cells than the header has columns"
                )
            row = {header[i]: cell for i, cell in enumerate(cells[:width]) if header[i] and cell}
            if row:
                yield number, row


def _jsonl_rows(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8-sig") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                raise InvalidArgumentError(f"{path}, line {number}: not JSON ({exc})") from None
            if not isinstance(value, dict):
                raise InvalidArgumentError(f"{path}, line {number}: expected a JSON object")
            yield number, value


def _open_xlsx(path: str | os.PathLike[str]) -> Any:
    try:
        import openpyxl
    except ImportError:
        raise InvalidArgumentError(
            "reading .xlsx needs openpyxl: pip install 'cflow-async[xlsx]'"
        ) from None
    # read_only streams the sheet's XML instead of building every cell in memory.
    return _xlsx(path, lambda: openpyxl.load_workbook(path, read_only=True, data_only=True))


def _xlsx(path: str | os.PathLike[str], call: Callable[[], _T]) -> _T:
    """``call()``, a step of openpyxl's reading, with its failures as one typed error.

    A damaged workbook fails in many ways (a bad ZIP, truncated XML as a ParseError, a
    missing part as a KeyError, openpyxl's own exceptions): the caller needs to know only
    that this file cannot be read."""
    try:
        return call()
    except CflowError:
        raise
    except Exception as exc:
        raise InvalidArgumentError(
            f"cannot read the workbook {str(path)!r}: {type(exc).__name__}: {exc}"
        ) from None


def _first_sheet(book: Any, path: str | os.PathLike[str]) -> Any:
    if not book.worksheets:
        raise InvalidArgumentError(f"the workbook {str(path)!r} has no worksheet")
    return book.worksheets[0]


def _xlsx_rows(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    book = _open_xlsx(path)
    try:
        rows = _xlsx(path, lambda: _first_sheet(book, path).iter_rows(values_only=True))
        first = _xlsx(path, lambda: next(rows, None))
        if first is None:
            return
        header = _header(list(first), str(path))
        # Each row is parsed as it is read: a damaged part further down fails here.
        numbered = enumerate(_xlsx_stream(path, rows), start=2)
        for number, cells in numbered:
            row = {
                header[i]: cell
                for i, cell in enumerate(cells[: len(header)])
                if header[i] and cell is not None and cell != ""
            }
            if row:
                yield number, row
    finally:
        book.close()


def _xlsx_stream(path: str | os.PathLike[str], rows: Iterator[Any]) -> Iterator[Any]:
    while True:
        cells = _xlsx(path, lambda: next(rows, None))
        if cells is None:
            return
        yield cells
