"""The legacy Cflow routes (``/integromat/api/connection/...`` and ``/cflow/get...`` etc.)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cflow_async._constants import API_PREFIX
from cflow_async.sandbox import data
from cflow_async.sandbox.bodies import json_object
from cflow_async.sandbox.routing import CflowRoutes
from cflow_async.sandbox.validation import bad_request, identifier, require_object


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


class LegacyRoutes(CflowRoutes):
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
        workflow = self.query_workflow(request)
        return JSONResponse([stage.legacy_json() for stage in workflow.stages])

    async def get_status(self, request: Request) -> Response:
        workflow = self.query_workflow(request)
        stage = self.state.check_stage(workflow, request.query_params.get("group_id"))
        return JSONResponse(
            {
                "Status": [
                    {"Group_ID": stage.id, "Field_Status": status} for status in data.STATUS_VALUES
                ]
            }
        )

    async def submit_record(self, request: Request) -> Response:
        body = await json_object(request)
        main = require_object(body.get("main"), "'main'")
        values = require_object(body.get("dynamicobj"), "'dynamicobj'")
        workflow = self.state.workflow(_workflow_name(main, request))
        record = self.state.submit_record(workflow, values, self.actor)
        return JSONResponse({"Record_Id": record.record_id})

    async def update_record(self, request: Request) -> Response:
        body = await json_object(request)
        main = require_object(body.get("main"), "'main'")
        values = require_object(body.get("Values"), "'Values'")
        name = _workflow_name(main, request)
        query = request.query_params
        record_id = identifier(main.get("RecordId", query.get("RecordId")), "RecordId")
        raw_group = main.get("group_id", query.get("group_id"))
        group_id = None if raw_group in (None, "") else identifier(raw_group, "group_id")
        workflow = self.state.workflow(name)
        updated = self.state.update_record(workflow, record_id, group_id, values)
        return JSONResponse({"Record_Id": updated.id})

    def _optional_stage(self, request: Request) -> None:
        group_id = request.query_params.get("group_id")
        if group_id:
            self.state.check_stage(self.query_workflow(request), group_id)

    async def process_fields_for_map(self, request: Request) -> Response:
        workflow = self.query_workflow(request)
        self._optional_stage(request)
        return JSONResponse(workflow.field_sets.for_map)

    async def process_fieldsets(self, request: Request) -> Response:
        workflow = self.query_workflow(request)
        self._optional_stage(request)
        return JSONResponse(workflow.field_sets.process)

    async def workflow_fieldsets(self, request: Request) -> Response:
        workflow = self.query_workflow(request)
        return JSONResponse(workflow.field_sets.workflow)

    def routes(self) -> list[Route]:
        cflow = f"{API_PREFIX}/cflow"
        return [
            Route(f"{API_PREFIX}/connection/GetConnection", self.get_connection, methods=["GET"]),
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
        ]
