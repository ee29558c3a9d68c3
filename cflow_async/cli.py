"""``cflow``: a command-line client for the Cflow workflow API.

Credentials come from CFLOW_API_KEY / CFLOW_USER_KEY / CFLOW_USERNAME or from
``--credentials-file``; never from the command line, which other local users can read.
Output is JSON on stdout (``--format table`` for people); errors are one line on stderr
with an exit code per kind of failure (see ``EXIT_CODES`` and ``cflow --help``).

This module imports only the standard library at module level; the client, the models
and the sandbox are imported when a command runs. (``cflow --help`` still pays for
``cflow_async/__init__``, which imports the client eagerly.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

    from cflow_async import CflowClient

__all__ = ["EXIT_CODES", "main"]

PROG = "cflow"

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_AUTH = 4
EXIT_NOT_FOUND = 5
EXIT_API = 6
EXIT_UNAVAILABLE = 7
EXIT_OUTCOME_UNKNOWN = 8
EXIT_BAD_RESPONSE = 9
EXIT_INTERRUPTED = 130

#: Exit code -> meaning, as printed in ``cflow --help``.
EXIT_CODES: Mapping[int, str] = {
    EXIT_OK: "success",
    EXIT_INTERNAL: "unexpected internal error (a bug: please report it)",
    EXIT_USAGE: "usage error or bad input (unknown option, invalid --values, ...)",
    EXIT_CONFIG: "configuration error (missing credentials, bad region/base URL, unreadable"
    " credentials file)",
    EXIT_AUTH: "authentication or permission refused (HTTP 401/403)",
    EXIT_NOT_FOUND: "not found (HTTP 404: unknown workflow, stage, record or request)",
    EXIT_API: "other API error (HTTP 4xx such as 400, 409, 422, 429)",
    EXIT_UNAVAILABLE: "server error (5xx), connection failure or timeout",
    EXIT_OUTCOME_UNKNOWN: "a write's outcome is unknown: it may have been applied;"
    " check before sending it again",
    EXIT_BAD_RESPONSE: "the server's answer was unreadable (not JSON, wrong shape, too large)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}

_ENV_API_KEY = "CFLOW_API_KEY"
_ENV_USER_KEY = "CFLOW_USER_KEY"
_ENV_USERNAME = "CFLOW_USERNAME"
_ENV_DEBUG = "CFLOW_DEBUG"
_REDACTED = "[redacted]"
# Shorter "secrets" would redact ordinary text; real Cflow keys are far longer.
_MIN_SCRUB_LENGTH = 6
_MAX_FILE_BYTES = 1024 * 1024
_MAX_CELL = 60
_C1_ESCAPES = {code: f"\\u{code:04x}" for code in range(0x7F, 0xA0)}

# Credentials-file keys (case-insensitive) -> setting. Dotenv files usually carry the
# environment variable names, JSON files the short ones; both are accepted in both.
_FILE_KEYS: Mapping[str, str] = {
    "api_key": "api_key",
    "apikey": "api_key",
    "cflow_api_key": "api_key",
    "user_key": "user_key",
    "userkey": "user_key",
    "cflow_user_key": "user_key",
    "username": "username",
    "cflow_username": "username",
    "region": "region",
    "cflow_region": "region",
    "base_url": "base_url",
    "cflow_base_url": "base_url",
}

Handler = Callable[["CflowClient", argparse.Namespace], Awaitable[Any]]


class CliError(Exception):
    """An expected failure: printed as one line on stderr, exits with ``code``."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --- argument parsing ---------------------------------------------------------------------


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def _add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options every command takes, before or after the command name.

    On subcommands the defaults are SUPPRESS so that an option given before the command
    is not overwritten by the subcommand's default.
    """

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("connection and output options")
    group.add_argument(
        "--credentials-file",
        metavar="PATH",
        default=default(None),
        help="read api_key, user_key and username (optionally region, base_url) from a JSON"
        " object or KEY=VALUE lines; missing keys fall back to the environment",
    )
    group.add_argument(
        "--region",
        metavar="REGION",
        default=default(None),
        help="Cflow region: us or ap (default: CFLOW_REGION, else us)",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=default(None),
        help="server root, e.g. http://127.0.0.1:8765 for a sandbox (overrides --region;"
        " default: CFLOW_BASE_URL)",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_float,
        default=default(None),
        help="per-request timeout in seconds (default: connect 5, read 30)",
    )
    group.add_argument(
        "--retries",
        metavar="N",
        type=_non_negative_int,
        default=default(None),
        help="retries of failed reads and of writes that surely did not reach the server"
        " (default: 2; 0 disables)",
    )
    group.add_argument(
        "--format",
        choices=("json", "table"),
        default=default("json"),
        help="output format (default: json)",
    )


def _add_values_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "field values (give exactly one of --values, --values-file or FIELD=VALUE pairs)"
    )
    group.add_argument(
        "--values", metavar="JSON", help='a JSON object, e.g. \'{"City": "trichy"}\''
    )
    group.add_argument(
        "--values-file", metavar="PATH", help="a file holding a JSON object ('-' for stdin)"
    )
    parser.add_argument(
        "pairs",
        nargs="*",
        metavar="FIELD=VALUE",
        help="a string value; FIELD:=JSON for any JSON value, e.g. 'Work_Status:=[\"Stage\"]'",
    )


def _epilog() -> str:
    codes = "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items())
    return (
        "credentials:\n"
        f"  {_ENV_API_KEY}, {_ENV_USER_KEY} and {_ENV_USERNAME} from the environment, or\n"
        "  --credentials-file PATH. They are never accepted on the command line and never\n"
        "  printed. CFLOW_REGION and CFLOW_BASE_URL choose the server like --region and\n"
        "  --base-url.\n\n"
        "output:\n"
        "  JSON on stdout (--format table for a readable table); errors are one line on\n"
        "  stderr.\n\n"
        f"exit codes:\n{codes}"
    )


class _Parser(argparse.ArgumentParser):
    """ArgumentParser with our formatter, no abbreviated options, and usage errors scrubbed
    of the keys in the environment (they would only be there if typed as an argument)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(**kwargs)

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        super()._print_message(_scrub(message, _secrets({})), file)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Command-line client for the Cflow workflow API (legacy and OpenAPI"
        " endpoints).",
        epilog=_epilog(),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    _add_global_options(parser, suppress=False)
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )

    def command(
        subparsers: Any, name: str, handler: Handler, help_text: str, *, write: bool = False
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = subparsers.add_parser(
            name, help=help_text, description=help_text[:1].upper() + help_text[1:] + "."
        )
        _add_global_options(sub, suppress=True)
        sub.set_defaults(handler=handler, write=write, parser=sub)
        return sub

    command(commands, "check", _check, "check that the credentials are accepted")
    command(commands, "workflows", _workflows, "list the workflows")
    sub = command(commands, "process", _process, "list a workflow's process stages")
    sub.add_argument("workflow", metavar="WORKFLOW", help="the workflow name")
    sub = command(commands, "status", _status, "list the statuses of a process stage")
    sub.add_argument("workflow", metavar="WORKFLOW", help="the workflow name")
    sub.add_argument("group_id", metavar="GROUP_ID", help="the stage's ProcessID")
    sub = command(
        commands,
        "fields",
        _fields,
        "list field definitions: the workflow's, or a stage's with --group-id",
    )
    sub.add_argument("workflow", metavar="WORKFLOW", help="the workflow name")
    sub.add_argument("--group-id", metavar="ID", help="a stage's ProcessID: its process fieldsets")
    sub.add_argument(
        "--for-map",
        action="store_true",
        help="the stage's process fields for mapping (needs --group-id)",
    )
    sub = command(commands, "submit", _submit, "submit a new record", write=True)
    sub.add_argument("workflow", metavar="WORKFLOW", help="the workflow name")
    _add_values_options(sub)
    sub = command(commands, "update", _update, "update a record", write=True)
    sub.add_argument("workflow", metavar="WORKFLOW", help="the workflow name")
    sub.add_argument("group_id", metavar="GROUP_ID", help="the stage's ProcessID")
    sub.add_argument("record_id", metavar="RECORD_ID", help="the record's id")
    _add_values_options(sub)

    requests = commands.add_parser(
        "requests",
        help="workflow requests (OpenAPI endpoints)",
        description="Workflow requests (OpenAPI endpoints).",
    )
    _add_global_options(requests, suppress=True)
    actions = requests.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=_Parser
    )
    sub = command(actions, "list", _requests_list, "list a workflow's requests")
    sub.add_argument("workflow_id", metavar="WORKFLOW_ID")
    sub = command(actions, "get", _requests_get, "show one request")
    sub.add_argument("workflow_id", metavar="WORKFLOW_ID")
    sub.add_argument("request_id", metavar="REQUEST_ID")
    sub = command(actions, "create", _requests_create, "create a request", write=True)
    sub.add_argument("workflow_id", metavar="WORKFLOW_ID")
    sub.add_argument("--draft", action="store_true", help="create it as a draft")
    _add_values_options(sub)
    for name, handler, verb in (
        ("approve", _requests_approve, "approve"),
        ("reject", _requests_reject, "reject"),
    ):
        sub = command(actions, name, handler, f"{verb} a request", write=True)
        sub.add_argument("workflow_id", metavar="WORKFLOW_ID")
        sub.add_argument("request_id", metavar="REQUEST_ID")
        sub.add_argument("--comment", metavar="C", help="a comment recorded with the action")
        sub.add_argument("--reassign-to", metavar="U", help="reassign the request to username U")

    command(commands, "users", _users, "list the users")
    command(commands, "roles", _roles, "list the roles")
    # Everything after "sandbox" goes to the sandbox's own parser (see main()).
    commands.add_parser(
        "sandbox",
        help="run a local Cflow sandbox server (sandbox --help for its options)",
        add_help=False,
        prefix_chars="\0",
    )
    return parser


def _version() -> str:
    from cflow_async import __version__

    return __version__


# --- values and credentials ---------------------------------------------------------------


def _parse_json_object(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CliError(f"{where} is not valid JSON: {exc}", EXIT_USAGE) from None
    if not isinstance(value, dict):
        raise CliError(
            f"{where} must be a JSON object of field values, got {type(value).__name__}",
            EXIT_USAGE,
        )
    return value


def _read_text(path: str, what: str, code: int) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8-sig") as stream:
            text = stream.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CliError(f"cannot read {what} {path!r}: {exc.strerror or exc}", code) from None
    except UnicodeDecodeError:
        raise CliError(f"{what} {path!r} is not UTF-8 text", code) from None
    if len(text) > _MAX_FILE_BYTES:
        raise CliError(f"{what} {path!r} is larger than 1 MiB", code)
    return text


def _values(args: argparse.Namespace) -> dict[str, Any]:
    """The field values from --values, --values-file or FIELD=VALUE pairs (exactly one)."""
    given = [
        name
        for name, present in (
            ("--values", args.values is not None),
            ("--values-file", args.values_file is not None),
            ("FIELD=VALUE", bool(args.pairs)),
        )
        if present
    ]
    if len(given) != 1:
        what = "none was given" if not given else f"got {' and '.join(given)}"
        _usage_error(args, f"give exactly one of --values, --values-file or FIELD=VALUE ({what})")
    if args.values is not None:
        return _parse_json_object(args.values, "--values")
    if args.values_file is not None:
        text = _read_text(args.values_file, "values file", EXIT_USAGE)
        return _parse_json_object(text, f"values file {args.values_file!r}")
    values: dict[str, Any] = {}
    for pair in args.pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name or name == ":":
            _usage_error(args, f"expected FIELD=VALUE or FIELD:=JSON, got {pair!r}")
        value: Any = raw
        if name.endswith(":"):
            name = name[:-1]
            try:
                value = json.loads(raw)
            except ValueError as exc:
                _usage_error(args, f"the value of {name!r} is not valid JSON: {exc}")
        if name in values:
            _usage_error(
                args,
                f'field {name!r} given twice; for a list use {name}:=\'["a", "b"]\'',
            )
        values[name] = value
    return values


def _usage_error(args: argparse.Namespace, message: str) -> NoReturn:
    parser: argparse.ArgumentParser = args.parser
    parser.error(message)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    # An unquoted value ends at an inline comment, as in common dotenv dialects.
    for marker in (" #", "\t#"):
        value = value.split(marker, 1)[0]
    return value.strip()


def _parse_credentials_file(path: str) -> dict[str, str]:
    """Settings from a JSON object or KEY=VALUE lines. Errors never quote the file's content."""
    text = _read_text(path, "credentials file", EXIT_CONFIG)
    raw: dict[str, Any] = {}
    if text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CliError(
                f"credentials file {path!r} is not valid JSON (line {_line_of(exc)})", EXIT_CONFIG
            ) from None
        if not isinstance(data, dict):
            raise CliError(f"credentials file {path!r} must hold a JSON object", EXIT_CONFIG)
        raw = data
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("export "):
                line = line[len("export ") :].lstrip()
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise CliError(
                    f"credentials file {path!r}, line {number}: expected KEY=VALUE", EXIT_CONFIG
                )
            raw[key.strip()] = _unquote(value.strip())
    settings: dict[str, str] = {}
    for key, value in raw.items():
        setting = _FILE_KEYS.get(str(key).lower())
        if setting is None:
            continue
        if not isinstance(value, str):
            raise CliError(f"credentials file {path!r}: {key!r} must be a string", EXIT_CONFIG)
        if value:  # an empty value counts as absent: the environment's is used
            settings[setting] = value
    return settings


def _line_of(exc: ValueError) -> object:
    return getattr(exc, "lineno", "?")


# --- commands -----------------------------------------------------------------------------


async def _check(client: CflowClient, args: argparse.Namespace) -> Any:
    await client.check_connection()
    return {"ok": True, "base_url": client.base_url, "username": args.username}


async def _workflows(client: CflowClient, _args: argparse.Namespace) -> Any:
    return await client.get_workflows()


async def _process(client: CflowClient, args: argparse.Namespace) -> Any:
    return await client.get_process(args.workflow)


async def _status(client: CflowClient, args: argparse.Namespace) -> Any:
    return await client.get_status(args.workflow, args.group_id)


async def _fields(client: CflowClient, args: argparse.Namespace) -> Any:
    if args.group_id is None:
        return await client.get_workflow_fieldsets(args.workflow)
    if args.for_map:
        return await client.get_process_fields_for_map(args.workflow, args.group_id)
    return await client.get_process_fieldsets(args.workflow, args.group_id)


async def _submit(client: CflowClient, args: argparse.Namespace) -> Any:
    record_id = await client.submit_record(args.workflow, args.field_values)
    return {"record_id": record_id}


async def _update(client: CflowClient, args: argparse.Namespace) -> Any:
    record_id = await client.update_record(
        args.workflow, args.group_id, args.record_id, args.field_values
    )
    return {"record_id": record_id}


async def _requests_list(client: CflowClient, args: argparse.Namespace) -> Any:
    return await client.requests.list(args.workflow_id)


async def _requests_get(client: CflowClient, args: argparse.Namespace) -> Any:
    return await client.requests.get(args.workflow_id, args.request_id)


async def _requests_create(client: CflowClient, args: argparse.Namespace) -> Any:
    if args.draft:
        return await client.requests.create_draft(args.workflow_id, args.field_values)
    return await client.requests.create(args.workflow_id, args.field_values)


async def _requests_approve(client: CflowClient, args: argparse.Namespace) -> Any:
    return await client.requests.approve(
        args.workflow_id, args.request_id, comment=args.comment, reassign_to=args.reassign_to
    )


async def _requests_reject(client: CflowClient, args: argparse.Namespace) -> Any:
    return await client.requests.reject(
        args.workflow_id, args.request_id, comment=args.comment, reassign_to=args.reassign_to
    )


async def _users(client: CflowClient, _args: argparse.Namespace) -> Any:
    return await client.users.list()


async def _roles(client: CflowClient, _args: argparse.Namespace) -> Any:
    return await client.roles.list()


# --- running ------------------------------------------------------------------------------


def _client_settings(args: argparse.Namespace) -> dict[str, Any]:
    file_settings = _parse_credentials_file(args.credentials_file) if args.credentials_file else {}
    # Precedence: command-line option, then credentials file, then environment (the
    # client reads the environment for whatever is None). A server chosen on the command
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


def _check_credentials(settings: Mapping[str, Any]) -> None:
    """Name what is missing in the CLI's terms (the client's message says "pass them")."""
    missing = [
        env
        for key, env in (
            ("api_key", _ENV_API_KEY),
            ("user_key", _ENV_USER_KEY),
            ("username", _ENV_USERNAME),
        )
        if not (settings.get(key) or os.environ.get(env))
    ]
    if missing:
        raise CliError(
            f"missing Cflow credentials: set {', '.join(missing)} in the environment"
            " or give them in --credentials-file",
            EXIT_CONFIG,
        )


def _secrets(settings: Mapping[str, Any]) -> list[str]:
    """Every key value this run may know about, longest first, for scrubbing output."""
    found = {
        value
        for value in (
            settings.get("api_key"),
            settings.get("user_key"),
            os.environ.get(_ENV_API_KEY),
            os.environ.get(_ENV_USER_KEY),
        )
        if isinstance(value, str) and len(value.strip()) >= _MIN_SCRUB_LENGTH
    }
    for value in list(found):
        found.add(value.strip())
    return sorted(found, key=len, reverse=True)


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, _REDACTED)
    return text


async def _execute(args: argparse.Namespace, settings: Mapping[str, Any]) -> Any:
    from cflow_async import CflowClient, InvalidArgumentError, RetryPolicy

    _check_credentials(settings)
    # For `check`'s report (the client keeps its credentials private).
    args.username = settings.get("username") or os.environ.get(_ENV_USERNAME)
    try:
        client = CflowClient(
            **settings,
            timeout=args.timeout,
            retry=None if args.retries is None else RetryPolicy(max_retries=args.retries),
        )
    except InvalidArgumentError as exc:
        raise CliError(f"configuration: {exc}", EXIT_CONFIG) from None
    async with client:
        handler: Handler = args.handler
        result = await handler(client, args)
    return _plain(result)


def _plain(value: Any) -> Any:
    """Models to JSON-ready data: generated models by ``to_dict``, legacy ones by attrs."""
    import attrs

    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return _plain(to_dict())
    if attrs.has(type(value)):
        # attrs.asdict keeps tuples (FieldDefinition.options); _plain makes them lists.
        return _plain(attrs.asdict(value))
    return value


def _classify(exc: BaseException, *, write: bool) -> CliError | None:
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
    if exc.outcome_unknown:
        return CliError(f"outcome unknown: {message}", EXIT_OUTCOME_UNKNOWN)
    if isinstance(exc, ResponseValidationError | ResponseTooLargeError):
        if write:
            return CliError(
                f"outcome unknown: {message}. The write may have been applied:"
                " check before sending it again.",
                EXIT_OUTCOME_UNKNOWN,
            )
        return CliError(f"bad response: {message}", EXIT_BAD_RESPONSE)
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return CliError(
            f"{message} (check {_ENV_API_KEY}, {_ENV_USER_KEY} and {_ENV_USERNAME}"
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


def _run(args: argparse.Namespace, out: _Output) -> int:
    import asyncio

    settings = _client_settings(args)
    out.secrets = _secrets(settings)
    try:
        result = asyncio.run(_execute(args, settings))
    except CliError:
        raise
    except Exception as exc:
        error = _classify(exc, write=args.write)
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


# --- output -------------------------------------------------------------------------------


class _Output:
    """Writes results and errors, with any known secret replaced."""

    def __init__(self, stdout: TextIO, stderr: TextIO) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.secrets: list[str] = []

    def scrub(self, text: str) -> str:
        return _scrub(text, self.secrets)

    def result(self, data: Any, fmt: str) -> None:
        if fmt == "table":
            text = _table(data)
        else:
            text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
            # json escapes C0 controls but leaves DEL and C1 (e.g. CSI, U+009B) raw.
            text = text.translate(_C1_ESCAPES)
        self.stdout.write(self.scrub(text) + "\n")
        self.stdout.flush()

    def error(self, message: str) -> None:
        line = " ".join(self.scrub(message).split())
        self.stderr.write(f"{PROG}: error: {line}\n")
        self.stderr.flush()


def _cell(value: Any) -> str:
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    else:
        text = str(value)
    # Server data must not drive the terminal: show control characters escaped.
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    if len(text) > _MAX_CELL:
        text = text[: _MAX_CELL - 3] + "..."
    return text


def _table(data: Any) -> str:
    if isinstance(data, dict):
        rows: list[dict[str, Any]] = [{"field": k, "value": v} for k, v in data.items()]
    elif isinstance(data, list):
        if not data:
            return "(no results)"
        rows = [item if isinstance(item, dict) else {"value": item} for item in data]
    else:
        rows = [{"value": data}]
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    header = [_cell(column) for column in columns]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(columns))]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(c) for c in cells)])


# --- entry point --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run ``cflow`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    out = _Output(sys.stdout, sys.stderr)
    out.secrets = _secrets({})
    args: argparse.Namespace | None = None
    try:
        parser = build_parser()
        try:
            args, extras = parser.parse_known_args(arguments)
        except SystemExit as exc:  # --help, --version, usage errors
            return _exit_status(exc)
        if args.command == "sandbox":
            # The sandbox subparser takes no arguments: extras are all of them, in order.
            return _run_sandbox(extras)
        if extras and getattr(args, "pairs", None) is not None:
            # argparse stops filling a '*' positional at the first option; FIELD=VALUE
            # pairs given after an option land in extras.
            args.pairs = [*args.pairs, *(e for e in extras if not e.startswith("-"))]
            extras = [e for e in extras if e.startswith("-")]
        if extras:
            args.parser.error(f"unrecognized arguments: {' '.join(extras)}")
        if getattr(args, "pairs", None) is not None:
            args.field_values = _values(args)
        if args.command == "fields" and args.for_map and args.group_id is None:
            args.parser.error("--for-map needs --group-id")
        return _run(args, out)
    except SystemExit as exc:
        return _exit_status(exc)
    except CliError as exc:
        out.error(exc.message)
        return exc.code
    except KeyboardInterrupt:
        note = ""
        if args is not None and getattr(args, "write", False):
            note = "; if the write reached the server its outcome is unknown: check before retrying"
        out.error(f"interrupted{note}")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `cflow workflows | head`): nothing left to say.
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:
        out.error(f"unexpected {type(exc).__name__}: {exc} (set {_ENV_DEBUG}=1 for a traceback)")
        if os.environ.get(_ENV_DEBUG):
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
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
