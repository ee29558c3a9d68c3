"""`make check-facade`: fail, naming the facade methods, when openapi/cflow.yaml no longer
matches what openapi/facade.yaml says each listed method was written against.

A listed method breaks when its operationId is gone, its path parameters (the method's
positional arguments) differ, the operation requires a query parameter the entry does
not list or drops one it lists, or it now requires a request body the method does not
send / no longer takes the body the method sends. Fix: update the facade and its entry.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from facade_table import facade_table, load_mapping

ROOT = Path(__file__).resolve().parents[1]


def facade_drift(spec: Mapping[str, Any], mapping: Mapping[str, Any]) -> list[str]:
    """One line per broken contract, ``namespace.method (operationId): what changed``."""
    rows = {row.operation_id: row for row in facade_table(spec, mapping)}
    problems: list[str] = []
    for op_id, entry in load_mapping(mapping).items():
        name = f"{entry.namespace}.{entry.method} ({op_id})"
        row, want = rows.get(op_id), entry.contract
        if row is None:
            problems.append(f"{name}: the operation is no longer in the document")
            continue
        if row.path_params != want.path_params:
            problems.append(
                f"{name}: path parameters are now {list(row.path_params)}, "
                f"facade.yaml says {list(want.path_params)}"
            )
        if new := [q for q in row.required_query if q not in want.required_query]:
            problems.append(f"{name}: now requires query parameter(s) {new}")
        known = row.required_query + row.optional_query
        if lost := [q for q in want.required_query if q not in known]:
            problems.append(f"{name}: no longer has query parameter(s) {lost}")
        if row.body_required and not want.body:
            problems.append(f"{name}: now requires a request body")
        if want.body and not row.has_body:
            problems.append(f"{name}: no longer takes a request body")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "openapi" / "cflow.yaml")
    parser.add_argument("--mapping", type=Path, default=ROOT / "openapi" / "facade.yaml")
    args = parser.parse_args(argv)
    spec = yaml.safe_load(args.spec.read_text(encoding="utf-8"))
    mapping = yaml.safe_load(args.mapping.read_text(encoding="utf-8"))
    try:
        problems = facade_drift(spec, mapping)
    except ValueError as exc:
        print(f"check-facade: {exc}", file=sys.stderr)
        return 1
    if problems:
        print("BREAKING: facade methods no longer match openapi/cflow.yaml:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        print(
            "Update the facade and these entries in openapi/facade.yaml (remove the entry of "
            "an operation that is gone, or point it at its replacement).",
            file=sys.stderr,
        )
        return 1
    print(f"facade.yaml matches {args.spec.name}: {len(load_mapping(mapping))} methods checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
