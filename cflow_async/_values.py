"""Record values as Cflow expects them on the wire."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from ._errors import InvalidArgumentError

__all__ = ["format_cflow_datetime", "record_values", "text_id", "workflow_name_text"]


def format_cflow_datetime(value: dt.date) -> str:
    """Cflow's date format, e.g. ``3/26/2022 6:30:00 PM``; a plain date is midnight.

    Cflow has no time zone in this format, so aware datetimes are sent as their wall time.
    """
    if isinstance(value, dt.datetime):
        hour, minute, second = value.hour, value.minute, value.second
    else:
        hour = minute = second = 0
    half = "AM" if hour < 12 else "PM"
    return (
        f"{value.month}/{value.day}/{value.year} {hour % 12 or 12}:{minute:02d}:{second:02d} {half}"
    )


def _utf8(text: str, what: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError(f"{what} is not valid Unicode text (lone surrogate)") from None
    return text


def workflow_name_text(workflow_name: str) -> str:
    if not isinstance(workflow_name, str) or not workflow_name.strip():
        raise InvalidArgumentError(
            f"workflow_name must be a non-empty string, got {workflow_name!r}"
        )
    return _utf8(workflow_name, "workflow_name")


def text_id(value: str | int, what: str) -> str:
    """An id as Cflow wants it on the wire: a non-empty string (ints accepted)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidArgumentError(f"{what} must be a string or int, got {type(value).__name__}")
    text = str(value)
    if not text:
        raise InvalidArgumentError(f"{what} is empty")
    return _utf8(text, what)


def _wire(key: str, value: Any) -> Any:
    if isinstance(value, str):
        return _utf8(value, f"value of field {key!r}")
    if isinstance(value, dt.date):  # datetime is a date too
        return format_cflow_datetime(value)
    if isinstance(value, list | tuple):
        return [_wire(key, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _wire(key, v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgumentError(f"value of field {key!r} is {value!r}, which JSON cannot carry")
    if value is None or isinstance(value, int | float | bool):
        return value
    raise InvalidArgumentError(
        f"value of field {key!r} has type {type(value).__name__}, which cannot be sent to Cflow;"
        " use str, int, float, bool, date/datetime, or a list of those"
    )


def record_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and convert a record's values; lists pass through for multi-value fields."""
    if not isinstance(values, Mapping):
        raise InvalidArgumentError(f"values must be a mapping, got {type(values).__name__}")
    out = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            raise InvalidArgumentError(f"field names must be non-empty strings, got {key!r}")
        out[key] = _wire(key, value)
    return out
