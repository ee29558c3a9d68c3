"""Input checks: request-body JSON and workflow field values.

Everything here raises :class:`ApiError`, which the app turns into a JSON error response; bad
input must never surface as a 500.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
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


def _allowed_options(definition: Mapping[str, Any]) -> set[str] | None:
    options = definition.get("options")
    if not options:
        return None
    return {str(option.get("value")) for option in options}


def _field_problem(definition: Mapping[str, Any], value: Any) -> str | None:
    """Why ``value`` does not fit the field, or ``None`` when it does."""
    if value is None:
        return None
    field_type = definition.get("type")
    if field_type == "date":
        if value == "" or (isinstance(value, str) and is_cflow_date(value)):
            return None
        return "must be a date like '3/26/2022 6:30:00 PM' (M/D/YYYY h:mm:ss AM|PM)"
    if field_type == "select":
        allowed = _allowed_options(definition)
        if definition.get("multiple"):
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


def validate_fields(
    workflow_name: str, definitions: Mapping[str, Mapping[str, Any]], values: Mapping[str, Any]
) -> None:
    """Check ``values`` against a workflow's field definitions (none defined: anything goes)."""
    if not definitions:
        return
    unknown = [name for name in values if name not in definitions]
    if unknown:
        bad_request(
            f"Unknown field(s) for workflow '{workflow_name}': {', '.join(unknown)}",
            fields=unknown,
        )
    problems = {
        name: problem
        for name, value in values.items()
        if (problem := _field_problem(definitions[name], value)) is not None
    }
    if problems:
        details = "; ".join(f"{name} {problem}" for name, problem in problems.items())
        bad_request(f"Invalid field value(s): {details}", fields=list(problems))
