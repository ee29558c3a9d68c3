"""The arguments of ``cflow import``, as data: ``(flags, add_argument options)``.

Standard library only: the ``cflow`` command table reads this for ``cflow --help``, which
must not import the client.
"""

from __future__ import annotations

import argparse
from typing import Any

from .._argtypes import number

__all__ = ["IMPORT_ARGS", "add_import_arguments"]


def _mapping(text: str) -> tuple[str, str]:
    column, sep, field = text.partition("=")
    if not sep or not column.strip() or not field.strip():
        raise argparse.ArgumentTypeError(f"expected COLUMN=FIELD, got {text!r}")
    return column.strip(), field.strip()


#: ``(flags, add_argument options)`` of the import command, in help order.
IMPORT_ARGS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("file",), {"metavar": "FILE", "help": "a .csv, .jsonl or .xlsx file with a header row"}),
    (("--workflow",), {"metavar": "NAME", "required": True, "help": "the workflow name"}),
    (
        ("--journal",),
        {"metavar": "PATH", "help": "the journal (default: FILE.journal.sqlite next to FILE)"},
    ),
    (
        ("--key",),
        {
            "metavar": "COLUMN",
            "help": "the column that identifies a row, e.g. GoogleSheetRowNumber (default: the"
            " row number and its content); needed by --reconcile",
        },
    ),
    (
        ("--map",),
        {
            "metavar": "COLUMN=FIELD",
            "type": _mapping,
            "action": "append",
            "default": [],
            "help": "send COLUMN as FIELD (repeatable; other columns go by their own name)",
        },
    ),
    (
        ("--concurrency",),
        {"metavar": "N", "type": number(int), "default": 8, "help": "requests at once (8)"},
    ),
    (
        ("--rate",),
        {
            "metavar": "R",
            "type": number(float),
            "help": "at most R requests per second (429s slow the import down by themselves)",
        },
    ),
    (
        ("--dry-run",),
        {"action": "store_true", "help": "read, check and compare with the journal; send nothing"},
    ),
    (
        ("--reconcile",),
        {
            "action": "store_true",
            "help": "look up rows of unknown outcome in Cflow by --key first; send those not found",
        },
    ),
    (
        ("--resubmit-unknown",),
        {
            "action": "store_true",
            "help": "send rows of unknown outcome again without looking (may duplicate them)",
        },
    ),
    (
        ("--rejects",),
        {"metavar": "PATH", "help": "rows not sent, and why (default: FILE.rejects.csv)"},
    ),
    (
        ("--settle",),
        {
            "metavar": "SECONDS",
            "type": number(float, zero=True, unit="seconds"),
            "default": 30.0,
            "help": "how long after a crash --reconcile waits for its requests to land (30)",
        },
    ),
    (
        ("--no-validate",),
        {
            "dest": "validate",
            "action": "store_false",
            "help": "send values as read, without checking them against the field definitions",
        },
    ),
)


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    for flags, options in IMPORT_ARGS:
        parser.add_argument(*flags, **options)
