"""Finding rows whose outcome is unknown in Cflow.

A record submitted through the legacy ``submitrecord`` is, in Cflow, a request of its
workflow: the OpenAPI listing ``GET /cflow/workflows/{workflowId}/requests`` shows it
with its values as ``fields``. (Our assumption about the real server, stated in the
README; the sandbox behaves so.) With a key column that is also a field, a row is in
Cflow when a request of the workflow has ``fields[key] == value``.

The listing is fetched once per reconciliation and indexed by the key field.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .._errors import CflowError, ResponseValidationError

if TYPE_CHECKING:
    from .._client import CflowClient

__all__ = ["index_requests", "openapi_workflow_id"]

logger = logging.getLogger("cflow_async.importer")


async def openapi_workflow_id(cflow: CflowClient, workflow_name: str) -> str:
    """The OpenAPI id of the workflow the legacy API calls ``workflow_name``.

    The legacy API names workflows, the OpenAPI one gives them ids; the OpenAPI listing
    carries both. When no workflow there has that name, the name is used as the id (the
    sandbox's ids are the names)."""
    workflows: Any
    lister = getattr(getattr(cflow, "workflows", None), "list", None)
    if callable(lister):  # the generated facade's getWorkflows, when present
        workflows = await lister()
    else:
        from cflow_openapi.api.workflows import get_workflows

        workflows = await get_workflows.asyncio(client=cflow.openapi)
    for workflow in workflows or ():
        names = {getattr(workflow, "name", None), getattr(workflow, "id", None)}
        if workflow_name in names:
            found = getattr(workflow, "id", None)
            if isinstance(found, str | int) and str(found):
                return str(found)
    logger.info("no OpenAPI workflow named %r; using the name as its id", workflow_name)
    return workflow_name


def _fields(request: Any) -> dict[str, Any]:
    fields = getattr(request, "fields", None)
    properties = getattr(fields, "additional_properties", None)
    if isinstance(properties, dict):
        return properties
    if isinstance(fields, dict):
        return fields
    return {}


async def index_requests(
    cflow: CflowClient, workflow_name: str, field: str
) -> dict[str, list[str]]:
    """``{str(fields[field]): [request ids]}`` over the workflow's requests."""
    workflow_id = await openapi_workflow_id(cflow, workflow_name)
    try:
        requests = await cflow.requests.list(workflow_id)
    except CflowError:
        raise
    except Exception as exc:  # a listing the generated models cannot read
        raise ResponseValidationError(f"unreadable requests listing: {exc}") from exc
    index: dict[str, list[str]] = {}
    for request in requests:
        value = _fields(request).get(field)
        if value is None:
            continue
        request_id = getattr(request, "id", None)
        index.setdefault(str(value), []).append(
            "" if request_id is None or not isinstance(request_id, str | int) else str(request_id)
        )
    return index
