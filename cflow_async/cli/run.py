"""Running one ``cflow`` invocation: parse, resolve settings, call the client, map failures
to exit codes. The client and its errors are imported here only once a command runs."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from cflow_async._constants import ENV_API_KEY, ENV_DEBUG, ENV_USER_KEY, ENV_USERNAME

from .commands import Command
from .exit_codes import (
    EXIT_API,
    EXIT_AUTH,
    EXIT_BAD_RESPONSE,
    EXIT_CONFIG,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_OUTCOME_UNKNOWN,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    CliError,
)
from .inputs import field_values, parse_credentials_file
from .output import Output, plain, secrets
from .parser import SANDBOX, build_parser


def client_settings(args: argparse.Namespace) -> dict[str, Any]:
    """CflowClient's keyword arguments from the options and the credentials file."""
    file_settings = parse_credentials_file(args.credentials_file) if args.credentials_file else {}
    # Precedence: command-line option, then credentials file, then environment (the
    # library reads the environment for whatever is None). A server chosen on the command
    # line (--region or --base-url) replaces the file's choice entirely.
    server = (
        {"region": args.region, "base_url": args.base_url}
        if args.region is not None or args.base_url is not None
        else {"region": file_settings.get("region"), "base_url": file_settings.get("base_url")}
    )
    return {
        "api_key": file_settings.get("api_key"),
        "user_key": file_settings.get("user_key"),
        "username": file_settings.get("username"),
        **server,
    }


async def _execute(args: argparse.Namespace, settings: Mapping[str, Any]) -> Any:
    from cflow_async import CflowClient, InvalidArgumentError, RetryPolicy
    from cflow_async._config import Credentials

    # The library's own check (missing or header-unsafe values), resolved here rather than
    # inside CflowClient so that the message can say where the CLI reads credentials from.
    try:
        credentials = Credentials.resolve(
            settings["api_key"], settings["user_key"], settings["username"]
        )
    except InvalidArgumentError as exc:
        raise CliError(
            f"{exc}; cflow reads credentials from the environment or from"
            " --credentials-file, never from the command line",
            EXIT_CONFIG,
        ) from None
    # For `check`'s report (the client keeps its credentials private).
    args.username = credentials.username
    try:
        client = CflowClient(
            api_key=credentials.api_key,
            user_key=credentials.user_key,
            username=credentials.username,
            region=settings["region"],
            base_url=settings["base_url"],
            timeout=args.timeout,
            retry=None if args.retries is None else RetryPolicy(max_retries=args.retries),
            timezone=getattr(args, "timezone", None),  # submit and update take --timezone
        )
    except InvalidArgumentError as exc:
        raise CliError(f"configuration: {exc}", EXIT_CONFIG) from None
    command: Command = args.command
    async with client:
        result = await command.handler(client, args)
    return plain(result)


def classify_error(exc: BaseException) -> CliError | None:
    """The exit code and message for a library error; None for anything unexpected."""
    from cflow_async import (
        AuthenticationError,
        CflowAPIError,
        CflowConnectionError,
        CflowError,
        InvalidArgumentError,
        NotFoundError,
        PermissionDeniedError,
        ResponseTooLargeError,
        ResponseValidationError,
        ServerError,
    )

    if not isinstance(exc, CflowError):
        return None
    message = exc.message
    # First: the library marks every failed write that may have been applied, including an
    # unreadable or oversized answer to a write, so no later branch needs to know about
    # writes.
    if exc.outcome_unknown:
        return CliError(f"outcome unknown: {message}", EXIT_OUTCOME_UNKNOWN)
    if isinstance(exc, ResponseValidationError | ResponseTooLargeError):
        return CliError(f"bad response: {message}", EXIT_BAD_RESPONSE)
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return CliError(
            f"{message} (check {ENV_API_KEY}, {ENV_USER_KEY} and {ENV_USERNAME}"
            " or the credentials file, and the region)",
            EXIT_AUTH,
        )
    if isinstance(exc, NotFoundError):
        return CliError(message, EXIT_NOT_FOUND)
    if isinstance(exc, ServerError):
        return CliError(message, EXIT_UNAVAILABLE)
    if isinstance(exc, CflowAPIError):
        return CliError(message, EXIT_API)
    if isinstance(exc, CflowConnectionError):
        return CliError(message, EXIT_UNAVAILABLE)
    if isinstance(exc, InvalidArgumentError):
        return CliError(message, EXIT_USAGE)
    return None


def _run(args: argparse.Namespace, out: Output) -> int:
    import asyncio

    settings = client_settings(args)
    out.secrets = secrets(settings)
    try:
        result = asyncio.run(_execute(args, settings))
    except CliError:
        raise
    except Exception as exc:
        error = classify_error(exc)
        if error is None:
            raise
        raise error from None
    out.result(result, args.format)
    return EXIT_OK


def _run_sandbox(argv: Sequence[str]) -> int:
    try:
        from cflow_async.sandbox import main as sandbox_main
    except ImportError as exc:
        if exc.name in ("starlette", "uvicorn"):
            raise CliError(
                f"the sandbox needs {exc.name}: pip install 'cflow-async[sandbox]'", EXIT_CONFIG
            ) from None
        raise
    return sandbox_main(list(argv))


def _prepare(args: argparse.Namespace, extras: list[str]) -> None:
    """Checks argparse cannot make: stray arguments, field values, option combinations."""
    command: Command = args.command
    parser: argparse.ArgumentParser = args.parser
    if extras and command.values:
        # argparse stops filling a '*' positional at the first option; FIELD=VALUE
        # pairs given after an option land in extras.
        args.pairs = [*args.pairs, *(e for e in extras if not e.startswith("-"))]
        extras = [e for e in extras if e.startswith("-")]
    if extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    if command.values:
        args.field_values = field_values(args)
    if command.check is not None:
        problem = command.check(args)
        if problem is not None:
            parser.error(problem)


def main(argv: list[str] | None = None) -> int:
    """Run ``cflow`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    out = Output(sys.stdout, sys.stderr)
    out.secrets = secrets({})
    args: argparse.Namespace | None = None
    try:
        parser = build_parser()
        try:
            args, extras = parser.parse_known_args(arguments)
        except SystemExit as exc:  # --help, --version, usage errors
            return _exit_status(exc)
        if args.command_name == SANDBOX:
            # The sandbox subparser takes no arguments: extras are all of them, in order.
            return _run_sandbox(extras)
        _prepare(args, extras)
        return _run(args, out)
    except SystemExit as exc:
        return _exit_status(exc)
    except CliError as exc:
        out.error(exc.message)
        return exc.code
    except KeyboardInterrupt:
        note = ""
        command = getattr(args, "command", None)
        if isinstance(command, Command) and command.write:
            note = "; if the write reached the server its outcome is unknown: check before retrying"
        out.error(f"interrupted{note}")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `cflow workflows | head`): nothing left to say.
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:
        out.error(f"unexpected {type(exc).__name__}: {exc} (set {ENV_DEBUG}=1 for a traceback)")
        if os.environ.get(ENV_DEBUG):
            import traceback

            out.stderr.write(out.scrub(traceback.format_exc()))
        return EXIT_INTERNAL


def _exit_status(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    return EXIT_USAGE


def _silence_stdout() -> None:
    # Later writes (the interpreter's own flush at exit) would raise BrokenPipeError again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
