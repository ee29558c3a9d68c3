"""The OpenAPI operations' facade names and path templates, to name a request that
arrives with only its URL (a generated function awaited through ``cflow.openapi``) as the
facade names the same operation (``requests.list``): hooks, spans and logs show the
template, never the ids in the path. ``tests/test_hooks.py`` checks this table against
``scripts/facade_table.py`` (openapi/cflow.yaml + openapi/facade.yaml).
"""

from __future__ import annotations

import functools
import re
from typing import Final

__all__ = ["OPERATIONS", "match_operation"]

#: (facade name, HTTP method, path template) of each operation in the document.
OPERATIONS: Final = (
    ("workflows.list", "GET", "/integromat/api/cflow/getworkflows"),
    ("workflows.get", "GET", "/integromat/api/cflow/workflows/{workflowId}"),
    ("requests.list", "GET", "/integromat/api/cflow/workflows/{workflowId}/requests"),
    ("requests.create", "POST", "/integromat/api/cflow/workflows/{workflowId}/requests"),
    ("requests.get", "GET", "/integromat/api/cflow/workflows/{workflowId}/requests/{requestId}"),
    ("requests.update", "PUT", "/integromat/api/cflow/workflows/{workflowId}/requests/{requestId}"),
    (
        "requests.delete",
        "DELETE",
        "/integromat/api/cflow/workflows/{workflowId}/requests/{requestId}",
    ),
    (
        "requests.approve",
        "POST",
        "/integromat/api/cflow/workflows/{workflowId}/requests/{requestId}/approve",
    ),
    (
        "requests.reject",
        "POST",
        "/integromat/api/cflow/workflows/{workflowId}/requests/{requestId}/reject",
    ),
    ("requests.create_draft", "POST", "/integromat/api/cflow/workflows/{workflowId}/drafts"),
    ("users.list", "GET", "/integromat/api/cflow/users"),
    ("roles.list", "GET", "/integromat/api/cflow/roles"),
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
