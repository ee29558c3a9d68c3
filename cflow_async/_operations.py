"""The OpenAPI operations' facade names and path templates, to name a request that
arrives with only its URL (a generated function awaited through ``cflow.openapi``) as the
facade names the same operation (``requests.list``): hooks, spans and logs show the
template, never the ids in the path. The table itself, ``OPERATIONS``, is generated
with the namespaces (``_openapi_mixin``, by ``make regen``), so a new operation is named
with no edit here; ``tests/test_hooks.py`` checks it against ``scripts/facade_table.py``.
"""

from __future__ import annotations

import functools
import re

from ._openapi_mixin import OPERATIONS

__all__ = ["OPERATIONS", "match_operation"]


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
