"""`make regen [SPEC=path]`: take a new Cflow OpenAPI document and regenerate from it.

Without --spec: regenerate generated/cflow_openapi from openapi/cflow.yaml (scripts/regen.sh).
With --spec PATH (YAML or JSON, OpenAPI 3.0 or 3.1):
  1. parse and validate it (openapi-spec-validator); on failure nothing is written;
  2. store the text as received in openapi/upstream/cflow.<json|yaml> (the fidelity test
     compares openapi/cflow.yaml with it) and its normalised form in openapi/cflow.yaml
     (block YAML, the document's own key order; content unchanged);
  3. regenerate generated/cflow_openapi;
  4. print the API change report (scripts/specdiff.py) and prepend it to
     openapi/CHANGELOG.md, unless nothing changed.
Breaking changes do not stop it: the report says BREAKING and `make check-facade` fails
until openapi/facade.yaml is updated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from facade_table import facade_table
from specdiff import diff_specs, render_report

ROOT = Path(__file__).resolve().parents[1]
CHANGELOG_HEADER = """# Cflow API changes

Written by `make regen SPEC=...` (scripts/regen.py): one API change report per document
that changed the API, newest first. See README, "When Cflow's API document changes".

<!-- reports below, newest first -->
"""


class SpecError(ValueError):
    """The document cannot be taken: not YAML/JSON, not OpenAPI 3.0/3.1, or invalid."""


def parse_document(raw: bytes, name: str) -> tuple[dict[str, Any], str]:
    """``(document, "json" | "yaml")``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{name}: not UTF-8 ({exc})") from exc
    fmt = "json" if name.endswith(".json") or text.lstrip().startswith("{") else "yaml"
    try:
        spec = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SpecError(f"{name}: not valid {fmt.upper()}: {exc}") from exc
    if not isinstance(spec, dict):
        raise SpecError(f"{name}: not an OpenAPI document (top level is not a mapping)")
    version = str(spec.get("openapi", ""))
    if not version.startswith(("3.0.", "3.1.")):
        raise SpecError(f"{name}: openapi is {version or 'missing'!r}; 3.0.x or 3.1.x needed")
    return spec, fmt


def validate_document(spec: dict[str, Any], name: str) -> None:
    from openapi_spec_validator import validate  # a dev dependency: imported only here

    try:
        validate(spec)
    except Exception as exc:  # the validator raises several unrelated types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"{name}: not a valid OpenAPI document: {first}") from exc


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # indent sequences under their key

    def ignore_aliases(self, data: Any) -> bool:
        return True  # spell out shared nodes (YAML anchors upstream) instead of &id001


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else ">" if len(value) > 55 and " " in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def normalise(spec: dict[str, Any]) -> str:
    """The layout of openapi/cflow.yaml: block YAML, the document's key order, long prose
    folded (``>-``) on one line. Parses back equal to ``spec``."""
    text = yaml.dump(spec, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10**9)
    if yaml.safe_load(text) != spec:  # PyYAML mangles some control characters
        raise SpecError("normalising the document changed its content")
    return text


def store(root: Path, raw: bytes, fmt: str, normalised: str) -> None:
    upstream = root / "openapi" / "upstream"
    upstream.mkdir(parents=True, exist_ok=True)
    for old in upstream.glob("cflow.*"):
        old.unlink()
    (upstream / f"cflow.{fmt}").write_bytes(raw)
    (root / "openapi" / "cflow.yaml").write_text(normalised, encoding="utf-8")


def generate(root: Path) -> None:
    # regen.sh finds openapi-python-client and ruff next to the Python running this script.
    env = {**os.environ, "REGEN_BIN": str(Path(sys.executable).parent)}
    subprocess.run(["bash", str(root / "scripts" / "regen.sh")], check=True, env=env)


def prepend_changelog(root: Path, report: str) -> None:
    path = root / "openapi" / "CHANGELOG.md"
    text = path.read_text(encoding="utf-8") if path.exists() else CHANGELOG_HEADER
    marker = "<!-- reports below, newest first -->\n"
    head, found, tail = text.partition(marker)
    if not found:
        head, found, tail = CHANGELOG_HEADER, "", text
    path.write_text(f"{head}{found}\n{report}{tail}", encoding="utf-8")


def _previous(root: Path, spec_path: Path) -> dict[str, Any]:
    current = root / "openapi" / "cflow.yaml"
    if spec_path.resolve() == current.resolve():
        # A hand-edited openapi/cflow.yaml: compare with the committed one.
        shown = subprocess.run(
            ["git", "show", "HEAD:openapi/cflow.yaml"], cwd=root, capture_output=True, check=False
        )
        if shown.returncode == 0:
            previous: dict[str, Any] = yaml.safe_load(shown.stdout)
            return previous
    loaded: dict[str, Any] = yaml.safe_load(current.read_text(encoding="utf-8"))
    return loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, help="the new upstream document (YAML or JSON)")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--date", default=dt.datetime.now(dt.UTC).date().isoformat())
    args = parser.parse_args(argv)
    root: Path = args.root
    if args.spec is None:
        generate(root)
        return 0
    raw = args.spec.read_bytes()
    mapping = yaml.safe_load((root / "openapi" / "facade.yaml").read_text(encoding="utf-8"))
    try:
        new, fmt = parse_document(raw, args.spec.name)
        validate_document(new, args.spec.name)
        facade_table(new, mapping)  # two operations with one facade name: refuse early
        normalised = normalise(new)
    except (SpecError, ValueError) as exc:
        print(f"regen: {exc}\nNothing was changed.", file=sys.stderr)
        return 1
    old = _previous(root, args.spec)
    store(root, raw, fmt, normalised)
    generate(root)
    changes = diff_specs(old, new, mapping)
    version = str((new.get("info") or {}).get("version", "?"))
    report = render_report(
        changes,
        old_version=str((old.get("info") or {}).get("version", "?")),
        new_version=version,
        day=args.date,
    )
    print(report, end="")
    if changes:
        prepend_changelog(root, report)
    if any(c.breaking for c in changes):
        print(
            "\nBREAKING changes: `make check` (check-facade) fails until openapi/facade.yaml "
            "and the facade are updated.",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
