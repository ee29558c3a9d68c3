"""Field-aware records: values checked and converted against a workflow's own field
definitions before anything is sent.

A :class:`RecordSchema` is built from the definitions Cflow gives
(``getworkflowfieldsets``, or a stage's ``getworkflowprocessfieldsets``).
:meth:`RecordSchema.check` lists every problem; :meth:`RecordSchema.prepare` returns the
wire-ready values or raises :class:`RecordValidationError` with all of them. The problem
codes are stable strings (README, "Records and field definitions").
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from ._errors import InvalidArgumentError
from ._values import (
    AWARE_WITHOUT_TIMEZONE,
    RecordLike,
    as_mapping,
    cflow_datetime_text,
    resolve_timezone,
    wire_value,
)
from .models import FieldDefinition, ShapeError

__all__ = [
    "DATE_TYPES",
    "KNOWN_TYPES",
    "FieldProblem",
    "RecordSchema",
    "RecordValidationError",
]

# Problem codes. Stable: callers branch on them.
UNKNOWN_FIELD: Final = "unknown_field"
REQUIRED_MISSING: Final = "required_missing"
INVALID_OPTION: Final = "invalid_option"
NOT_MULTIPLE: Final = "not_multiple"
INVALID_DATE: Final = "invalid_date"
AWARE_DATETIME: Final = "aware_datetime"
UNSENDABLE_TYPE: Final = "unsendable_type"

#: Field types whose values are dates. The legacy document shows only ``date`` (with
#: values like ``3/26/2022 6:30:00 PM``); ``datetime`` is taken to mean the same.
DATE_TYPES: Final = frozenset({"date", "datetime"})
#: Field types that are checked; any other type is passed through unchecked.
KNOWN_TYPES: Final = frozenset({"text", "select", *DATE_TYPES})

# Cflow's date format, e.g. "3/26/2022 6:30:00 PM" (leading zeros tolerated): the same
# rule as the sandbox's.
_CFLOW_DATE = re.compile(
    r"(0?[1-9]|1[0-2])/(0?[1-9]|[12][0-9]|3[01])/([0-9]{4}) "
    r"(0?[1-9]|1[0-2]):([0-5][0-9]):([0-5][0-9]) (AM|PM)"
)
_DATE_HINT = (
    "use a date or datetime, Cflow's format like '3/26/2022 6:30:00 PM',"
    " or ISO 8601 like '2022-03-26' or '2022-03-26T18:30:00'"
)
_SHOWN = 60  # characters of a value quoted in a message
_LISTED = 10  # problems spelled out in an error's message


@attrs.frozen
class FieldProblem:
    """One problem with one field: ``code`` is stable, ``message`` is for people."""

    field: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class RecordValidationError(InvalidArgumentError):
    """The values do not fit the workflow's fields; nothing was sent. ``problems`` lists
    every problem found, not just the first."""

    def __init__(self, problems: Sequence[FieldProblem], workflow_name: str | None = None) -> None:
        self.problems: tuple[FieldProblem, ...] = tuple(problems)
        self.workflow_name = workflow_name
        where = f" for workflow {workflow_name!r}" if workflow_name else ""
        count = len(self.problems)
        listed = "; ".join(str(p) for p in self.problems[:_LISTED])
        more = f"; and {count - _LISTED} more" if count > _LISTED else ""
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} {noun} with the record values{where}: {listed}{more}")


class _Problem(Exception):
    """Internal: one field's problem, raised while converting its value."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _empty(value: Any) -> bool:
    # isinstance first: ``==`` on a caller's object (an array, say) need not give a bool.
    return value is None or (isinstance(value, str | list | tuple) and not value)


def _is_cflow_date(text: str) -> bool:
    match = _CFLOW_DATE.fullmatch(text)
    if match is None:
        return False
    try:  # the pattern allows 2/31; the calendar does not
        dt.date(int(match[3]), int(match[1]), int(match[2]))
    except ValueError:
        return False
    return True


class RecordSchema:
    """A workflow's form: which fields exist and what each accepts.

    Built by ``await cflow.record_schema(workflow_name, group_id=None)``, or directly from
    field definitions (``FieldDefinition.list_from_json(...)``). ``timezone`` is the Cflow
    account's: aware datetimes are converted into it (refused without it). A schema with
    no fields at all checks only that values can be sent.
    """

    def __init__(
        self,
        fields: Iterable[FieldDefinition],
        *,
        workflow_name: str | None = None,
        group_id: str | None = None,
        timezone: dt.tzinfo | str | None = None,
    ) -> None:
        by_name: dict[str, FieldDefinition] = {}
        for field in fields:
            if not isinstance(field, FieldDefinition):
                raise InvalidArgumentError(
                    f"fields must be FieldDefinition objects, got {type(field).__name__}"
                )
            by_name.setdefault(field.name, field)  # a repeated name: the first one counts
        self._by_name = by_name
        self.workflow_name = workflow_name
        self.group_id = group_id
        self.timezone = resolve_timezone(timezone)
        # For "did you mean": a case-insensitive exact match beats a fuzzy one.
        self._folded = {name.casefold(): name for name in reversed(by_name)}

    @classmethod
    def from_json(cls, data: Any, **kwargs: Any) -> RecordSchema:
        """From the field-definitions endpoints' JSON (the ``"default:"`` key included)."""
        try:
            fields = FieldDefinition.list_from_json(data)
        except ShapeError as exc:
            raise InvalidArgumentError(f"field definitions: {exc}") from None
        return cls(fields, **kwargs)

    @property
    def fields(self) -> tuple[FieldDefinition, ...]:
        return tuple(self._by_name.values())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    @property
    def unknown_types(self) -> tuple[str, ...]:
        """Field types this client does not check (their values pass through unchecked)."""
        return tuple(sorted({f.type for f in self._by_name.values()} - KNOWN_TYPES))

    def field(self, name: str) -> FieldDefinition | None:
        return self._by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __repr__(self) -> str:
        return (
            f"<RecordSchema workflow={self.workflow_name!r} group_id={self.group_id!r}"
            f" fields={len(self._by_name)}>"
        )

    def check(
        self, values: Mapping[str, Any] | RecordLike, *, for_update: bool = False
    ) -> list[FieldProblem]:
        """Every problem with ``values``; empty when they can be sent. An update
        (``for_update=True``) may leave required fields out, but not clear them."""
        return self._examine(values, for_update)[1]

    def prepare(
        self, values: Mapping[str, Any] | RecordLike, *, for_update: bool = False
    ) -> dict[str, Any]:
        """The wire-ready values: dates, datetimes and ISO-8601 text in Cflow's format, a
        scalar for a multiple field wrapped in a list. Raises RecordValidationError."""
        out, problems = self._examine(values, for_update)
        if problems:
            raise RecordValidationError(problems, self.workflow_name)
        return out

    # -- the one pass behind check() and prepare() -------------------------------------

    def _examine(
        self, values: Mapping[str, Any] | RecordLike, for_update: bool
    ) -> tuple[dict[str, Any], list[FieldProblem]]:
        values = as_mapping(values)
        out: dict[str, Any] = {}
        problems: list[FieldProblem] = []
        for name, value in values.items():
            if not isinstance(name, str) or not name:
                shown = _show(name)
                problems.append(
                    FieldProblem(
                        str(name),
                        UNKNOWN_FIELD,
                        f"field names must be non-empty strings, got {shown}",
                    )
                )
                continue
            field = self._by_name.get(name)
            if field is None:
                if self._by_name:
                    problems.append(FieldProblem(name, UNKNOWN_FIELD, self._unknown(name)))
                    continue
                # No definitions at all tell us nothing (a free-form workflow, as the
                # sandbox's "Test"): any name goes, its value only has to be sendable.
                field = FieldDefinition(name=name, type="", label=name)
            try:
                out[name] = self._convert(field, value)
            except _Problem as exc:
                problems.append(FieldProblem(name, exc.code, exc.message))
        for field in self._by_name.values():
            if not field.required:
                continue
            if field.name in values:
                if _empty(values[field.name]):
                    problem = "is required: it cannot be empty"
                    problems.append(FieldProblem(field.name, REQUIRED_MISSING, problem))
            elif not for_update:
                problems.append(FieldProblem(field.name, REQUIRED_MISSING, "is required"))
        return out, problems

    def _unknown(self, name: str) -> str:
        where = f" of workflow {self.workflow_name!r}" if self.workflow_name else ""
        message = f"is not a field{where}"
        guess = self._folded.get(name.casefold())
        if guess is None:
            import difflib  # only on this error path: it is a slow import

            close = difflib.get_close_matches(name, list(self._by_name), n=1, cutoff=0.6)
            guess = close[0] if close else None
        if guess is not None:
            return f"{message}; did you mean {guess!r}?"
        known = ", ".join(repr(n) for n in list(self._by_name)[:_LISTED])
        more = ", ..." if len(self._by_name) > _LISTED else ""
        return f"{message}; its fields are {known}{more}"

    def _convert(self, field: FieldDefinition, value: Any) -> Any:
        if value is None:
            return None  # clears the field; a required one is caught by _examine
        if field.type not in KNOWN_TYPES:
            try:
                out = wire_value(field.name, value, self.timezone)
                # Unchecked, but it must still go out as JSON (keys, depth, big ints).
                json.dumps(out, ensure_ascii=False, allow_nan=False).encode()
            except InvalidArgumentError as exc:
                raise _Problem(UNSENDABLE_TYPE, exc.message) from None
            except (TypeError, ValueError, UnicodeEncodeError, RecursionError) as exc:
                raise _Problem(UNSENDABLE_TYPE, f"cannot be sent as JSON: {exc}") from None
            return out
        if isinstance(value, list | tuple):
            if not field.multiple:
                raise _Problem(
                    NOT_MULTIPLE,
                    f"takes one value, not a list ({len(value)} given); its definition"
                    " has multiple: false",
                )
            return self._items(field, value)
        if field.multiple:
            # A single value for a multiple field is what a person means: wrap it.
            return self._items(field, [value])
        if isinstance(value, str) and not value and field.type != "text":
            return ""  # clears a date or select
        return self._one(field, value)

    def _items(self, field: FieldDefinition, items: Sequence[Any]) -> list[Any]:
        if field.type == "select":
            invalid = [v for v in items if not self._is_option(field, v)]
            if invalid:
                raise _Problem(INVALID_OPTION, self._options_message(field, invalid))
        return [self._one(field, item) for item in items]

    def _one(self, field: FieldDefinition, value: Any) -> Any:
        kind = field.type
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _Problem(
                    UNSENDABLE_TYPE, "is not valid Unicode text (lone surrogate)"
                ) from None
        if kind in DATE_TYPES:
            return self._date(value)
        if kind == "select":
            if not self._is_option(field, value):
                raise _Problem(INVALID_OPTION, self._options_message(field, [value]))
            return value
        # text: what a text box can hold. Numbers go as they are; dates in Cflow's format.
        if isinstance(value, dt.date):
            return self._date(value)
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                str(value)  # an int past Python's digit limit cannot be written as JSON
                return wire_value(field.name, value)
            except (InvalidArgumentError, ValueError) as exc:  # NaN, infinity, huge
                raise _Problem(UNSENDABLE_TYPE, f"{exc}") from None
        raise _Problem(
            UNSENDABLE_TYPE,
            f"is a {kind} field and cannot take a {type(value).__name__} ({_show(value)});"
            " use str, int, float or a date",
        )

    def _is_option(self, field: FieldDefinition, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if not field.options:
            return True  # a select without options constrains nothing we can see
        return any(option.value == value for option in field.options)

    def _options_message(self, field: FieldDefinition, invalid: Sequence[Any]) -> str:
        shown = ", ".join(_show(v) for v in invalid[:_LISTED])
        valid = ", ".join(repr(o.value) for o in field.options)
        noun = "is not an option" if len(invalid) == 1 else "are not options"
        if field.options:
            return f"{shown} {noun}; valid values: {valid}"
        return f"{shown} {noun}; a select value is a string"

    def _date(self, value: Any) -> str:
        shown = _show(value)  # as given, also when the text is parsed below
        if isinstance(value, str):
            if _is_cflow_date(value):
                return value  # already Cflow's format: left as given
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                raise _Problem(INVALID_DATE, f"{shown} is not a date; {_DATE_HINT}") from None
        if not isinstance(value, dt.date):
            raise _Problem(
                INVALID_DATE, f"cannot take a {type(value).__name__} as a date; {_DATE_HINT}"
            )
        aware = isinstance(value, dt.datetime) and value.utcoffset() is not None
        if aware and self.timezone is None:
            raise _Problem(AWARE_DATETIME, f"{shown} {AWARE_WITHOUT_TIMEZONE}")
        try:
            return cflow_datetime_text(value, self.timezone, "")
        except InvalidArgumentError:  # out of range once converted
            message = f"{shown} is out of range in the client's time zone"
            raise _Problem(INVALID_DATE, message) from None
