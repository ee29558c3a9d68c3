"""The API change report: what changed between two OpenAPI documents, and whom it breaks.

    changes = diff_specs(old_spec, new_spec, facade_mapping)
    print(render_report(changes, old_version="1.0.0", new_version="1.1.0", day="2026-11-30"))

Covers operations (added, removed, moved; parameters and their ``required``; request body;
response statuses and schemas), schemas and their properties (added, removed, type
changed, required changed; nested properties and array items too) and enum values. Each
change is BREAKING when code written against the old document (our facade, the generated
package, or their callers) can stop working, compatible otherwise, and names the facade
methods it touches (scripts/facade_table.py). Descriptions and summaries are not compared.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from facade_table import FacadeOperation, facade_table, parameters, resolve

__all__ = ["Change", "diff_specs", "render_report"]

Spec = Mapping[str, Any]


@dataclass(frozen=True)
class Change:
    breaking: bool
    what: str  #: e.g. "operation removed", "enum values added"
    subject: str  #: e.g. "GET /x/{id} (getX)", "Request.status"
    detail: str = ""
    facade: tuple[str, ...] = ()  #: facade methods touched, "namespace.method"


def _sig(schema: Any) -> str:
    """A schema's shape at one level: what a type change is judged by."""
    if not isinstance(schema, dict):
        return "any"
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for combo in ("allOf", "oneOf", "anyOf"):
        if combo in schema:
            return f"{combo}[{', '.join(_sig(s) for s in schema[combo])}]"
    kind = schema.get("type", "any")
    kind = "|".join(kind) if isinstance(kind, list) else str(kind)
    if schema.get("nullable"):
        kind += "|null"
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _usage(spec: Spec, table: list[FacadeOperation]) -> dict[str, dict[str, set[str]]]:
    """schema name -> {"request": facade methods, "response": facade methods} reaching it."""
    schemas = (spec.get("components") or {}).get("schemas") or {}
    rows = {(r.http_method.lower(), r.path): r.qualname for r in table}
    usage: dict[str, dict[str, set[str]]] = {}
    for path, item in (spec.get("paths") or {}).items():
        for method, op in item.items():
            if (method, path) not in rows:
                continue
            sides = {
                "request": [item.get("parameters"), op.get("parameters"), op.get("requestBody")],
                "response": [op.get("responses")],
            }
            for side, roots in sides.items():
                todo, seen = list(_refs(roots)), set()
                while todo:
                    name = todo.pop()
                    if name in seen:
                        continue
                    seen.add(name)
                    usage.setdefault(name, {"request": set(), "response": set()})
                    usage[name][side].add(rows[(method, path)])
                    todo.extend(_refs(schemas.get(name)))
    return usage


class _Differ:
    def __init__(self, old: Spec, new: Spec, mapping: Mapping[str, Any]) -> None:
        self.old, self.new = old, new
        self.old_table, self.new_table = facade_table(old, mapping), facade_table(new, mapping)
        self.old_use, self.new_use = _usage(old, self.old_table), _usage(new, self.new_table)
        self.changes: list[Change] = []

    def add(self, breaking: bool, what: str, subject: str, detail: str, facade: Any) -> None:
        self.changes.append(Change(breaking, what, subject, detail, tuple(sorted(facade))))

    # -- schemas (components and the inline schemas of operations) -------------------
    def node(self, where: str, old: Any, new: Any, sides: set[str], facade: set[str]) -> None:
        old, new = old if isinstance(old, dict) else {}, new if isinstance(new, dict) else {}
        if _sig(old) != _sig(new):
            self.add(True, "type changed", where, f"{_sig(old)} -> {_sig(new)}", facade)
        old_enum, new_enum = old.get("enum") or [], new.get("enum") or []
        if added := [v for v in new_enum if v not in old_enum]:
            # Only narrowing an enum breaks: the custom enum template keeps unknown values.
            self.add(False, "enum values added", where, ", ".join(map(str, added)), facade)
        if removed := [v for v in old_enum if v not in new_enum]:
            self.add(True, "enum values removed", where, ", ".join(map(str, removed)), facade)
        old_props, new_props = old.get("properties") or {}, new.get("properties") or {}
        old_req, new_req = set(old.get("required") or []), set(new.get("required") or [])
        for name in new_props.keys() - old_props.keys():
            required = name in new_req
            self.add(
                required and "request" in sides,
                "property added",
                f"{where}.{name}",
                f"{_sig(new_props[name])}, {'required' if required else 'optional'}",
                facade,
            )
        for name in old_props.keys() - new_props.keys():
            self.add(True, "property removed", f"{where}.{name}", _sig(old_props[name]), facade)
        for name in [n for n in new_props if n in old_props]:
            if name in new_req - old_req:  # callers that build it must now send it
                self.add("request" in sides, "property now required", f"{where}.{name}", "", facade)
            if name in old_req - new_req:  # readers can now get it unset
                self.add(
                    "response" in sides, "property now optional", f"{where}.{name}", "", facade
                )
            self.node(f"{where}.{name}", old_props[name], new_props[name], sides, facade)
        if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
            self.node(f"{where}[]", old["items"], new["items"], sides, facade)

    def schemas(self) -> None:
        old = (self.old.get("components") or {}).get("schemas") or {}
        new = (self.new.get("components") or {}).get("schemas") or {}
        for name in new:
            use = self.new_use.get(name, {"request": set(), "response": set()})
            users = use["request"] | use["response"]
            if name not in old:
                self.add(False, "schema added", name, _sig(new[name]), users)
                continue
            old_use = self.old_use.get(name, {"request": set(), "response": set()})
            sides = {side for side in ("request", "response") if use[side] or old_use[side]}
            users |= old_use["request"] | old_use["response"]
            self.node(name, old[name], new[name], sides, users)
        for name in old.keys() - new.keys():
            use = self.old_use.get(name, {"request": set(), "response": set()})
            self.add(True, "schema removed", name, "", use["request"] | use["response"])

    # -- operations --------------------------------------------------------------------
    def operations(self) -> None:
        old_rows = {r.operation_id: r for r in self.old_table}
        new_rows = {r.operation_id: r for r in self.new_table}
        for op_id, row in new_rows.items():
            label = f"{row.http_method} {row.path} ({op_id})"
            if op_id not in old_rows:
                self.add(False, "operation added", label, "", {row.qualname})
                continue
            before = old_rows[op_id]
            facade = {row.qualname, before.qualname}
            if (before.http_method, before.path) != (row.http_method, row.path):
                # The regenerated client follows the move; callers are unaffected.
                moved = f"was {before.http_method} {before.path}"
                self.add(False, "operation moved", label, moved, facade)
            old_item, new_item = self.old["paths"][before.path], self.new["paths"][row.path]
            old_op, new_op = old_item[before.http_method.lower()], new_item[row.http_method.lower()]
            old_params = parameters(self.old, old_item, old_op)
            self.parameters(label, old_params, parameters(self.new, new_item, new_op), facade)
            old_body = resolve(self.old, old_op.get("requestBody"))
            self.body(label, old_body, resolve(self.new, new_op.get("requestBody")), facade)
            self.responses(label, old_op, new_op, facade)
        for op_id, row in old_rows.items():
            if op_id not in new_rows:
                label = f"{row.http_method} {row.path} ({op_id})"
                self.add(True, "operation removed", label, "", {row.qualname})

    def parameters(self, label: str, old_params: Any, new_params: Any, facade: set[str]) -> None:
        old = {f"{p.get('in')} {p.get('name')}": p for p in old_params}
        new = {f"{p.get('in')} {p.get('name')}": p for p in new_params}
        for key in new.keys() - old.keys():
            required = bool(new[key].get("required"))
            detail = f"{key}, {'required' if required else 'optional'}"
            self.add(required, "parameter added", label, detail, facade)
        for key in old.keys() - new.keys():
            self.add(True, "parameter removed", label, key, facade)
        for key in [k for k in new if k in old]:
            was, now = bool(old[key].get("required")), bool(new[key].get("required"))
            if was != now:
                detail = f"{key}: {'optional -> required' if now else 'required -> optional'}"
                self.add(now, "parameter required changed", label, detail, facade)
            where = f"{label} parameter {key}"
            self.node(where, old[key].get("schema"), new[key].get("schema"), {"request"}, facade)

    def body(self, label: str, old: Any, new: Any, facade: set[str]) -> None:
        if old is None and new is None:
            return
        if old is None or new is None:
            required = bool((new or {}).get("required"))
            what = "request body added" if old is None else "request body removed"
            detail = "" if new is None else ("required" if required else "optional")
            self.add(new is None or required, what, label, detail, facade)
            return
        was, now = bool(old.get("required")), bool(new.get("required"))
        if was != now:
            detail = "optional -> required" if now else "required -> optional"
            self.add(now, "request body required changed", label, detail, facade)
        self.node(f"{label} request body", _json(old), _json(new), {"request"}, facade)

    def responses(self, label: str, old_op: Any, new_op: Any, facade: set[str]) -> None:
        old = {str(k): v for k, v in (old_op.get("responses") or {}).items()}
        new = {str(k): v for k, v in (new_op.get("responses") or {}).items()}
        for status in new.keys() - old.keys():
            self.add(False, "response added", label, f"{status} {_sig(_json(new[status]))}", facade)
        for status in old.keys() - new.keys():
            # Losing a success response breaks readers; losing an error status does not.
            self.add(status.startswith("2"), "response removed", label, status, facade)
        for status in [s for s in new if s in old]:
            where = f"{label} response {status}"
            self.node(where, _json(old[status]), _json(new[status]), {"response"}, facade)


def _json(holder: Any) -> Any:
    """The schema of a request body or response: application/json, else the first one."""
    content: dict[str, Any] = (holder or {}).get("content") or {}
    media: Any = content.get("application/json") or next(iter(content.values()), {})
    return (media or {}).get("schema")


def diff_specs(old: Spec, new: Spec, mapping: Mapping[str, Any]) -> list[Change]:
    """Every classified change from ``old`` to ``new``: breaking ones first, then
    compatible ones, each in document order (operations, then schemas). ``mapping`` is
    facade.yaml's parsed content."""
    differ = _Differ(old, new, mapping)
    differ.operations()
    differ.schemas()
    changes = sorted(differ.changes, key=lambda c: not c.breaking)
    if not changes and old != new:
        changes.append(Change(False, "other changes", "descriptions, summaries or examples"))
    return changes


def render_report(changes: list[Change], *, old_version: str, new_version: str, day: str) -> str:
    """The report as Markdown: printed by regen and prepended to openapi/CHANGELOG.md."""
    version = new_version if old_version == new_version else f"{new_version} (was {old_version})"
    lines = [f"## {day}: info.version {version}", ""]
    breaking = [c for c in changes if c.breaking]
    methods = sorted({m for c in breaking for m in c.facade})
    if breaking:
        affected = ", ".join(f"`{m}`" for m in methods) or "none"
        lines += [f"**BREAKING**: {len(breaking)} breaking change(s); facade methods: {affected}"]
    elif changes:
        lines += ["No breaking changes."]
    else:
        lines += ["No API changes."]
    lines.append("")
    for change in changes:
        mark = "**BREAKING**" if change.breaking else "compatible"
        text = f"- {mark} {change.what}: `{change.subject}`"
        text += f" ({change.detail})" if change.detail else ""
        text += f"; facade: {', '.join(change.facade)}" if change.facade else ""
        lines.append(text)
    return "\n".join(lines).rstrip() + "\n"
