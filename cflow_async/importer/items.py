"""What the job passes between reading and sending: a row with its key, and its digest."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Item", "Prepared", "problem_text"]


@attrs.frozen
class Item:
    key: str
    number: int
    values: dict[str, Any]


@attrs.frozen
class Prepared:
    item: Item
    digest: str


def problem_text(problem: Any) -> str:
    field = getattr(problem, "field", None)
    message = getattr(problem, "message", None) or str(problem)
    return f"{field}: {message}" if field else str(message)
