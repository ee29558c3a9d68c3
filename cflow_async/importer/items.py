"""What the job passes between reading and sending: a row with its key, and its digest."""

from __future__ import annotations

from collections.abc import Container
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
    #: The key cell as read, when the value sent differs (converted by the schema).
    cell_key: str = ""

    def journal_form(self, known: Container[str]) -> Prepared:
        """This row under the key the journal knows it by. Journals of versions before
        keys were taken as sent know a converted key by its cell: kept, or a row already
        done would read as new and be sent again."""
        if self.cell_key and self.item.key not in known and self.cell_key in known:
            return Prepared(attrs.evolve(self.item, key=self.cell_key), self.digest)
        return self


def problem_text(problem: Any) -> str:
    field = getattr(problem, "field", None)
    message = getattr(problem, "message", None) or str(problem)
    return f"{field}: {message}" if field else str(message)
