"""The OpenAPI operations' path templates, to name a request that arrives with only its
URL (a generated function awaited through ``cflow.openapi``): hooks, spans and logs show
the template, never the ids in the path. ``tests/test_hooks.py`` checks this table against
``openapi/cflow.yaml``.
"""

from __future__ import annotations

import functools
import re
from typing import Final

__all__ = ["OPERATIONS", "match_operation"]

#: (operation, HTTP method, path template): each operationId of the spec, in snake_case.
OPERATIONS: Final = (
    ("get_workflows", "GET", "/integromat/api/cflow/getworkflows"),
    ("get_workflow", "GET", "/integromat/api/cflow/workflows/{workflowId}"),
    ("list_requests", "GET", "/integromat/api/cflow/workflows/{workflowId}/requests"),
    ("create_request", "POST", "/integromat/api/cflow/workflows/{workflowId}/requests"),
    ("get_request", "GET", "/integromat/api/cflow/workflows/{workflowId}/requests/{requestId}"),
    ("update_request", "PUT", "/integromat/api/cflow/workflows/{workflowId}/requests/{requestId}"),
    (
        "delete_request",
        "DELETE",
        "/integromat/api/cflow/workflows/{workflowId}/requests/{requestId}",
    ),
    (
        "approve_request",
        "POST",
        "/integromat/api/cflow/workflows/{workflowId}/requests/{requestId}/approve",
    ),
    (
        "reject_request",
        "POST",
        "/integromat/api/cflow/workflows/{workflowId}/requests/{requestId}/reject",
    ),
    ("create_draft_request", "POST", "/integromat/api/cflow/workflows/{workflowId}/drafts"),
    ("list_users", "GET", "/integromat/api/cflow/users"),
    ("list_roles", "GET", "/integromat/api/cflow/roles"),
)


@functools.cache
def _patterns() -> tuple[tuple[str, str, str, re.Pattern[str]], ...]:
    # A parameter is one percent-encoded segment: it can never contain "/". Searched, not
    # matched: a base_url with a path of its own puts a prefix before the template.
    return tuple(
        (
            name,
            method,
            template,
            re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"),
        )
        for name, method, template in OPERATIONS
    )


def match_operation(method: str, path: str) -> tuple[str, str] | None:
    """(operation, template) of the operation ``method path`` calls, or None."""
    for name, op_method, template, pattern in _patterns():
        if op_method == method and pattern.search(path):
            return name, template
    return None
