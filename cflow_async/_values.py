"""Record values as Cflow expects them on the wire."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any, Protocol

from ._errors import InvalidArgumentError

__all__ = [
    "RecordLike",
    "as_mapping",
    "cflow_datetime_text",
    "format_cflow_datetime",
    "record_values",
    "resolve_timezone",
    "text_id",
    "wire_value",
    "workflow_name_text",
]

# Said wherever an aware datetime meets a client without a time zone: both ways out.
AWARE_WITHOUT_TIMEZONE = (
    "is a timezone-aware datetime, but the client has no timezone to convert it into"
    " (Cflow's date format has none): pass a naive datetime in the Cflow account's wall"
    " time, or create the client with timezone=... (e.g. timezone='America/New_York')"
)


class RecordLike(Protocol):
    """A typed record, such as a class written by ``cflow codegen-records``."""

    def to_values(self) -> Mapping[str, Any]: ...


def format_cflow_datetime(value: dt.date) -> str:
    """Cflow's date format, e.g. ``3/26/2022 6:30:00 PM``; a plain date is midnight.

    This formats the wall time it is given. The client's calls convert aware datetimes
    into ``CflowClient(timezone=...)`` first (and refuse them without one), because the
    format carries no time zone.
    """
    if isinstance(value, dt.datetime):
        hour, minute, second = value.hour, value.minute, value.second
    else:
        hour = minute = second = 0
    half = "AM" if hour < 12 else "PM"
    # Four-digit year: the format is M/D/YYYY, and years before 1000 are still dates.
    return (
        f"{value.month}/{value.day}/{value.year:04d}"
        f" {hour % 12 or 12}:{minute:02d}:{second:02d} {half}"
    )


def resolve_timezone(value: dt.tzinfo | str | None) -> dt.tzinfo | None:
    """``CflowClient(timezone=...)``: a tzinfo (e.g. ``ZoneInfo``), an IANA name, or None."""
    if value is None or isinstance(value, dt.tzinfo):
        return value
    if isinstance(value, str):
        import zoneinfo  # only when a name is given: it is not needed otherwise

        try:
            return zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise InvalidArgumentError(
                f"unknown time zone {value!r}; use an IANA name such as 'America/New_York'"
            ) from None
    raise InvalidArgumentError(
        f"timezone must be a zoneinfo.ZoneInfo (any tzinfo) or a time zone name,"
        f" got {type(value).__name__}"
    )


def cflow_datetime_text(value: dt.date, tz: dt.tzinfo | None, key: str) -> str:
    """``value`` in Cflow's format; an aware datetime is converted into ``tz`` first."""
    if isinstance(value, dt.datetime) and value.utcoffset() is not None:
        if tz is None:
            raise InvalidArgumentError(f"value of field {key!r} {AWARE_WITHOUT_TIMEZONE}")
        try:
            value = value.astimezone(tz)
        except OverflowError:
            raise InvalidArgumentError(
                f"value of field {key!r} is out of range in the client's time zone"
            ) from None
    return format_cflow_datetime(value)


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


def wire_value(key: str, value: Any, tz: dt.tzinfo | None = None) -> Any:
    """One field's value as JSON can carry it; dates in Cflow's format."""
    if isinstance(value, str):
        return _utf8(value, f"value of field {key!r}")
    if isinstance(value, dt.date):  # datetime is a date too
        return cflow_datetime_text(value, tz, key)
    if isinstance(value, list | tuple):
        return [wire_value(key, v, tz) for v in value]
    if isinstance(value, dict):
        return {str(k): wire_value(key, v, tz) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgumentError(f"value of field {key!r} is {value!r}, which JSON cannot carry")
    if value is None or isinstance(value, int | float | bool):
        return value
    raise InvalidArgumentError(
        f"value of field {key!r} has type {type(value).__name__}, which cannot be sent to Cflow;"
        " use str, int, float, bool, date/datetime, or a list of those"
    )


def as_mapping(values: Mapping[str, Any] | RecordLike) -> Mapping[str, Any]:
    """``values`` itself, or a typed record's ``to_values()``."""
    if isinstance(values, Mapping):
        return values
    to_values = getattr(values, "to_values", None)
    if callable(to_values):
        values = to_values()
        if isinstance(values, Mapping):
            return values
    raise InvalidArgumentError(
        f"values must be a mapping or a record with to_values(), got {type(values).__name__}"
    )


def record_values(
    values: Mapping[str, Any] | RecordLike, tz: dt.tzinfo | None = None
) -> dict[str, Any]:
    """Validate and convert a record's values; lists pass through for multi-value fields.
    Aware datetimes are converted into ``tz``, and refused without one."""
    if not isinstance(values, Mapping):  # the common case pays this one check only
        values = as_mapping(values)
    out = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            raise InvalidArgumentError(f"field names must be non-empty strings, got {key!r}")
        out[key] = wire_value(key, value, tz)
    return out
