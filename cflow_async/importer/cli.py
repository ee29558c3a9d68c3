"""``cflow import FILE --workflow NAME ...``: the arguments, the handler, the exit code.

``IMPORT_ARGS`` and :func:`import_command` are what the ``cflow`` command table needs;
:func:`main` runs the same command standalone (``python -m cflow_async.importer``), with
credentials from CFLOW_API_KEY / CFLOW_USER_KEY / CFLOW_USERNAME and the server from
``--base-url``/``--region`` or CFLOW_BASE_URL/CFLOW_REGION.

Output: the progress on stderr (a bar on a terminal, else a line every few seconds), the
summary table on stderr at the end (also after Ctrl-C), and the summary as JSON on
stdout when the import completed. Exit codes are the CLI's: 0 every row is in Cflow (or
was already); 8 some rows' outcome is unknown (run again with --reconcile); 7 or 6 some
rows failed (server/network, or refused by the API); 2 rows were rejected or changed;
130 interrupted. The import stopped by an error exits with that error's code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from .arguments import add_import_arguments

if TYPE_CHECKING:
    from cflow_async import CflowClient

    from .job import ImportJob
    from .summary import ImportSummary

__all__ = ["ImportFailed", "exit_code", "import_command", "main"]

from cflow_async.cli.exit_codes import (
    EXIT_API,
    EXIT_CONFIG,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTCOME_UNKNOWN,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)

_SERVER_TROUBLE = frozenset(
    {"RateLimitError", "ServerError", "CflowConnectionError", "CflowTimeoutError"}
)


def exit_code(summary: ImportSummary) -> int:
    if summary.interrupted:
        return EXIT_INTERRUPTED
    if summary.unknown:
        return EXIT_OUTCOME_UNKNOWN
    if summary.failed:
        trouble = set(summary.failures_by_type) & _SERVER_TROUBLE
        return EXIT_UNAVAILABLE if trouble else EXIT_API
    if summary.rejected or summary.changed:
        return EXIT_USAGE
    return EXIT_OK


def error_code(error: BaseException) -> int:
    """The exit code of an error that stopped the import: the CLI's own mapping of library
    errors (``cflow_async.cli.run.classify_error``), plus the journal's."""
    from cflow_async import CflowError
    from cflow_async.cli.run import classify_error

    from .journal import JournalError

    if not isinstance(error, CflowError):
        raise error
    if isinstance(error, JournalError) and not error.outcome_unknown:
        return EXIT_USAGE
    classified = classify_error(error)
    return EXIT_API if classified is None else classified.code


class ImportFailed(Exception):
    """Carries the exit code and message of an import that did not complete."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


async def import_command(
    client: CflowClient, args: argparse.Namespace, stderr: TextIO | None = None
) -> Any:
    """The ``import`` handler: runs the job, shows the summary; returns it as JSON-ready
    data when every row is in Cflow, else raises :class:`ImportFailed`."""
    from .api import open_import
    from .journal import JournalError
    from .options import ImportOptions
    from .progress import make_display
    from .summary import ImportAbortedError, UnreconciledRowsError

    err = stderr if stderr is not None else sys.stderr
    options = ImportOptions(
        key=args.key,
        mapping=dict(args.map),
        concurrency=args.concurrency,
        rate=args.rate,
        dry_run=args.dry_run,
        reconcile=args.reconcile,
        resubmit_unknown=args.resubmit_unknown,
        settle=args.settle,
    )
    try:
        job: ImportJob = await open_import(
            client,
            args.workflow,
            args.file,
            journal=args.journal,
            options=options,
            rejects=args.rejects,
            validate=args.validate,
            display=lambda total: make_display(total, err),
        )
    except JournalError as exc:  # another import's journal, or one in use
        raise ImportFailed(exc.message, EXIT_USAGE) from None
    with _terminate_gracefully():
        try:
            summary = await job.run()
        except asyncio.CancelledError:
            # Ctrl-C: the journal is consistent (rows sent and not answered stay
            # in_flight); show how far the import got, then let the interruption through.
            _show(err, job.summary(interrupted=True).table())
            _show(err, "interrupted: run the same command again to go on")
            raise
        except UnreconciledRowsError as exc:
            _show(err, exc.summary.table())
            _show(sys.stdout, "\n".join(exc.keys))
            raise ImportFailed(exc.message, EXIT_OUTCOME_UNKNOWN) from None
        except ImportAbortedError as exc:
            _show(err, exc.summary.table())
            code = error_code(exc.cause) if exc.cause is not None else EXIT_API
            raise ImportFailed(exc.message, code) from None
        finally:
            job.close()
    _show(err, summary.table())
    code = exit_code(summary)
    if code != EXIT_OK:
        raise ImportFailed(_incomplete(summary), code)
    return summary.to_dict()


def _incomplete(summary: ImportSummary) -> str:
    parts = [
        f"{count} {what}"
        for count, what in (
            (summary.unknown, "of unknown outcome (run again with --reconcile)"),
            (summary.failed, "failed (run again to retry those a retry may cure)"),
            (summary.rejected, "rejected"),
            (summary.changed, "changed since sent"),
        )
        if count
    ]
    where = f"; see {summary.rejects_path}" if summary.rejected or summary.changed else ""
    return "import incomplete: rows " + ", ".join(parts) + where


def _show(stream: TextIO, text: str) -> None:
    if text:
        stream.write(text + "\n")
        stream.flush()


@contextlib.contextmanager
def _terminate_gracefully() -> Any:
    """SIGTERM (a service manager stopping us) ends the import like Ctrl-C does."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    try:
        if task is not None:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
        task = None
    try:
        yield
    finally:
        if task is not None:
            loop.remove_signal_handler(signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cflow_async.importer FILE --workflow NAME ...``."""
    parser = argparse.ArgumentParser(
        prog="python -m cflow_async.importer",
        description="Import a spreadsheet into a Cflow workflow, resumably.",
        allow_abbrev=False,
    )
    add_import_arguments(parser)
    parser.add_argument("--base-url", metavar="URL", help="server root (default: CFLOW_BASE_URL)")
    parser.add_argument("--region", metavar="REGION", help="us or ap (default: CFLOW_REGION)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE

    async def run() -> Any:
        from cflow_async import CflowClient, InvalidArgumentError

        try:
            client = CflowClient(base_url=args.base_url, region=args.region)
        except InvalidArgumentError as exc:
            raise ImportFailed(f"configuration: {exc.message}", EXIT_CONFIG) from None
        async with client:
            return await import_command(client, args)

    try:
        result = asyncio.run(run())
    except (KeyboardInterrupt, asyncio.CancelledError):
        return EXIT_INTERRUPTED
    except ImportFailed as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        return exc.code
    except Exception as exc:
        try:
            code = error_code(exc)
        except Exception:
            raise exc from None
        sys.stderr.write(f"error: {getattr(exc, 'message', exc)}\n")
        return code
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return EXIT_OK
