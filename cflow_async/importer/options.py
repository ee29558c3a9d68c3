"""What an import is asked to do (``ImportOptions``), what it needs of a record schema,
and which failures a later attempt may cure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs

from .._errors import (
    AuthenticationError,
    CflowAPIError,
    CflowConnectionError,
    CflowError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from .._retry import RETRYABLE_STATUSES

__all__ = ["ImportOptions", "RecordSchema", "retryable", "stops_job"]

_JOB_ERRORS = (AuthenticationError, PermissionDeniedError, NotFoundError)


class RecordSchema(Protocol):
    """What the importer needs of a record schema (``cflow.record_schema(workflow)``)."""

    def check(self, values: Mapping[str, Any]) -> Sequence[Any]: ...

    def prepare(self, values: Mapping[str, Any]) -> dict[str, Any]: ...


@attrs.frozen
class ImportOptions:
    key: str | None = None
    mapping: Mapping[str, str] = attrs.field(factory=dict)
    concurrency: int = 8
    rate: float | None = None
    dry_run: bool = False
    reconcile: bool = False
    resubmit_unknown: bool = False
    #: Seconds a previous run's requests are given to land before reconciliation looks.
    settle: float = 30.0
    #: Sends of one row in this run, after 429s or refused connections.
    max_attempts: int = 8
    #: Consecutive failures of the server (not of a row) that stop the import.
    stop_after: int = 25


def retryable(error: CflowError) -> bool:
    """A failure a later attempt may cure, the server having certainly not acted."""
    if error.outcome_unknown:
        return False
    if isinstance(error, RateLimitError | CflowConnectionError):
        return True
    return isinstance(error, CflowAPIError) and error.status_code in RETRYABLE_STATUSES


def stops_job(error: CflowError) -> bool:
    """Errors about the job, not the row: every other row would fail the same way."""
    if isinstance(error, _JOB_ERRORS):
        return True
    # Refused before sending, for a reason other than the row's values: a closed
    # client, the wrong event loop.
    return error.attempts == 0 and not isinstance(error, InvalidArgumentError)
