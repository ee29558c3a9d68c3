"""Input checks: request-body JSON and workflow field values.

Everything here raises :class:`ApiError`, which the app turns into a JSON error response; bad
input must never surface as a 500.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, NoReturn

MAX_BODY_BYTES = 1024 * 1024
# Deeply nested values are stored and later re-serialised inside a deep call stack; a small
# bound keeps that far away from the interpreter's recursion limit.
MAX_JSON_DEPTH = 32

# Cflow's date format, e.g. "3/26/2022 6:30:00 PM" (leading zeros tolerated).
_DATE_RE = re.compile(
    r"(?P<month>0?[1-9]|1[0-2])/(?P<day>0?[1-9]|[12][0-9]|3[01])/(?P<year>[0-9]{4}) "
    r"(?P<hour>0?[1-9]|1[0-2]):(?P<minute>[0-5][0-9]):(?P<second>[0-5][0-9]) (?P<ampm>AM|PM)"
)

# ISO 8601 as a date, or a date and time joined by "T" (seconds, fraction, zone optional); the
# calendar check is left to datetime.fromisoformat.
_ISO_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?"
)

# Distinct from a JSON ``null`` body, which is not an object and so is rejected.
EMPTY_BODY: Final = object()


class ApiError(Exception):
    """An error answered as ``{"message": ...}`` (plus optional extra keys) with ``status``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"message": self.message, **self.extra}


def bad_request(message: str, **extra: Any) -> NoReturn:
    raise ApiError(400, message, **extra)


def _reject_constant(name: str) -> NoReturn:
    # NaN/Infinity are not JSON; accepting them would make the response renderer fail later.
    raise ValueError(f"{name} is not valid JSON")


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def parse_json_body(raw: bytes, *, allow_empty: bool = False) -> Any:
    """Parse a request body; ``EMPTY_BODY`` for an empty one when ``allow_empty``."""
    if len(raw) > MAX_BODY_BYTES:
        bad_request(f"Request body larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        if allow_empty:
            return EMPTY_BODY
        bad_request("Request body is empty; a JSON object is required")
    try:
        value = json.loads(raw, parse_constant=_reject_constant, parse_float=_parse_float)
    except (ValueError, RecursionError) as exc:
        bad_request(f"Malformed JSON body: {exc}")
    _check_value(value, depth=0)
    return value


def _check_value(value: Any, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        bad_request(f"JSON body nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_value(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_value(item, depth + 1)


def _check_text(text: str) -> None:
    # JSON escapes can smuggle in lone surrogates, which cannot be encoded when answering.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        bad_request("JSON body contains invalid Unicode (lone surrogate escapes)")


def require_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        bad_request(f"{what} must be a JSON object")
    return value


def optional_string(body: Mapping[str, Any], key: str) -> str | None:
    """``body[key]`` when present; present but not a string (``null`` included) is a 400."""
    if key not in body:
        return None
    value = body[key]
    if not isinstance(value, str):
        bad_request(f"'{key}' must be a string")
    return value


def identifier(value: Any, what: str) -> str:
    """Ids are strings on the wire, but integers are a common client habit; accept both."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        bad_request(f"{what} is required and must be a non-empty string")
    return value


def is_cflow_date(value: str) -> bool:
    match = _DATE_RE.fullmatch(value)
    if match is None:
        return False
    try:
        dt.date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        return False
    return True


def is_iso_date(value: str) -> bool:
    if _ISO_RE.fullmatch(value) is None:
        return False
    try:
        dt.datetime.fromisoformat(value.replace(",", "."))
    except ValueError:
        return False
    return True


def _allowed_options(definition: Mapping[str, Any]) -> set[str] | None:
    options = definition.get("options")
    if not options:
        return None
    return {str(option.get("value")) for option in options}


_DATE_TYPES = frozenset({"date", "datetime"})
_CHECKED_TYPES = frozenset({"text", "select", *_DATE_TYPES})


def _field_problem(definition: Mapping[str, Any], value: Any) -> str | None:
    """Why ``value`` does not fit the field, or ``None`` when it does."""
    if value is None:
        return None
    field_type = definition.get("type")
    if field_type not in _CHECKED_TYPES:
        # A type we do not know (an attachment, a table, ...) is passed through unchecked,
        # as the client's RecordSchema does: nothing says what Cflow takes for it.
        return None
    multiple = bool(definition.get("multiple"))
    if isinstance(value, list) and not multiple:
        return "takes one value (multiple: false), not a list"
    if multiple and isinstance(value, list) and field_type != "select":
        # `multiple: true` means a list of values of the field's type, whatever the type
        # (a select's list is checked against its options below).
        single = {**definition, "multiple": False}
        for item in value:
            problem = _field_problem(single, item)
            if problem is not None:
                return f"item {item!r} {problem}"
        return None
    if field_type in _DATE_TYPES:
        if value == "" or (isinstance(value, str) and (is_cflow_date(value) or is_iso_date(value))):
            return None
        return (
            "must be a date like '3/26/2022 6:30:00 PM' (M/D/YYYY h:mm:ss AM|PM) "
            "or ISO 8601 like '2022-03-26T18:30:00'"
        )
    if field_type == "select":
        allowed = _allowed_options(definition)
        if multiple:
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                return "must be a list of strings (multiple select)"
            chosen = value
        else:
            if not isinstance(value, str):
                return "must be a string"
            chosen = [value] if value else []
        if allowed is not None:
            invalid = [item for item in chosen if item not in allowed]
            if invalid:
                return f"has values not among the options {sorted(allowed)}: {invalid}"
        return None
    if field_type == "text":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return "must be a string"
        return None
    return None


def _missing(value: Any) -> bool:
    return value is None or value == "" or value == []


def validate_fields(
    workflow_name: str,
    definitions: Mapping[str, Mapping[str, Any]],
    values: Mapping[str, Any],
    *,
    required: Iterable[str] = (),
) -> None:
    """Check ``values`` against a workflow's field definitions (none defined: anything goes).

    ``required`` names the fields that must be present and non-empty (a submit, not an update,
    which may send a subset). Every problem is reported at once, in a 400 whose body lists them
    as ``errors`` (``field``, ``problem``) and their field names as ``fields``.
    """
    if not definitions:
        return
    errors: list[dict[str, str]] = []
    for name, value in values.items():
        definition = definitions.get(name)
        if definition is None:
            problem: str | None = f"is not a field of workflow '{workflow_name}'"
        else:
            problem = _field_problem(definition, value)
        if problem is not None:
            errors.append({"field": name, "problem": problem})
    errors.extend(
        {"field": name, "problem": "is required"} for name in required if _missing(values.get(name))
    )
    if errors:
        details = "; ".join(f"{error['field']} {error['problem']}" for error in errors)
        bad_request(
            f"Invalid fields for workflow '{workflow_name}': {details}",
            fields=[error["field"] for error in errors],
            errors=errors,
        )
