"""openapi/cflow.yaml is the upstream document it was made from, normalised: nothing
added, dropped or "fixed". The upstream text as received sits beside it in
openapi/upstream/ (`make regen SPEC=...` stores both). A YAML or JSON upstream must parse
equal, key order included. The first upstream, the seed (cflow.txt), lost its line breaks,
so for it compare token streams: serialise the parsed YAML the way the seed is laid out
and compare word for word. That also keeps the quirks that look fixable: getworkflows at
the legacy endpoint's path, a 3-method request item, the status enum, the header names."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi" / "cflow.yaml"
UPSTREAM = ROOT / "openapi" / "upstream"


def _upstream() -> Path:
    found = sorted(UPSTREAM.glob("cflow.*"))
    assert len(found) == 1, f"expected one upstream document in {UPSTREAM}, found {found}"
    return found[0]


def _upstream_is_the_seed() -> bool:
    # The seed's text cannot be parsed; it is kept as received, as cflow.txt.
    return _upstream().suffix == ".txt"


def _tokens(node: Any, out: list[str]) -> list[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            out.append(f"{key}:")
            _tokens(value, out)
    elif isinstance(node, list):
        if not node:
            out.append("[]")
        for item in node:
            out.append("-")
            _tokens(item, out)
    elif isinstance(node, bool):
        out.append("true" if node else "false")
    else:
        out.extend(str(node).split())
    return out


def _seed_tokens(text: str) -> list[str]:
    # Quotes and the folded-scalar marker are YAML syntax, not content.
    return text.replace(">-", " ").replace("'", "").split()


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC.read_text())


def test_spec_validates_as_openapi_3(spec: dict[str, Any]) -> None:
    validate(spec)
    assert str(spec["openapi"]).startswith(("3.0.", "3.1."))


def _assert_same_as_the_seed(spec: dict[str, Any], seed_text: str) -> None:
    ours = " ".join(_tokens(spec, [])).replace("'", "").split()
    seed = _seed_tokens(seed_text)
    assert len(ours) == len(seed)
    for i, (a, b) in enumerate(zip(ours, seed, strict=True)):
        assert a == b, f"token {i}: spec has {a!r}, seed has {b!r}; context {seed[i - 5 : i + 5]}"


def _assert_same_as_the_document(spec: dict[str, Any], path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from regen import parse_document  # the parser `make regen SPEC=` used
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    upstream, _ = parse_document(path.read_bytes(), path.name)
    assert spec == upstream
    assert _tokens(spec, []) == _tokens(upstream, [])  # key order too


def test_spec_is_the_upstream_document(spec: dict[str, Any]) -> None:
    path = _upstream()
    if _upstream_is_the_seed():
        _assert_same_as_the_seed(spec, path.read_text())
    else:
        _assert_same_as_the_document(spec, path)


def test_upstream_comparison_can_fail(spec: dict[str, Any], tmp_path: Path) -> None:
    # Guard: both comparisons reject a document that differs by one word or one key order.
    altered = yaml.safe_load(SPEC.read_text())
    altered["info"]["title"] = "Cflow APIs"
    seed_like = " ".join(_tokens(spec, []))
    with pytest.raises(AssertionError):
        _assert_same_as_the_seed(altered, seed_like)
    reordered = dict(reversed(list(spec.items())))
    for name, document in (("a.json", altered), ("b.json", reordered)):
        (tmp_path / name).write_text(json.dumps(document))
        with pytest.raises(AssertionError):
            _assert_same_as_the_document(spec, tmp_path / name)
    (tmp_path / "c.json").write_text(json.dumps(spec))
    _assert_same_as_the_document(spec, tmp_path / "c.json")


seed_only = pytest.mark.skipif(
    not _upstream_is_the_seed(),
    reason="a parsed upstream is compared structurally by test_spec_is_the_upstream_document",
)


_SCHEMA_KEYS = {
    "type",
    "properties",
    "items",
    "$ref",
    "description",
    "enum",
    "format",
    "required",
    "additionalProperties",
}
_OPERATION_KEYS = {
    "operationId",
    "summary",
    "description",
    "tags",
    "parameters",
    "requestBody",
    "responses",
}


def _schemas(node: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    """Every Schema Object under ``node``, with where it sits."""
    found = [(path, node)]
    for name, child in (node.get("properties") or {}).items():
        found += _schemas(child, f"{path}.properties.{name}")
    if isinstance(node.get("items"), dict):
        found += _schemas(node["items"], f"{path}.items")
    return found


@seed_only
def test_spec_nesting_is_the_documents(spec: dict[str, Any]) -> None:
    """Token order cannot see indentation: a property indented one level too deep would
    still match the seed. Schema and operation keywords pin the nesting down."""
    schemas = [
        s for name, root in spec["components"]["schemas"].items() for s in _schemas(root, name)
    ]
    for where, schema in schemas:
        assert set(schema) <= _SCHEMA_KEYS, f"{where} has {set(schema) - _SCHEMA_KEYS}"
    assert len(schemas) == 45  # 8 component schemas, their properties and items
    for path, item in spec["paths"].items():
        assert set(item) <= {"get", "put", "post", "delete"}, path
        for method, operation in item.items():
            assert set(operation) <= _OPERATION_KEYS, f"{method} {path}"
            assert set(operation) >= {"operationId", "responses", "tags"}, f"{method} {path}"
    request = spec["components"]["schemas"]["Request"]["properties"]
    assert list(request) == [
        "id",
        "workflowId",
        "status",
        "currentStage",
        "fields",
        "submittedBy",
        "createdAt",
        "updatedAt",
    ]
