"""Generate the facade's OpenAPI namespaces (``cflow.requests.list(...)``, ...) from the
OpenAPI document and ``openapi/facade.yaml``.

It reads the document with openapi-python-client's own parser (the pinned version), so
the namespaces see exactly the models, parameters and responses the generated package
has, and renders ``openapi/templates/facade_*.py.jinja`` into:

* ``cflow_async/_openapi_namespaces.py``: one class per namespace, one method per
  operation, each a single ``Requester.request`` call (typed for mypy --strict);
* ``cflow_async/_openapi_mixin.py``: the client's namespace properties, importing the
  namespaces (and the generated models) on first use, not with ``import cflow_async``.

Run by ``make regen`` (``scripts/regen.sh``) after openapi-python-client; ``make
check-generated`` regenerates both into a temporary folder and compares.

    python scripts/gen_facade.py [--spec openapi/cflow.yaml] [--out cflow_async]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml
from openapi_python_client.config import Config, ConfigFile, MetaType
from openapi_python_client.parser.openapi import Endpoint, GeneratorData
from openapi_python_client.parser.properties import (
    AnyProperty,
    BooleanProperty,
    FloatProperty,
    IntProperty,
    ListProperty,
    ModelProperty,
    StringProperty,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from facade_table import FacadeOperation, load_facade_table  # noqa: E402

OUTPUTS = {
    "facade_namespaces.py.jinja": "_openapi_namespaces.py",
    "facade_mixin.py.jinja": "_openapi_mixin.py",
}


@dataclass
class Param:
    name: str  # Python name
    wire: str  # name in the document
    annotation: str
    required: bool
    convert: str  # a function of _openapi_runtime, applied to the value


@dataclass
class Method:
    name: str
    operation_id: str
    http_method: str
    template: str  # the path as documented, e.g. /x/{workflowId}
    path_expr: str  # an f-string body building the encoded path
    summary: str
    description: str
    path_params: list[Param] = field(default_factory=list)
    query_params: list[Param] = field(default_factory=list)
    body_params: list[Param] = field(default_factory=list)
    returns: str = "None"
    reader: str = "None"


@dataclass
class NamespaceView:
    name: str
    class_name: str
    methods: list[Method] = field(default_factory=list)


def _text(value: Any) -> str:
    getter = getattr(value, "get_untrusted_value", None)
    return str(getter() if getter else value)


def _scalar(prop: Any) -> str:
    if isinstance(prop, StringProperty):
        return "str"
    if isinstance(prop, BooleanProperty):
        return "bool"
    if isinstance(prop, IntProperty):
        return "int"
    if isinstance(prop, FloatProperty):
        return "float"
    return "Any"


def _body_param(prop: Any, models: set[str]) -> Param:
    if isinstance(prop, ModelProperty) and not prop.required_properties + prop.optional_properties:
        # An object of free-form values (a request's `fields`): a mapping.
        annotation, convert = "Mapping[str, Any]", "fields"
    elif isinstance(prop, StringProperty):
        annotation, convert = "str", "optional_text"
    elif isinstance(prop, ModelProperty):
        models.add(prop.class_info.name)
        annotation, convert = prop.class_info.name, "body_value"
    else:
        annotation, convert = _scalar(prop), "body_value"
    if not prop.required:
        annotation += " | None"
    return Param(prop.python_name, _text(prop.name), annotation, prop.required, convert)


def _returns(endpoint: Endpoint, models: set[str]) -> tuple[str, str]:
    """(annotation, reader expression) for the first 2xx answer."""
    for response in endpoint.responses.patterns:
        code = response.status_code.pattern
        if not code.startswith("2"):
            continue
        prop = response.prop
        if isinstance(prop, ModelProperty):
            models.add(prop.class_info.name)
            return prop.class_info.name, f"_read_{prop.class_info.name}"
        if isinstance(prop, ListProperty) and isinstance(prop.inner_property, ModelProperty):
            name = prop.inner_property.class_info.name
            models.add(name)
            return f"builtins.list[{name}]", f"_read_{name}_list"
        if isinstance(prop, AnyProperty) and code == "204":
            return "None", "None"
        return "Any", "rt.json_value"
    return "None", "None"


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _method(endpoint: Endpoint, entry: FacadeOperation, models: set[str]) -> Method:
    path_params = [
        Param(p.python_name, _text(p.name), "str | int", True, "segment")
        for p in endpoint.path_parameters
    ]
    # The parser's path already names each parameter by its Python name: an f-string body.
    path_expr = _text(endpoint.path)
    query = [
        Param(
            p.python_name,
            _text(p.name),
            _scalar(p) + ("" if p.required else " | None"),
            p.required,
            "query_value",
        )
        for p in endpoint.query_parameters
    ]
    body: list[Param] = []
    for candidate in endpoint.bodies:
        prop = candidate.prop
        if isinstance(prop, ModelProperty):
            body = [
                _body_param(p, models) for p in prop.required_properties + prop.optional_properties
            ]
        break  # the first content type (application/json) is the one the facade sends
    returns, reader = _returns(endpoint, models)
    return Method(
        name=entry.method,
        operation_id=entry.operation_id,
        http_method=endpoint.method.upper(),
        template=entry.path,
        path_expr=path_expr,
        summary=_text(endpoint.summary).strip(),
        description=" ".join(_text(endpoint.description).split()),
        path_params=path_params,
        query_params=query,
        body_params=body,
        returns=returns,
        reader=reader,
    )


def build(spec: Path, mapping: Path, templates: Path) -> dict[str, str]:
    """File name -> source, for every generated facade module (not yet formatted)."""
    config = Config.from_sources(
        ConfigFile.load_from_path(ROOT / "openapi" / "config.yaml"),
        MetaType.NONE,
        spec,
        "utf-8",
        True,
        None,
    )
    data = GeneratorData.from_dict(yaml.safe_load(spec.read_text(encoding="utf-8")), config=config)
    if not isinstance(data, GeneratorData):
        raise SystemExit(f"gen_facade: cannot parse {spec}: {data.detail}")
    # The facade table names each operation; match it to the parser's endpoint by wire line.
    # (The parser writes path parameters under their Python names: compare with them blanked.)
    names = {(op.http_method, _shape(op.path)): op for op in load_facade_table(spec, mapping)}
    namespaces: dict[str, NamespaceView] = {}
    models: set[str] = set()
    for collection in data.endpoint_collections_by_tag.values():
        for endpoint in collection.endpoints:
            entry = names[(endpoint.method.upper(), _shape(_text(endpoint.path)))]
            view = namespaces.setdefault(
                entry.namespace,
                NamespaceView(entry.namespace, _class_name(entry.namespace) + "Namespace"),
            )
            view.methods.append(_method(endpoint, entry, models))
    ordered = [namespaces[n] for n in sorted(namespaces)]
    for view in ordered:
        view.methods.sort(key=lambda m: m.name)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    context = {"namespaces": ordered, "models": sorted(models), "spec_version": _text(data.version)}
    return {out: env.get_template(tpl).render(**context) for tpl, out in OUTPUTS.items()}


def _class_name(namespace: str) -> str:
    return "".join(part.capitalize() for part in namespace.split("_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "openapi" / "cflow.yaml")
    parser.add_argument("--mapping", type=Path, default=ROOT / "openapi" / "facade.yaml")
    parser.add_argument("--templates", type=Path, default=ROOT / "openapi" / "templates")
    parser.add_argument("--out", type=Path, default=ROOT / "cflow_async")
    args = parser.parse_args(argv)
    written = []
    for name, source in build(args.spec, args.mapping, args.templates).items():
        path = args.out / name
        path.write_text(source, encoding="utf-8")
        written.append(str(path))
    # The pinned ruff formats them with the project's settings (wherever --out is, e.g. a
    # temporary folder for check-generated), so a diff means a change.
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    settings = ["--config", str(ROOT / "pyproject.toml")]
    subprocess.run([ruff, "check", *settings, "--fix-only", "--quiet", *written], check=True)
    subprocess.run([ruff, "format", *settings, "--quiet", *written], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
