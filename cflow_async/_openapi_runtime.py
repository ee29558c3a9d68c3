"""What the generated OpenAPI namespaces (``_openapi_namespaces``) call: argument checks for
path segments, query values and body properties, and strict readers over the generated
models' ``from_dict``.

The namespaces themselves are generated, one method per operation, by
``scripts/gen_facade.py``; everything they share is written once, here.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import sys
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from cflow_openapi import models as generated_models
from cflow_openapi.types import Unset

from ._errors import InvalidArgumentError
from ._requester import path_segment
from ._values import record_values, text_id
from .models import ShapeError

if TYPE_CHECKING:
    from ._requester import Requester

__all__ = [
    "Namespace",
    "body_value",
    "fields",
    "many",
    "one",
    "optional_text",
    "query_value",
    "segment",
]

T = TypeVar("T")


class Namespace:
    """Base of ``cflow.requests``, ``cflow.workflows``, ...: holds the client's requester
    and time zone (for dates in ``fields``, converted as in legacy records)."""

    __slots__ = ("_requester", "_timezone")

    def __init__(self, requester: Requester, timezone: dt.tzinfo | None = None) -> None:
        self._requester = requester
        self._timezone = timezone

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def segment(value: str | int, name: str) -> str:
    """An id for one path segment, percent-encoded (``/`` included). ``.`` and ``..``
    survive encoding and would be resolved as dot-segments, so they are refused."""
    text = text_id(value, name)
    if text.strip() in (".", ".."):
        raise InvalidArgumentError(f"{name} {text!r} is not a valid id")
    return path_segment(text)


def query_value(value: Any, name: str) -> str:
    """A query parameter's text: ids and numbers as text, booleans as ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, float):
        return repr(value)
    return text_id(value, name)


def optional_text(value: str | None, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string, got {type(value).__name__}")
    return value


def fields(value: Mapping[str, Any], name: str, tz: dt.tzinfo | None = None) -> dict[str, Any]:
    """An object of free-form values (a request's ``fields``): the same conversions as
    legacy record values (dates in Cflow's format, aware datetimes converted into the
    client's ``timezone`` or refused, values JSON cannot carry refused)."""
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"{name} must be a mapping, got {type(value).__name__}")
    return record_values(value, tz)


def body_value(value: Any, name: str, tz: dt.tzinfo | None = None) -> Any:
    """Any other body property, as JSON: generated models through ``to_dict``, enums by
    value, dates in ISO 8601 (the OpenAPI document's ``date-time`` format)."""
    if attrs.has(type(value)) and hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [body_value(v, name, tz) for v in value]
    if isinstance(value, Mapping):
        return fields(value, name, tz)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise InvalidArgumentError(f"{name} has type {type(value).__name__}, which cannot be sent")


# -- readers ------------------------------------------------------------------------------


@functools.cache
def _field_types(cls: type) -> dict[str, tuple[Any, ...]]:
    """The allowed types of each field of a generated model, ``Unset`` left out."""
    # Generated modules import sibling models only under TYPE_CHECKING; resolve the
    # annotations against the models package, which holds them all.
    hints = typing.get_type_hints(
        cls, globalns=vars(sys.modules[cls.__module__]), localns=vars(generated_models)
    )
    return {
        f.name: tuple(
            t for t in typing.get_args(hints[f.name]) or (hints[f.name],) if t is not Unset
        )
        for f in attrs.fields(cls)
        if f.name != "additional_properties"
    }


def _conformed(value: Any, allowed: tuple[Any, ...], where: str) -> Any:
    for kind in allowed:
        if kind is str:
            if isinstance(value, str):
                return value
            if isinstance(value, int) and not isinstance(value, bool):
                return str(value)  # ids as numbers, as the legacy API also sends them
        elif typing.get_origin(kind) is list:
            if isinstance(value, list):
                (item,) = typing.get_args(kind)
                return [_conformed(v, (item,), where) for v in value]
        elif kind is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif attrs.has(kind):
            if isinstance(value, kind):
                return _conform(value)
        elif isinstance(kind, type) and isinstance(value, kind):
            return value
    raise ShapeError(f"{where} has an unexpected {type(value).__name__}")


@functools.cache
def _plan(
    cls: type,
) -> tuple[tuple[str, frozenset[type], frozenset[type], tuple[Any, ...]], ...]:
    """Per field: the types accepted as they are and the nested models conformed in place
    (each checked with one set lookup, the common case), and the allowed types for the
    slower conversion path. Fields of a model with no typed fields are left out."""
    plan = []
    for name, allowed in _field_types(cls).items():
        exact: set[type] = {Unset}
        nested: set[type] = set()
        for kind in allowed:
            if isinstance(kind, type) and attrs.has(kind):
                nested.add(kind)
            elif isinstance(kind, type) and typing.get_origin(kind) is None:
                exact.add(kind)  # a list is not here: its items must be checked
        plan.append((name, frozenset(exact), frozenset(nested), allowed))
    return tuple(plan)


def _conform(model: Any) -> Any:
    """The generated from_dict does not check scalar types ({"id": 5} gives id=5 in a
    str field). Coerce numeric ids to str and refuse any other mismatch."""
    cls: Any = type(model)
    for name, exact, nested, allowed in _plan(cls):
        value = getattr(model, name)
        kind = type(value)
        if kind in exact:
            continue
        if kind in nested:
            _conform(value)
            continue
        setattr(model, name, _conformed(value, allowed, f"{cls.__name__}.{name}"))
    return model


def one(model: type[T]) -> Callable[[Any], T]:
    """A reader of one JSON object as ``model``."""
    from_dict: Callable[[Any], T] = model.from_dict  # type: ignore[attr-defined]

    def read(data: Any) -> T:
        # The generated from_dict runs dict() on its input, which would turn [] or
        # [["id", "1"]] into a model; insist on a JSON object.
        if not isinstance(data, dict):
            raise ShapeError(f"expected a JSON object, got {type(data).__name__}")
        result: T = _conform(from_dict(data))
        return result

    return read


def many(model: type[T]) -> Callable[[Any], list[T]]:
    """A reader of a JSON array of ``model`` objects."""
    read_one = one(model)

    def read(data: Any) -> list[T]:
        if not isinstance(data, list):
            raise ShapeError(f"expected a JSON array, got {type(data).__name__}")
        return [read_one(item) for item in data]

    return read


def json_value(data: Any) -> Any:
    """The reader for an answer the document gives no schema."""
    return data
