"""What every group of Cflow routes shares: the state and how requests name a workflow."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from cflow_async.sandbox.state import SandboxState, Workflow
from cflow_async.sandbox.validation import bad_request, require_object


class CflowRoutes:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    @property
    def actor(self) -> str:
        # Authentication already pinned the username header to the configured one.
        return self.state.config.username

    def query_workflow(self, request: Request) -> Workflow:
        return self.state.workflow(request.query_params.get("WorkflowName"))

    def path_workflow(self, request: Request) -> Workflow:
        return self.state.workflow(str(request.path_params["workflowId"]))


def fields_from(body: dict[str, Any]) -> dict[str, Any]:
    if "fields" not in body:
        bad_request("'fields' is required")
    return require_object(body["fields"], "'fields'")
