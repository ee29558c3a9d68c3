"""Models of the legacy endpoints' responses, and how they are read off the wire.

The legacy API is loose about types: ids come as strings or numbers, lists as null, and
the field definitions' default sits under the literal key ``"default:"`` (with a colon).
Readers here accept those variations and raise :class:`ShapeError` for anything else,
which the client turns into a ``ResponseValidationError`` carrying the body's start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "FieldDefinition",
    "FieldOption",
    "ProcessStage",
    "StageStatus",
    "Workflow",
]


class ShapeError(ValueError):
    """The JSON lacks the documented shape; surfaced as ResponseValidationError."""


def _as_id(value: Any, what: str) -> str:
    # Ids are strings on the wire, but numbers are accepted from a server that sends them.
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ShapeError(f"{what} should be a string id, got {type(value).__name__}")


def _text(obj: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = obj.get(key, default)
    if isinstance(value, str):
        return value
    if value is None and default is not None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ShapeError(f"{key!r} should be a string, got {type(value).__name__}")


def _flag(obj: Mapping[str, Any], key: str) -> bool:
    value = obj.get(key)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ShapeError(f"{key!r} should be a boolean, got {type(value).__name__}")


def _objects(value: Any, what: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        raise ShapeError(f"{what} should be a JSON array, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, dict):
            raise ShapeError(f"{what} should hold objects, found {type(item).__name__}")
    return value


def _unwrap(value: Any, key: str) -> Any:
    """Accept both ``[...]`` and ``{"<key>": [...]}``: the documents disagree per endpoint."""
    if isinstance(value, dict) and key in value:
        return value[key]
    return value


@attrs.frozen
class Workflow:
    """A workflow. ``name`` is what the legacy endpoints take as ``WorkflowName``."""

    name: str
    display_name: str
    id: str | None = None
    status: str | None = None

    @classmethod
    def list_from_json(cls, data: Any) -> list[Workflow]:
        # The legacy document wraps the list in {"Workflows": [...]} with WorkflowName /
        # WorkflowDisplayName; the OpenAPI document describes a bare array of Workflow
        # objects (id, name, status, stages, ...). Both are real: accept either.
        items = _objects(_unwrap(data, "Workflows"), "workflows")
        result = []
        for item in items:
            if "WorkflowName" in item:
                name = _text(item, "WorkflowName")
                display = _text(item, "WorkflowDisplayName", name)
                result.append(cls(name=name, display_name=display))
            elif "name" in item:
                name = _text(item, "name")
                wf_id = item.get("id")
                status = item.get("status")
                result.append(
                    cls(
                        name=name,
                        display_name=name,
                        id=None if wf_id is None else _as_id(wf_id, "id"),
                        status=status if isinstance(status, str) else None,
                    )
                )
            else:
                raise ShapeError("a workflow has neither 'WorkflowName' nor 'name'")
        return result


@attrs.frozen
class ProcessStage:
    """A stage of a workflow's process; ``process_id`` is the ``group_id`` of other calls."""

    stage: str
    display_name: str
    process_id: str

    @classmethod
    def list_from_json(cls, data: Any) -> list[ProcessStage]:
        return [
            cls(
                stage=_text(item, "ProcessStage"),
                display_name=_text(item, "ProcessStageDisplayName", _text(item, "ProcessStage")),
                process_id=_as_id(item.get("ProcessID"), "ProcessID"),
            )
            for item in _objects(_unwrap(data, "Process"), "process stages")
        ]


@attrs.frozen
class StageStatus:
    """A status available at a stage (``group_id``), e.g. New, Approved, Rejected."""

    group_id: str
    status: str

    @classmethod
    def list_from_json(cls, data: Any) -> list[StageStatus]:
        return [
            cls(
                group_id=_as_id(item.get("Group_ID"), "Group_ID"),
                status=_text(item, "Field_Status"),
            )
            for item in _objects(_unwrap(data, "Status"), "statuses")
        ]


@attrs.frozen
class FieldOption:
    label: str
    value: str


@attrs.frozen
class FieldDefinition:
    """A form field. ``default`` is read from the wire key ``"default:"``."""

    name: str
    type: str
    label: str
    options: tuple[FieldOption, ...] = ()
    spec: Any = None
    help: str = ""
    default: Any = None
    required: bool = False
    multiple: bool = False
    multiline: bool = False

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> FieldDefinition:
        raw_options = item.get("options")
        options: tuple[FieldOption, ...] = ()
        if raw_options is not None:
            options = tuple(
                FieldOption(label=_text(o, "label", ""), value=_text(o, "value", ""))
                for o in _objects(raw_options, "options")
            )
        name = _text(item, "name")
        # The documented key is "default:" (colon included); take "default" too in case
        # the server ever fixes it.
        default = item["default:"] if "default:" in item else item.get("default")
        return cls(
            name=name,
            type=_text(item, "type", "text"),
            label=_text(item, "label", name),
            options=options,
            spec=item.get("spec"),
            help=_text(item, "help", ""),
            default=default,
            required=_flag(item, "required"),
            multiple=_flag(item, "multiple"),
            multiline=_flag(item, "multiline"),
        )

    @classmethod
    def list_from_json(cls, data: Any) -> list[FieldDefinition]:
        return [cls.from_json(item) for item in _objects(_unwrap(data, "Fields"), "fields")]


def record_id_from_json(data: Any) -> str:
    if not isinstance(data, dict) or "Record_Id" not in data:
        raise ShapeError("expected an object with 'Record_Id'")
    return _as_id(data["Record_Id"], "Record_Id")
