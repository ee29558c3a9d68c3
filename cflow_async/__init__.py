"""cflow-async: an async Python client for the Cflow workflow-automation API.

    async with CflowClient(api_key=..., user_key=..., username=..., region="us") as cflow:
        workflows = await cflow.get_workflows()

The sandbox (``cflow_async.sandbox``), the CLI and the aiohttp backend are imported only
when used.
"""

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
from ._retry import RetryBudget, RetryPolicy
from ._values import format_cflow_datetime
from ._version import __version__
from .models import FieldDefinition, FieldOption, ProcessStage, StageStatus, Workflow

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "CflowAPIError",
    "CflowClient",
    "CflowConnectionError",
    "CflowError",
    "CflowTimeoutError",
    "ConflictError",
    "FieldDefinition",
    "FieldOption",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProcessStage",
    "RateLimitError",
    "Region",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "RetryBudget",
    "RetryPolicy",
    "RowResult",
    "ServerError",
    "StageStatus",
    "UnprocessableEntityError",
    "Workflow",
    "__version__",
    "format_cflow_datetime",
]
