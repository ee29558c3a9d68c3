"""Results on stdout (JSON or a table) and errors on stderr, with every known secret scrubbed.

Everything printed passes through :class:`Output`, so a key echoed back by a server, or
typed by mistake as an argument, is replaced by ``[redacted]`` wherever it would appear.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from cflow_async._constants import ENV_API_KEY, ENV_USER_KEY

PROG = "cflow"
REDACTED = "[redacted]"
# Shorter "secrets" would redact ordinary text; real Cflow keys are far longer.
MIN_SCRUB_LENGTH = 6
# Wider cells make a table wrap on an ordinary terminal, which is worse than truncation.
MAX_CELL = 60
# json.dumps escapes C0 controls but leaves DEL and C1 (e.g. CSI, U+009B) raw.
_C1_ESCAPES = {code: f"\\u{code:04x}" for code in range(0x7F, 0xA0)}


def secrets(settings: Mapping[str, Any]) -> list[str]:
    """Every key value this run may know about, longest first, for scrubbing output."""
    found = {
        value
        for value in (
            settings.get("api_key"),
            settings.get("user_key"),
            os.environ.get(ENV_API_KEY),
            os.environ.get(ENV_USER_KEY),
        )
        if isinstance(value, str) and len(value.strip()) >= MIN_SCRUB_LENGTH
    }
    for value in list(found):
        found.add(value.strip())
    # Longest first: a key that contains another must be replaced whole.
    return sorted(found, key=len, reverse=True)


def scrub(text: str, known: Sequence[str]) -> str:
    for secret in known:
        text = text.replace(secret, REDACTED)
    return text


class Output:
    """Writes results and errors, with any known secret replaced."""

    def __init__(self, stdout: TextIO, stderr: TextIO) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.secrets: list[str] = []

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)

    def result(self, data: Any, fmt: str) -> None:
        if fmt == "table":
            text = table(data)
        else:
            text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
            text = text.translate(_C1_ESCAPES)
        self.stdout.write(self.scrub(text) + "\n")
        self.stdout.flush()

    def error(self, message: str) -> None:
        # One line, always: scripts read the first line of stderr.
        line = " ".join(self.scrub(message).split())
        self.stderr.write(f"{PROG}: error: {line}\n")
        self.stderr.flush()


def plain(value: Any) -> Any:
    """Models to JSON-ready data: generated models by ``to_dict``, legacy ones by attrs."""
    import attrs  # only when a command ran: `cflow --help` stays stdlib-only

    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return plain(to_dict())
    if attrs.has(type(value)):
        # attrs.asdict keeps tuples (FieldDefinition.options); plain makes them lists.
        return plain(attrs.asdict(value))
    return value


# --- tables ---------------------------------------------------------------------------------


def _printable(text: str) -> str:
    # Server data must not drive the terminal: show control characters escaped.
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _summary(value: dict[Any, Any] | list[Any]) -> str:
    n = len(value)
    if isinstance(value, dict):
        return f"{{{n} field{'' if n == 1 else 's'}}}"
    return f"[{n} item{'' if n == 1 else 's'}]"


def cell(value: Any) -> str:
    """One table cell. A nested value is shown as compact JSON when it fits whole, else
    summarised as ``{3 fields}`` / ``[2 items]``: a JSON prefix cut off mid-way says little
    and pushes the scalar columns off screen (``--format json`` shows everything)."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, dict | list):
        text = _printable(json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":")))
        return text if len(text) <= MAX_CELL else _summary(value)
    else:
        text = str(value)
    text = _printable(text)
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 3] + "..."
    return text


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """The columns worth showing: ``id`` first (what a reader acts on), then the other scalar
    columns, then nested ones, each group in first-seen order; a column empty in every row
    (``workflows``' id and status) is left out."""
    seen: list[str] = []
    for row in rows:
        seen.extend(key for key in row if key not in seen)
    shown = [c for c in seen if any(row.get(c) not in (None, "") for row in rows)]
    if not shown:  # nothing but empty values: show the shape rather than nothing
        shown = seen
    nested = {c for c in shown if any(isinstance(row.get(c), dict | list) for row in rows)}
    ordered = [c for c in shown if c not in nested] + [c for c in shown if c in nested]
    return sorted(ordered, key=lambda c: c != "id")  # stable: only moves "id" to the front


def table(data: Any) -> str:
    if isinstance(data, dict):
        rows: list[dict[str, Any]] = [{"field": k, "value": v} for k, v in data.items()]
    elif isinstance(data, list):
        if not data:
            return "(no results)"
        rows = [item if isinstance(item, dict) else {"value": item} for item in data]
    else:
        rows = [{"value": data}]
    columns = _columns(rows)
    cells = [[cell(row.get(column)) for column in columns] for row in rows]
    header = [cell(column) for column in columns]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(columns))]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(c) for c in cells)])
