"""A journal row as read back, and the two forms the journal stores a row by: its key
(``key_text``) and its content (``content_hash``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import attrs

__all__ = ["COLUMNS", "STATES", "JournalRow", "State", "content_hash", "from_values", "key_text"]

State = Literal["pending", "in_flight", "done", "failed", "unknown"]
STATES: Final[tuple[State, ...]] = ("pending", "in_flight", "done", "failed", "unknown")


def key_text(value: Any) -> str:
    """A key as the journal stores it and as reconciliation looks it up in Cflow's listing:
    one form for both sides, or a row found under ``"3 "`` would read as missing ``"3"``
    and be sent again."""
    return "" if value is None else str(value).strip()


def content_hash(values: Mapping[str, Any]) -> str:
    """A stable digest of a row's values (key order does not matter)."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@attrs.frozen
class JournalRow:
    key: str
    row_number: int
    content_hash: str
    state: State
    record_id: str | None
    error_type: str | None
    error_status: int | None
    error_message: str | None
    retryable: bool
    attempts: int
    run: int
    updated_at: float


COLUMNS = (
    "key, row_number, content_hash, state, record_id, error_type, error_status,"
    " error_message, retryable, attempts, run, updated_at"
)


def from_values(values: Sequence[Any]) -> JournalRow:
    (key, number, digest, state, record_id, etype, status, message, retryable, *rest) = values
    attempts, run, at = rest
    return JournalRow(
        key,
        number,
        digest,
        state,
        record_id,
        etype,
        status,
        message,
        bool(retryable),
        attempts,
        run,
        at,
    )
