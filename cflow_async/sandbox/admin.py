"""The admin routes under ``/__sandbox__`` (no credentials): faults, state, diagnostics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cflow_async.sandbox import data
from cflow_async.sandbox.bodies import json_body, json_object
from cflow_async.sandbox.faults import ScriptedFault
from cflow_async.sandbox.gate import ABORT_EXTENSION
from cflow_async.sandbox.state import SandboxState
from cflow_async.sandbox.validation import EMPTY_BODY, bad_request, require_object


class AdminRoutes:
    def __init__(self, state: SandboxState, operations: Callable[[], dict[str, Any]]) -> None:
        self.state = state
        self._operations = operations

    async def health(self, _request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def faults(self, request: Request) -> Response:
        if request.method == "PUT":
            self.state.set_faults(await json_object(request))
        elif request.method == "PATCH":
            self.state.patch_faults(await json_object(request))
        return JSONResponse(self.state.faults.current().to_json())

    async def script(self, request: Request) -> Response:
        body = await json_body(request)
        items = body if isinstance(body, list) else [body]
        parsed = [ScriptedFault.from_json(item) for item in items]
        return JSONResponse(self.state.append_script(parsed).to_json())

    async def stats(self, _request: Request) -> Response:
        return JSONResponse(self.state.stats_json())

    async def records(self, _request: Request) -> Response:
        return JSONResponse(self.state.records_json())

    async def requests(self, _request: Request) -> Response:
        return JSONResponse(self.state.requests_json())

    async def reset(self, request: Request) -> Response:
        body = await json_body(request, allow_empty=True)
        options = {} if body is EMPTY_BODY else require_object(body, "The request body")
        keep_faults = options.get("keep_faults", False)
        if not isinstance(keep_faults, bool):
            bad_request("keep_faults must be true or false")
        self.state.reset(keep_faults=keep_faults)
        return JSONResponse({"status": "reset", "keep_faults": keep_faults})

    async def operations(self, _request: Request) -> Response:
        return JSONResponse(self._operations())

    async def connection(self, request: Request) -> Response:
        """The socket options of the connection this request came on (``null``: no socket)."""
        extension = request.scope.get("extensions", {}).get(ABORT_EXTENSION)
        nodelay = None if extension is None else extension["tcp_nodelay"]()
        return JSONResponse({"tcp_nodelay": nodelay})

    def routes(self) -> list[Route]:
        admin = data.ADMIN_PREFIX
        return [
            Route(f"{admin}/health", self.health, methods=["GET"]),
            Route(f"{admin}/faults", self.faults, methods=["GET", "PUT", "PATCH"]),
            Route(f"{admin}/faults/script", self.script, methods=["POST"]),
            Route(f"{admin}/stats", self.stats, methods=["GET"]),
            Route(f"{admin}/records", self.records, methods=["GET"]),
            Route(f"{admin}/requests", self.requests, methods=["GET"]),
            Route(f"{admin}/reset", self.reset, methods=["POST"]),
            Route(f"{admin}/operations", self.operations, methods=["GET"]),
            Route(f"{admin}/connection", self.connection, methods=["GET"]),
        ]
