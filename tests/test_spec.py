"""openapi/cflow.yaml is the seed document with its newlines restored: nothing added,
dropped or "fixed". The seed lost its line breaks, so compare token streams: serialise
the parsed YAML the way the seed is laid out and compare word for word."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "openapi" / "cflow.yaml"
# A copy of ../shared/seeds/001_9505f5c1532312a4.txt, kept in the repo so CI has it.
SEED = ROOT / "tests" / "fixtures" / "seeds" / "001_9505f5c1532312a4.txt"


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


def test_spec_validates_as_openapi_3_1(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"] == "3.1.0"


def test_spec_parses_equal_to_the_seed(spec: dict[str, Any]) -> None:
    ours = " ".join(_tokens(spec, [])).replace("'", "").split()
    seed = _seed_tokens(SEED.read_text())
    assert len(ours) == len(seed)
    for i, (a, b) in enumerate(zip(ours, seed, strict=True)):
        assert a == b, f"token {i}: spec has {a!r}, seed has {b!r}; context {seed[i - 5 : i + 5]}"


def test_spec_keeps_the_documents_quirks(spec: dict[str, Any]) -> None:
    # Things that look fixable but must stay as the seed says.
    paths = spec["paths"]
    assert "/integromat/api/cflow/getworkflows" in paths  # same path as the legacy endpoint
    assert "parameters" not in paths["/integromat/api/cflow/getworkflows"]["get"]
    assert set(paths["/integromat/api/cflow/workflows/{workflowId}/requests/{requestId}"]) == {
        "get",
        "put",
        "delete",
    }
    assert spec["components"]["schemas"]["Request"]["properties"]["status"]["enum"] == [
        "draft",
        "pending",
        "approved",
        "rejected",
        "completed",
    ]
    schemes = spec["components"]["securitySchemes"]
    assert {s["name"] for s in schemes.values()} == {"apikey", "userkey", "username"}


def test_token_comparison_can_fail(spec: dict[str, Any]) -> None:
    # Guard against a comparison that passes vacuously.
    altered = yaml.safe_load(SPEC.read_text())
    altered["paths"]["/integromat/api/cflow/users"]["get"]["summary"] = "Cflow List All Users"
    assert _tokens(altered, []) != _tokens(spec, [])


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
