"""The OpenAPI document's routes: workflows, requests and their actions, users and roles."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cflow_async._constants import API_PREFIX
from cflow_async.sandbox.bodies import json_body, json_object
from cflow_async.sandbox.routing import CflowRoutes, fields_from
from cflow_async.sandbox.validation import EMPTY_BODY, optional_string, require_object


class OpenApiRoutes(CflowRoutes):
    async def workflow(self, request: Request) -> Response:
        return JSONResponse(self.path_workflow(request).openapi_json())

    async def requests(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._create(request, draft=False)
        workflow = self.path_workflow(request)
        # Records submitted through the legacy submitrecord are listed too: same objects.
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
        fields = fields_from(await json_object(request))
        workflow = self.path_workflow(request)
        created = self.state.create_request(workflow, fields, self.actor, draft=draft)
        return JSONResponse(created.to_json(), status_code=201)

    async def request_item(self, request: Request) -> Response:
        fields = fields_from(await json_object(request)) if request.method == "PUT" else None
        workflow = self.path_workflow(request)
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
        body = await json_body(request, allow_empty=True)
        action = {} if body is EMPTY_BODY else require_object(body, "The request body")
        comment = optional_string(action, "comment")
        reassign_to = optional_string(action, "reassignTo")
        workflow = self.path_workflow(request)
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
        cflow = f"{API_PREFIX}/cflow"
        wf = f"{cflow}/workflows/{{workflowId}}"
        item = f"{wf}/requests/{{requestId}}"
        return [
            Route(wf, self.workflow, methods=["GET"]),
            Route(f"{wf}/requests", self.requests, methods=["GET", "POST"]),
            Route(item, self.request_item, methods=["GET", "PUT", "DELETE"]),
            Route(f"{item}/approve", self.approve, methods=["POST"]),
            Route(f"{item}/reject", self.reject, methods=["POST"]),
            Route(f"{wf}/drafts", self.drafts, methods=["POST"]),
            Route(f"{cflow}/users", self.users, methods=["GET"]),
            Route(f"{cflow}/roles", self.roles, methods=["GET"]),
        ]
