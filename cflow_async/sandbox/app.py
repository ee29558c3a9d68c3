"""The sandbox's ASGI app: the Cflow gate in front of the legacy and OpenAPI routes, a 501 for
each documented operation without a handler, and the admin routes."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from cflow_async.sandbox.admin import AdminRoutes
from cflow_async.sandbox.faults import FaultConfigError
from cflow_async.sandbox.gate import ABORT_EXTENSION, CflowGate, SandboxConnectionDropped
from cflow_async.sandbox.legacy import LegacyRoutes
from cflow_async.sandbox.openapi_routes import OpenApiRoutes
from cflow_async.sandbox.operations import (
    Operation,
    handles,
    not_implemented_route,
    spec_operations,
)
from cflow_async.sandbox.state import SandboxConfig, SandboxState
from cflow_async.sandbox.validation import ApiError

__all__ = [
    "ABORT_EXTENSION",
    "SandboxApp",
    "SandboxConnectionDropped",
    "create_app",
]


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def _fault_config_error(_request: Request, exc: Exception) -> Response:
    return JSONResponse({"message": f"Invalid fault configuration: {exc}"}, status_code=400)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"message": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _server_error(_request: Request, _exc: Exception) -> Response:
    return JSONResponse({"message": "Internal sandbox error"}, status_code=500)


class SandboxApp(Starlette):
    """A Starlette app whose outermost layer is the Cflow gate (faults and authentication)."""

    def __init__(self, state: SandboxState) -> None:
        self.sandbox = state
        cflow_routes: list[BaseRoute] = [
            *LegacyRoutes(state).routes(),
            *OpenApiRoutes(state).routes(),
        ]
        self._handled = tuple(cflow_routes)
        #: The OpenAPI operations without a handler here; each answers 501 naming itself.
        self.unimplemented_operations: tuple[Operation, ...] = tuple(
            op for op in spec_operations() if not handles(cflow_routes, op.method, op.path)
        )
        super().__init__(
            routes=[
                *cflow_routes,
                *(not_implemented_route(op) for op in self.unimplemented_operations),
                *AdminRoutes(state, self.operations_json).routes(),
            ],
            exception_handlers={
                ApiError: _api_error,
                FaultConfigError: _fault_config_error,
                HTTPException: _http_error,
                Exception: _server_error,
            },
        )
        self.state.sandbox = state

    def implements(self, method: str, path: str) -> bool:
        """Whether the sandbox has a real handler for ``method`` on the ``path`` template."""
        return handles(self._handled, method, path)

    def operations_json(self) -> dict[str, Any]:
        operations = spec_operations()
        missing = set(self.unimplemented_operations)
        return {
            "implemented": [op.to_json() for op in operations if op not in missing],
            "unimplemented": [op.to_json() for op in operations if op in missing],
        }

    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's own error middleware, so a drop fault's exception (in-process use)
        # reaches the caller instead of becoming a 500 response.
        return CflowGate(super().build_middleware_stack(), self.sandbox)


def create_app(config: SandboxConfig | None = None) -> SandboxApp:
    """A fresh sandbox app with its own in-memory state (``app.state.sandbox``)."""
    return SandboxApp(SandboxState(config))
