"""The sandbox's ASGI app: Cflow routes (legacy and OpenAPI), the fault gate and admin routes."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cflow_async.sandbox import data
from cflow_async.sandbox.faults import WRITE_METHODS, FaultConfigError, ScriptedFault
from cflow_async.sandbox.state import SandboxConfig, SandboxState, Workflow
from cflow_async.sandbox.validation import (
    EMPTY_BODY,
    MAX_BODY_BYTES,
    ApiError,
    bad_request,
    identifier,
    optional_string,
    parse_json_body,
    require_object,
)

# ASGI extension through which a server hands the app a way to kill the connection; set by
# ``server.SandboxH11Protocol``. Its value is ``{"abort": <callable with no arguments>}``.
ABORT_EXTENSION = "cflow_sandbox.connection"

_DISCONNECT_WAIT = 5.0


class SandboxConnectionDropped(ConnectionError):
    """Raised to the caller when a drop fault fires and there is no socket to abort.

    Under ``httpx.ASGITransport`` this propagates out of the client call instead of a
    transport error, because an in-process app has no connection to close.
    """


# --- helpers ------------------------------------------------------------------------------


async def _read_body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                bad_request(f"Request body larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        # Nobody is left to read the answer; this only keeps the error out of the server log.
        bad_request("Client disconnected while sending the body")
    return b"".join(chunks)


async def _json_body(request: Request, *, allow_empty: bool = False) -> Any:
    return parse_json_body(await _read_body(request), allow_empty=allow_empty)


async def _json_object(request: Request) -> dict[str, Any]:
    return require_object(await _json_body(request), "The request body")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value)
    return None


def _workflow_name(main: dict[str, Any], request: Request) -> str:
    in_body = main.get("WorkflowName")
    if in_body is not None and not isinstance(in_body, str):
        bad_request("main.WorkflowName must be a string")
    in_query = request.query_params.get("WorkflowName") or None
    if in_body and in_query and in_body != in_query:
        bad_request(
            f"WorkflowName in the query ('{in_query}') and in the body ('{in_body}') differ"
        )
    name = in_body or in_query
    if not name:
        bad_request("WorkflowName is required (in main.WorkflowName or the query string)")
    return name


def _fields_from(body: dict[str, Any]) -> dict[str, Any]:
    if "fields" not in body:
        bad_request("'fields' is required")
    return require_object(body["fields"], "'fields'")


# --- the gate in front of every Cflow route ---------------------------------------------------


async def _discard(_message: Message) -> None:
    return None


def _replay(body: bytes) -> Receive:
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _drain(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _drop_connection(scope: Scope, receive: Receive) -> None:
    extension = scope.get("extensions", {}).get(ABORT_EXTENSION)
    if extension is None:
        raise SandboxConnectionDropped(
            "sandbox drop fault: no socket to abort (in-process transport)"
        )
    extension["abort"]()
    # Returning before the server noticed the disconnect would make it answer a 500 for the
    # response we never started; its receive() reports the disconnect once the abort landed.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_DISCONNECT_WAIT):
            while (await receive())["type"] != "http.disconnect":
                pass


class CflowGate:
    """Counts Cflow requests, injects faults, then checks credentials.

    Faults come before authentication, like a load balancer's 503 would.
    """

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not (
            path == data.LEGACY_PREFIX or path.startswith(data.LEGACY_PREFIX + "/")
        ):
            await self.app(scope, receive, send)
            return
        stats = self.state.stats
        stats.requests_seen += 1
        method: str = scope["method"]
        plan = self.state.faults.plan(method, path)
        if plan is not None and plan.latency > 0:
            stats.requests_delayed += 1
            await asyncio.sleep(plan.latency)
        if plan is None or not plan.faulted:
            await self._authenticated(scope, receive, send)
            return
        # The whole request is read first, so a drop happens after the client finished sending,
        # which is the ambiguous case the fault exists to reproduce.
        body = await _drain(receive)
        if plan.act and method.upper() in WRITE_METHODS:
            stats.faults_acted += 1
            await self._authenticated(scope, _replay(body), _discard)
        if plan.drop:
            stats.faults_by_kind["drop"] += 1
            await _drop_connection(scope, receive)
            return
        assert plan.status is not None
        stats.faults_by_kind["status"] += 1
        stats.faults_by_status[plan.status] += 1
        headers = {"x-cflow-sandbox-fault": "injected"}
        if plan.retry_after is not None:
            headers["retry-after"] = plan.retry_after
        if plan.retry_after_ms is not None:
            headers["retry-after-ms"] = str(plan.retry_after_ms)
        response = JSONResponse(
            {"message": f"Sandbox fault injected: HTTP {plan.status}"},
            status_code=plan.status,
            headers=headers,
        )
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        config = self.state.config
        expected = (
            (b"apikey", config.api_key),
            (b"userkey", config.user_key),
            (b"username", config.username),
        )
        ok = True
        for name, value in expected:
            given = _header(scope, name)
            # Every header is compared (no early exit) in constant time, so timing reveals nothing.
            ok &= given is not None and hmac.compare_digest(given, value.encode("utf-8"))
        return ok

    async def _authenticated(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._authorized(scope):
            await self.app(scope, receive, send)
            return
        self.state.stats.unauthorized += 1
        response = JSONResponse(
            {"message": "Unauthorized: send valid apikey, userkey and username headers"},
            status_code=401,
        )
        await response(scope, receive, send)


# --- Cflow routes -----------------------------------------------------------------------------


class _CflowRoutes:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    @property
    def actor(self) -> str:
        # Authentication already pinned the username header to the configured one.
        return self.state.config.username

    def _query_workflow(self, request: Request) -> Workflow:
        return self.state.workflow(request.query_params.get("WorkflowName"))

    def _path_workflow(self, request: Request) -> Workflow:
        return self.state.workflow(str(request.path_params["workflowId"]))

    def _optional_stage(self, request: Request) -> None:
        group_id = request.query_params.get("group_id")
        if group_id:
            self.state.check_stage(group_id)

    # legacy

    async def get_connection(self, _request: Request) -> Response:
        return JSONResponse({"message": "OK"})

    async def get_workflows(self, request: Request) -> Response:
        workflows = self.state.workflows.values()
        # One path, two documented shapes: the legacy document passes ?username=, the OpenAPI
        # document does not.
        if "username" in request.query_params:
            return JSONResponse({"Workflows": [workflow.legacy_json() for workflow in workflows]})
        return JSONResponse([workflow.openapi_json() for workflow in workflows])

    async def get_process(self, request: Request) -> Response:
        self._query_workflow(request)
        return JSONResponse(
            [
                {"ProcessStage": stage, "ProcessStageDisplayName": display, "ProcessID": stage_id}
                for stage, display, stage_id in data.STAGES
            ]
        )

    async def get_status(self, request: Request) -> Response:
        self._query_workflow(request)
        group_id = self.state.check_stage(request.query_params.get("group_id"))
        return JSONResponse(
            {
                "Status": [
                    {"Group_ID": group_id, "Field_Status": status} for status in data.STATUS_VALUES
                ]
            }
        )

    async def submit_record(self, request: Request) -> Response:
        body = await _json_object(request)
        main = require_object(body.get("main"), "'main'")
        values = require_object(body.get("dynamicobj"), "'dynamicobj'")
        workflow = self.state.workflow(_workflow_name(main, request))
        record = self.state.submit_record(workflow, values, self.actor)
        return JSONResponse({"Record_Id": record.record_id})

    async def update_record(self, request: Request) -> Response:
        body = await _json_object(request)
        main = require_object(body.get("main"), "'main'")
        values = require_object(body.get("Values"), "'Values'")
        name = _workflow_name(main, request)
        query = request.query_params
        record_id = identifier(main.get("RecordId", query.get("RecordId")), "RecordId")
        raw_group = main.get("group_id", query.get("group_id"))
        group_id = None if raw_group in (None, "") else identifier(raw_group, "group_id")
        workflow = self.state.workflow(name)
        record = self.state.update_record(workflow, record_id, group_id, values)
        return JSONResponse({"Record_Id": record.record_id})

    async def process_fields_for_map(self, request: Request) -> Response:
        workflow = self._query_workflow(request)
        self._optional_stage(request)
        return JSONResponse(workflow.field_sets.for_map)

    async def process_fieldsets(self, request: Request) -> Response:
        workflow = self._query_workflow(request)
        self._optional_stage(request)
        return JSONResponse(workflow.field_sets.process)

    async def workflow_fieldsets(self, request: Request) -> Response:
        workflow = self._query_workflow(request)
        return JSONResponse(workflow.field_sets.workflow)

    # OpenAPI

    async def workflow(self, request: Request) -> Response:
        return JSONResponse(self._path_workflow(request).openapi_json())

    async def requests(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._create(request, draft=False)
        workflow = self._path_workflow(request)
        return JSONResponse(
            [
                item.to_json()
                for item in self.state.requests.values()
                if item.workflow_id == workflow.name
            ]
        )

    async def drafts(self, request: Request) -> Response:
        return await self._create(request, draft=True)

    async def _create(self, request: Request, *, draft: bool) -> Response:
        fields = _fields_from(await _json_object(request))
        workflow = self._path_workflow(request)
        created = self.state.create_request(workflow, fields, self.actor, draft=draft)
        return JSONResponse(created.to_json(), status_code=201)

    async def request_item(self, request: Request) -> Response:
        fields = _fields_from(await _json_object(request)) if request.method == "PUT" else None
        workflow = self._path_workflow(request)
        item = self.state.get_request(workflow, str(request.path_params["requestId"]))
        if request.method == "DELETE":
            self.state.delete_request(item)
            return Response(status_code=204)
        if fields is not None:
            self.state.update_request(item, fields, self.actor)
        return JSONResponse(item.to_json())

    async def approve(self, request: Request) -> Response:
        return await self._act(request, approve=True)

    async def reject(self, request: Request) -> Response:
        return await self._act(request, approve=False)

    async def _act(self, request: Request, *, approve: bool) -> Response:
        body = await _json_body(request, allow_empty=True)
        action = {} if body is EMPTY_BODY else require_object(body, "The request body")
        comment = optional_string(action, "comment")
        reassign_to = optional_string(action, "reassignTo")
        workflow = self._path_workflow(request)
        item = self.state.get_request(workflow, str(request.path_params["requestId"]))
        if reassign_to is not None:
            self.state.reassign(item, self.actor, reassign_to, comment)
        elif approve:
            self.state.approve(item, self.actor, comment)
        else:
            self.state.reject(item, self.actor, comment)
        return JSONResponse(item.to_json())

    async def users(self, _request: Request) -> Response:
        return JSONResponse(self.state.users)

    async def roles(self, _request: Request) -> Response:
        return JSONResponse(self.state.roles)

    def routes(self) -> list[Route]:
        legacy = data.LEGACY_PREFIX
        cflow = f"{legacy}/cflow"
        wf = f"{cflow}/workflows/{{workflowId}}"
        item = f"{wf}/requests/{{requestId}}"
        return [
            Route(f"{legacy}/connection/GetConnection", self.get_connection, methods=["GET"]),
            Route(f"{cflow}/getworkflows", self.get_workflows, methods=["GET"]),
            Route(f"{cflow}/getprocess", self.get_process, methods=["GET"]),
            Route(f"{cflow}/getstatus", self.get_status, methods=["GET"]),
            Route(f"{cflow}/submitrecord", self.submit_record, methods=["POST"]),
            Route(f"{cflow}/updaterecord", self.update_record, methods=["POST"]),
            Route(
                f"{cflow}/getworkflowprocessfieldsformap",
                self.process_fields_for_map,
                methods=["GET"],
            ),
            Route(f"{cflow}/getworkflowprocessfieldsets", self.process_fieldsets, methods=["GET"]),
            Route(f"{cflow}/getworkflowfieldsets", self.workflow_fieldsets, methods=["GET"]),
            Route(wf, self.workflow, methods=["GET"]),
            Route(f"{wf}/requests", self.requests, methods=["GET", "POST"]),
            Route(item, self.request_item, methods=["GET", "PUT", "DELETE"]),
            Route(f"{item}/approve", self.approve, methods=["POST"]),
            Route(f"{item}/reject", self.reject, methods=["POST"]),
            Route(f"{wf}/drafts", self.drafts, methods=["POST"]),
            Route(f"{cflow}/users", self.users, methods=["GET"]),
            Route(f"{cflow}/roles", self.roles, methods=["GET"]),
        ]


# --- admin routes -----------------------------------------------------------------------------


class _AdminRoutes:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def health(self, _request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def faults(self, request: Request) -> Response:
        if request.method == "PUT":
            self.state.set_faults(await _json_object(request))
        elif request.method == "PATCH":
            self.state.patch_faults(await _json_object(request))
        return JSONResponse(self.state.faults.current().to_json())

    async def script(self, request: Request) -> Response:
        body = await _json_body(request)
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
        body = await _json_body(request, allow_empty=True)
        options = {} if body is EMPTY_BODY else require_object(body, "The request body")
        keep_faults = options.get("keep_faults", False)
        if not isinstance(keep_faults, bool):
            bad_request("keep_faults must be true or false")
        self.state.reset(keep_faults=keep_faults)
        return JSONResponse({"status": "reset", "keep_faults": keep_faults})

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
        ]


# --- the app ----------------------------------------------------------------------------------


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
        super().__init__(
            routes=[*_CflowRoutes(state).routes(), *_AdminRoutes(state).routes()],
            exception_handlers={
                ApiError: _api_error,
                FaultConfigError: _fault_config_error,
                HTTPException: _http_error,
                Exception: _server_error,
            },
        )
        self.state.sandbox = state

    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's own error middleware, so a drop fault's exception (in-process use)
        # reaches the caller instead of becoming a 500 response.
        return CflowGate(super().build_middleware_stack(), self.sandbox)


def create_app(config: SandboxConfig | None = None) -> SandboxApp:
    """A fresh sandbox app with its own in-memory state (``app.state.sandbox``)."""
    return SandboxApp(SandboxState(config))
