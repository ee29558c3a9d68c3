"""cflow-async: an async Python client for the Cflow workflow-automation API.

    import asyncio
    from cflow_async import CflowClient

    async def main() -> None:
        async with CflowClient(api_key=..., user_key=..., username=..., region="us") as cflow:
            workflows = await cflow.get_workflows()

    asyncio.run(main())

Names are imported on first use (PEP 562), so ``import cflow_async`` and the CLI's
``cflow --help`` load neither httpx nor aiohttp; the sandbox and the aiohttp backend are
imported only when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._bulk import RowResult
    from ._client import CflowClient
    from ._config import Region
    from ._errors import (
        AuthenticationError,
        BadRequestError,
        CflowAPIError,
        CflowConnectionError,
        CflowError,
        CflowTimeoutError,
        ConflictError,
        InvalidArgumentError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ResponseTooLargeError,
        ResponseValidationError,
        ServerError,
        UnprocessableEntityError,
    )
    from ._hooks import CallEndEvent, ErrorEvent, RequestEvent, ResponseEvent, RetryEvent
    from ._raw import CflowResponse
    from ._records import FieldProblem, RecordSchema, RecordValidationError
    from ._retry import RetryBudget, RetryPolicy
    from ._values import format_cflow_datetime
    from .models import FieldDefinition, FieldOption, ProcessStage, StageStatus, Workflow

_LAZY: dict[str, str] = {
    "AuthenticationError": "._errors",
    "BadRequestError": "._errors",
    "CallEndEvent": "._hooks",
    "CflowAPIError": "._errors",
    "CflowClient": "._client",
    "CflowConnectionError": "._errors",
    "CflowError": "._errors",
    "CflowResponse": "._raw",
    "CflowTimeoutError": "._errors",
    "ConflictError": "._errors",
    "ErrorEvent": "._hooks",
    "FieldDefinition": ".models",
    "FieldOption": ".models",
    "FieldProblem": "._records",
    "InvalidArgumentError": "._errors",
    "NotFoundError": "._errors",
    "PermissionDeniedError": "._errors",
    "ProcessStage": ".models",
    "RateLimitError": "._errors",
    "RecordSchema": "._records",
    "RecordValidationError": "._records",
    "Region": "._config",
    "RequestEvent": "._hooks",
    "ResponseEvent": "._hooks",
    "ResponseTooLargeError": "._errors",
    "ResponseValidationError": "._errors",
    "RetryBudget": "._retry",
    "RetryEvent": "._hooks",
    "RetryPolicy": "._retry",
    "RowResult": "._bulk",
    "ServerError": "._errors",
    "StageStatus": ".models",
    "UnprocessableEntityError": "._errors",
    "Workflow": ".models",
    "format_cflow_datetime": "._values",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "CallEndEvent",
    "CflowAPIError",
    "CflowClient",
    "CflowConnectionError",
    "CflowError",
    "CflowResponse",
    "CflowTimeoutError",
    "ConflictError",
    "ErrorEvent",
    "FieldDefinition",
    "FieldOption",
    "FieldProblem",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProcessStage",
    "RateLimitError",
    "RecordSchema",
    "RecordValidationError",
    "Region",
    "RequestEvent",
    "ResponseEvent",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "RetryBudget",
    "RetryEvent",
    "RetryPolicy",
    "RowResult",
    "ServerError",
    "StageStatus",
    "UnprocessableEntityError",
    "Workflow",
    "__version__",
    "format_cflow_datetime",
]
