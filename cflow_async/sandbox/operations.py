"""The OpenAPI document's operations, and a 501 answer for those the sandbox does not handle.

The list comes from the generated client package ``cflow_openapi`` (one module per operation,
``cflow_openapi/api/<tag>/<operation>.py``), which ships in the wheel, unlike
``openapi/cflow.yaml``. Regenerating it after the spec gains an operation is therefore enough
for the sandbox to answer that operation with a 501 naming it, instead of a 404 nobody
documented.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterable

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route

# What each generated ``_get_kwargs`` starts with: ``"method": "get", "url": "/...{x}..."``.
# Read from the source rather than called, because calling it needs a valid body object for
# operations with a required body.
_METHOD_RE = re.compile(r'"method":\s*"(?P<method>[a-z]+)"')
_URL_RE = re.compile(r'"url":\s*"(?P<url>/[^"]*)"')
_PARAM_RE = re.compile(r"\{[^{}/]+\}")
# Any value fits a path parameter; this one cannot be mistaken for a literal path segment.
_PLACEHOLDER = "sandbox-path-parameter"


@attrs.frozen
class Operation:
    """One operation of the OpenAPI document: ``operation_id`` as in the spec (camelCase)."""

    operation_id: str
    method: str
    path: str

    def to_json(self) -> dict[str, str]:
        return {"operationId": self.operation_id, "method": self.method, "path": self.path}


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word.capitalize() for word in rest)


@functools.cache
def spec_operations() -> tuple[Operation, ...]:
    """Every operation the generated client knows, sorted by path and method."""
    import cflow_openapi.api as api

    operations = []
    for info in pkgutil.walk_packages(api.__path__, f"{api.__name__}."):
        if info.ispkg:
            continue
        module = importlib.import_module(info.name)
        get_kwargs = getattr(module, "_get_kwargs", None)
        if get_kwargs is None:
            continue
        try:
            source = inspect.getsource(get_kwargs)
        except (OSError, TypeError):
            # No source (a bytecode-only install): the operation is simply not listed.
            continue
        method, url = _METHOD_RE.search(source), _URL_RE.search(source)
        if method is None or url is None:
            continue
        name = info.name.rsplit(".", 1)[1]
        operations.append(Operation(_camel(name), method["method"].upper(), url["url"]))
    return tuple(sorted(operations, key=lambda op: (op.path, op.method)))


def handles(routes: Iterable[BaseRoute], method: str, path: str) -> bool:
    """Whether one of ``routes`` fully matches ``method`` on ``path`` (``{param}`` templates)."""
    concrete = _PARAM_RE.sub(_PLACEHOLDER, path)
    scope = {"type": "http", "method": method.upper(), "path": concrete, "root_path": ""}
    return any(route.matches(scope)[0] is Match.FULL for route in routes)


def not_implemented_route(operation: Operation) -> Route:
    async def endpoint(_request: Request) -> Response:
        return JSONResponse(
            {
                "message": (
                    f"The sandbox does not implement the operation {operation.operation_id} "
                    f"({operation.method} {operation.path})"
                ),
                "operationId": operation.operation_id,
            },
            status_code=501,
        )

    return Route(operation.path, endpoint, methods=[operation.method])
