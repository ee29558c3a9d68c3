"""The facade table: every OpenAPI operation with the facade name it gets.

One function is the API, for the change report (scripts/specdiff.py), the facade check
(scripts/check_facade.py) and the facade code generator:

    load_facade_table(spec_path, mapping_path) -> list[FacadeOperation]

Names come from ``openapi/facade.yaml`` when it lists the operationId; otherwise
namespace = snake_case(first tag) and method = snake_case(operationId), so
``listWorkflowStages`` tagged ``Workflows`` becomes ``workflows.list_workflow_stages``.
Pure Python + PyYAML: no generator, no project imports.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "HTTP_METHODS",
    "Contract",
    "FacadeOperation",
    "facade_table",
    "load_facade_table",
    "load_mapping",
    "parameters",
    "resolve",
    "snake_case",
]

#: The path-item keys that are operations, in the order the table lists them per path.
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class FacadeOperation:
    """One operation as the facade exposes it: ``cflow.<namespace>.<method>(...)``."""

    namespace: str  #: e.g. "requests" (explicit in facade.yaml, else snake_case(first tag))
    method: str  #: e.g. "create_draft" (explicit, else snake_case(operationId))
    operation_id: str  #: e.g. "createDraftRequest"
    http_method: str  #: upper case, e.g. "POST"
    path: str  #: the path template, e.g. "/integromat/api/cflow/workflows/{workflowId}/drafts"
    path_params: tuple[str, ...]  #: in the order they appear in the path template
    required_query: tuple[str, ...]  #: required ``in: query`` parameters, in document order
    optional_query: tuple[str, ...]  #: optional ``in: query`` parameters, in document order
    has_body: bool  #: the operation has a requestBody
    body_required: bool  #: ... and it is ``required: true``
    tag: str  #: first tag ("default" when untagged): the generated package's module group
    mapped: bool  #: named in facade.yaml (False: the name is derived)

    @property
    def qualname(self) -> str:
        """``namespace.method``, the name used in reports and facade.yaml."""
        return f"{self.namespace}.{self.method}"

    @property
    def generated_module(self) -> str:
        """The openapi-python-client module holding this operation's functions."""
        tag = _python_identifier(self.tag, "tag")
        name = _python_identifier(_python_identifier(self.operation_id, "field_"), "field_")
        return f"cflow_openapi.api.{tag}.{name}"


@dataclass(frozen=True)
class Contract:
    """What a facade method listed in facade.yaml was written against (see check_facade)."""

    path_params: tuple[str, ...]
    required_query: tuple[str, ...]
    body: bool


@dataclass(frozen=True)
class MappingEntry:
    namespace: str
    method: str
    contract: Contract


# -- names: the same word splitting as openapi-python-client's strings.snake_case ----------
_DELIMITERS = r"\. _-"
_RESERVED = (set(dir(builtins)) | {"self", "true", "false", "datetime"}) - {"id"}


def _split_words(value: str) -> list[str]:
    value = "".join(c for c in value if c.isidentifier() or c.isdecimal() or c in _DELIMITERS)
    if any(c.isupper() for c in value):
        value = " ".join(re.split("([A-Z]?[a-z]+)", value))
    return re.findall(rf"[^{re.escape(_DELIMITERS)}]+", value)


def snake_case(value: str) -> str:
    """``listWorkflowStages`` -> ``list_workflow_stages``; keywords get a trailing ``_``."""
    name = "_".join(_split_words(value)).lower()
    return f"{name}_" if keyword.iskeyword(name) else name


def _python_identifier(value: str, prefix: str) -> str:
    # openapi-python-client's PythonIdentifier: builtins are renamed too, and odd names prefixed.
    leading_underscore = value.startswith("_")
    name = "_".join(_split_words(value)).lower()
    if name in _RESERVED or keyword.iskeyword(name):
        name += "_"
    return name if name.isidentifier() and not leading_underscore else f"{prefix}{name}"


_QUALNAME = r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*"


# -- facade.yaml ---------------------------------------------------------------------------
def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of parameter names, got {value!r}")
    return tuple(value)


def load_mapping(data: Mapping[str, Any]) -> dict[str, MappingEntry]:
    """Parse facade.yaml's content: ``{operationId: MappingEntry}``. Raises ValueError."""
    operations = data.get("operations")
    if not isinstance(operations, dict):
        raise ValueError("facade.yaml: expected a mapping under 'operations'")
    entries: dict[str, MappingEntry] = {}
    for op_id, entry in operations.items():
        where = f"facade.yaml operations.{op_id}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a mapping")
        missing = {"name", "path_params", "required_query", "body"} - set(entry)
        if missing:
            raise ValueError(f"{where}: missing {', '.join(sorted(missing))}")
        name = entry["name"]
        if not isinstance(name, str) or not re.fullmatch(
            r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*", name
        ):
            raise ValueError(f"{where}: name must be 'namespace.method', got {name!r}")
        if not isinstance(entry["body"], bool):
            raise ValueError(f"{where}: body must be true or false")
        namespace, method = name.split(".")
        contract = Contract(
            _names(entry["path_params"], f"{where}.path_params"),
            _names(entry["required_query"], f"{where}.required_query"),
            entry["body"],
        )
        entries[str(op_id)] = MappingEntry(namespace, method, contract)
    return entries


# -- the table -----------------------------------------------------------------------------
def resolve(spec: Mapping[str, Any], node: Any) -> Any:
    """Follow a local ``$ref`` (parameters and request bodies may be references)."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 32:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
        node, seen = target, seen + 1
    return node


def parameters(spec: Mapping[str, Any], item: Mapping[str, Any], op: Mapping[str, Any]) -> Any:
    """An operation's parameters, references resolved; operation-level ones override
    path-level ones with the same (name, in)."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*(item.get("parameters") or []), *(op.get("parameters") or [])]:
        param = resolve(spec, raw)
        merged[(param.get("name", ""), param.get("in", ""))] = param
    return list(merged.values())


def facade_table(spec: Mapping[str, Any], mapping: Mapping[str, Any]) -> list[FacadeOperation]:
    """The table for a parsed spec and parsed facade.yaml, in document order (paths, then
    methods in HTTP_METHODS order). Raises ValueError when two operations get one name."""
    entries = load_mapping(mapping)
    table: list[FacadeOperation] = []
    for path, item in (spec.get("paths") or {}).items():
        for http in HTTP_METHODS:
            op = item.get(http)
            if not isinstance(op, dict):
                continue
            op_id = op.get("operationId") or f"{http}_{path}".replace("{", "").replace("}", "")
            tag = (op.get("tags") or ["default"])[0]
            params = parameters(spec, item, op)
            query = [p for p in params if p.get("in") == "query"]
            body = resolve(spec, op.get("requestBody"))
            entry = entries.get(op_id)
            table.append(
                FacadeOperation(
                    namespace=entry.namespace if entry else snake_case(tag),
                    method=entry.method if entry else snake_case(op_id),
                    operation_id=op_id,
                    http_method=http.upper(),
                    path=path,
                    path_params=tuple(re.findall(r"{([^}]+)}", path)),
                    required_query=tuple(p["name"] for p in query if p.get("required")),
                    optional_query=tuple(p["name"] for p in query if not p.get("required")),
                    has_body=isinstance(body, dict),
                    body_required=isinstance(body, dict) and bool(body.get("required")),
                    tag=tag,
                    mapped=entry is not None,
                )
            )
    by_name: dict[str, FacadeOperation] = {}
    for row in table:
        other = by_name.setdefault(row.qualname, row)
        if other is not row:
            raise ValueError(
                f"{other.operation_id} and {row.operation_id} are both {row.qualname}: "
                "name one of them in openapi/facade.yaml"
            )
    return table


def load_facade_table(spec_path: str | Path, mapping_path: str | Path) -> list[FacadeOperation]:
    """Every operation in the OpenAPI document at ``spec_path`` (YAML or JSON) with its facade
    name from ``mapping_path`` (openapi/facade.yaml), in document order."""
    spec = yaml.safe_load(Path(spec_path).read_text(encoding="utf-8"))
    mapping = yaml.safe_load(Path(mapping_path).read_text(encoding="utf-8"))
    return facade_table(spec, mapping)
