"""A user's own tenant for the sandbox: workflows, stages, field definitions, users and roles
read from a JSON or YAML file (``--data tenant.yaml``).

The format::

    workflows:                       # required, at least one
      - name: Leave                  # WorkflowName; also the OpenAPI workflow id
        display_name: Leave request  # optional (default: name)
        description: ...             # optional
        stages:                      # required, at least one: [draft, review..., end]
          - {name: Employee, id: "500"}
          - {name: Manager Review, id: "501", reviewers: [boss@example.com]}
          - {name: END, id: "502"}
        fields:                      # getworkflowfieldsets' wire format ("default:" included)
          - {name: Days, type: text, label: Days, required: true, "default:": null}
    users: [...]                     # optional, the OpenAPI User shape (default: the seed's)
    roles: [...]                     # optional, the OpenAPI Role shape (default: the seed's)

Every problem is reported as :class:`TenantDataError` naming the file, the entry and the issue.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import attrs

from cflow_async.sandbox import data
from cflow_async.sandbox.model import Stage, Workflow

_FIELD_DEFAULTS: dict[str, Any] = {
    "label": None,
    "options": None,
    "spec": None,
    "help": "",
    "default:": None,
    "required": False,
    "multiple": False,
    "multiline": False,
}
_FIELD_KEYS = ("name", "type", *_FIELD_DEFAULTS)
_STAGE_KEYS = frozenset({"name", "id", "display_name", "reviewers"})
_WORKFLOW_KEYS = frozenset({"name", "display_name", "description", "stages", "fields"})
_TOP_KEYS = frozenset({"workflows", "users", "roles"})
_USER_KEYS = frozenset({"id", "username", "email", "role", "status"})
_ROLE_KEYS = frozenset({"id", "name", "permissions"})
_PERMISSION_KEYS = frozenset({"workflows", "lookups", "reports", "support"})


class TenantDataError(ValueError):
    """A tenant data file cannot be used; the message names the file, the entry and why."""


@attrs.frozen
class TenantData:
    """A checked tenant: ``build_workflows()`` gives fresh copies for every reset."""

    source: str
    workflows: tuple[Workflow, ...]
    users: tuple[dict[str, Any], ...] | None = None
    roles: tuple[dict[str, Any], ...] | None = None

    def build_workflows(self) -> dict[str, Workflow]:
        return {workflow.name: copy.deepcopy(workflow) for workflow in self.workflows}


def load_tenant(path: str | os.PathLike[str]) -> TenantData:
    """Read and check a tenant file (``.json``; anything else is read as YAML)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TenantDataError(f"{file}: cannot read the tenant data file: {exc}") from None
    return parse_tenant(text, source=str(file), as_json=file.suffix.lower() == ".json")


def parse_tenant(text: str, *, source: str = "<tenant>", as_json: bool = False) -> TenantData:
    document = _json(text, source) if as_json else _yaml(text, source)
    return _Checker(source).tenant(document)


def _json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise TenantDataError(f"{source}: not valid JSON: {exc}") from None


def _yaml(text: str, source: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise TenantDataError(
            f"{source}: reading YAML needs PyYAML (pip install 'cflow-async[sandbox]'), "
            "or give a .json file"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TenantDataError(f"{source}: not valid YAML: {exc}") from None


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> NoReturn:
        raise TenantDataError(f"{self.source}: {where}: {problem}")

    def mapping(self, value: Any, where: str, known: frozenset[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(where, f"must be a mapping, got {type(value).__name__}")
        unknown = sorted(str(key) for key in value if key not in known)
        if unknown:
            hint = " (the wire format spells it 'default:')" if "default" in unknown else ""
            self.fail(where, f"unknown key(s) {', '.join(unknown)}{hint}")
        return value

    def text(self, value: Any, where: str) -> str:
        # YAML reads unquoted numbers as ints; Cflow ids are strings on the wire, so accept both.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or not value.strip():
            self.fail(where, "must be a non-empty string")
        return value

    def items(self, value: Any, where: str, *, empty: bool = False) -> list[Any]:
        if not isinstance(value, list) or (not empty and not value):
            self.fail(where, "must be a non-empty list" if not empty else "must be a list")
        return value

    def tenant(self, document: Any) -> TenantData:
        top = self.mapping(document, "top level", _TOP_KEYS)
        if "workflows" not in top:
            self.fail("top level", "a 'workflows' list is required")
        workflows = [
            self.workflow(item, f"workflows[{index}]")
            for index, item in enumerate(self.items(top["workflows"], "workflows"))
        ]
        self.unique([w.name for w in workflows], "workflows", "name")
        users = None if top.get("users") is None else self.users(top["users"])
        roles = None if top.get("roles") is None else self.roles(top["roles"])
        return TenantData(self.source, tuple(workflows), users, roles)

    def unique(self, names: list[str], where: str, key: str) -> None:
        seen: set[str] = set()
        for index, name in enumerate(names):
            if name in seen:
                self.fail(f"{where}[{index}]", f"duplicate {key} {name!r}")
            seen.add(name)

    def named(self, value: Any, where: str, known: frozenset[str]) -> tuple[Mapping[str, Any], str]:
        """An entry with a ``name``, and ``where`` extended by that name for later messages."""
        self.mapping(value, where, frozenset(value) if isinstance(value, Mapping) else known)
        name = self.text(value.get("name"), f"{where}.name")
        where = f"{where} ({name!r})"
        return self.mapping(value, where, known), where

    def workflow(self, value: Any, where: str) -> Workflow:
        entry, where = self.named(value, where, _WORKFLOW_KEYS)
        name = self.text(entry["name"], f"{where}.name")
        display = entry.get("display_name")
        description = entry.get("description")
        if "stages" not in entry:
            self.fail(where, "a 'stages' list is required")
        stages = [
            self.stage(item, f"{where}.stages[{index}]")
            for index, item in enumerate(self.items(entry["stages"], f"{where}.stages"))
        ]
        self.unique([s.id for s in stages], f"{where}.stages", "id")
        self.unique([s.name for s in stages], f"{where}.stages", "name")
        raw_fields = self.items(entry.get("fields", []), f"{where}.fields", empty=True)
        fields = [self.field(item, f"{where}.fields[{i}]") for i, item in enumerate(raw_fields)]
        self.unique([f["name"] for f in fields], f"{where}.fields", "name")
        record_id = data.field_definition(
            "RecordId", "text", "Record ID", help_text="Record ID", required=True
        )
        for_map = [*fields, record_id] if fields else []
        return Workflow(
            name=name,
            display_name=self.text(display, f"{where}.display_name") if display else name,
            description=""
            if description is None
            else self.text(description, f"{where}.description"),
            stages=tuple(stages),
            field_sets=data.FieldSets(fields, copy.deepcopy(fields), for_map),
        )

    def stage(self, value: Any, where: str) -> Stage:
        entry = self.mapping(value, where, _STAGE_KEYS)
        name = self.text(entry.get("name"), f"{where}.name")
        reviewers = entry.get("reviewers") or []
        return Stage(
            name=name,
            id=self.text(entry.get("id"), f"{where}.id"),
            display_name=self.text(entry.get("display_name") or name, f"{where}.display_name"),
            reviewers=tuple(
                self.text(item, f"{where}.reviewers[{i}]")
                for i, item in enumerate(self.items(reviewers, f"{where}.reviewers", empty=True))
            ),
        )

    def field(self, value: Any, where: str) -> dict[str, Any]:
        entry, where = self.named(value, where, frozenset(_FIELD_KEYS))
        name = self.text(entry["name"], f"{where}.name")
        field_type = self.text(entry.get("type"), f"{where}.type")
        for key in ("required", "multiple", "multiline"):
            if not isinstance(entry.get(key, False), bool):
                self.fail(f"{where}.{key}", "must be true or false")
        options = entry.get("options")
        if options is not None:
            for index, option in enumerate(self.items(options, f"{where}.options")):
                at = f"{where}.options[{index}]"
                item = self.mapping(option, at, frozenset({"label", "value"}))
                self.text(item.get("value"), f"{at}.value")
        elif field_type == "select":
            self.fail(f"{where}.options", "a select field needs a list of {label, value} options")
        # Key order as on the wire, so getworkflowfieldsets answers exactly like Cflow.
        merged = {**_FIELD_DEFAULTS, "label": name, **entry, "name": name, "type": field_type}
        return {key: copy.deepcopy(merged[key]) for key in _FIELD_KEYS}

    def users(self, value: Any) -> tuple[dict[str, Any], ...]:
        users = []
        for index, item in enumerate(self.items(value, "users", empty=True)):
            where = f"users[{index}]"
            entry = self.mapping(item, where, _USER_KEYS)
            user = {key: self.text(entry.get(key), f"{where}.{key}") for key in ("id", "username")}
            user["email"] = self.text(entry.get("email", user["username"]), f"{where}.email")
            user["role"] = self.text(entry.get("role", "User"), f"{where}.role")
            status = entry.get("status", "active")
            if status not in ("active", "inactive"):
                self.fail(f"{where}.status", "must be 'active' or 'inactive'")
            user["status"] = status
            users.append(user)
        self.unique([u["id"] for u in users], "users", "id")
        return tuple(users)

    def roles(self, value: Any) -> tuple[dict[str, Any], ...]:
        roles = []
        for index, item in enumerate(self.items(value, "roles", empty=True)):
            where = f"roles[{index}]"
            entry = self.mapping(item, where, _ROLE_KEYS)
            role: dict[str, Any] = {
                key: self.text(entry.get(key), f"{where}.{key}") for key in ("id", "name")
            }
            permissions = self.mapping(
                entry.get("permissions", {}), f"{where}.permissions", _PERMISSION_KEYS
            )
            role["permissions"] = {
                key: self.text(level, f"{where}.permissions.{key}")
                for key, level in permissions.items()
            }
            roles.append(role)
        self.unique([r["id"] for r in roles], "roles", "id")
        return tuple(roles)
