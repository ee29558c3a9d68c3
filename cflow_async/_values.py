"""Record values as Cflow expects them on the wire."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from ._errors import InvalidArgumentError

__all__ = ["format_cflow_datetime", "record_values"]


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


def _wire(key: str, value: Any) -> Any:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError(f"value of field {key!r} is not valid Unicode") from None
        return value
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
