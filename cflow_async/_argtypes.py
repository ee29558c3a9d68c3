"""argparse types for the numbers the command lines take (``cflow`` and ``cflow import``).

Standard library only: ``cflow --help`` builds its parser from them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["number"]


def number(
    kind: type[int] | type[float], *, zero: bool = False, unit: str = ""
) -> Callable[[str], int | float]:
    """An argparse ``type``: a finite ``kind`` above 0 (``zero=True``: 0 or more)."""
    noun = ("a whole number" if kind is int else "a number") + (f" of {unit}" if unit else "")
    bound = ("0 or more" if zero else "more than 0") + (f" {unit}" if unit else "")

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if not (value >= 0 if zero else value > 0) or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text!r}")
        return value

    return parse
