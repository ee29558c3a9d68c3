"""Every ``cflow`` command: one table entry (:data:`COMMANDS`) and one handler function.

To add a command, write ``async def _name(client, args)`` returning JSON-ready data or
models (the output layer converts them), and add a :class:`Command` to ``COMMANDS``:

    Command(("import",), _import, "submit the rows of a CSV or JSON file", write=True,
            args=(arg("file", metavar="FILE"), arg("--workflow", required=True))),

``write=True`` marks a command that changes server state: Ctrl-C then warns that the
outcome may be unknown. ``values=True`` gives it --values / --values-file / FIELD=VALUE,
parsed into ``args.field_values`` before the handler runs. ``check`` rejects option
combinations argparse cannot express, as a usage error before anything is sent. A path of
two names, like ``("requests", "list")``, puts the command under a group listed in
``GROUPS``.

Handlers import nothing at module level beyond the standard library: this module is loaded
for ``cflow --help``, which must not pay for httpx or aiohttp.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cflow_async.importer.arguments import IMPORT_ARGS

if TYPE_CHECKING:
    from cflow_async import CflowClient

Handler = Callable[["CflowClient", argparse.Namespace], Awaitable[Any]]
#: Returns a usage-error message, or None when the arguments are fine.
Check = Callable[[argparse.Namespace], "str | None"]


@dataclass(frozen=True)
class Arg:
    """One ``add_argument`` call, kept as data so the table can be read at a glance."""

    flags: tuple[str, ...]
    options: Mapping[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]
    handler: Handler
    help: str
    args: tuple[Arg, ...] = ()
    write: bool = False
    values: bool = False
    check: Check | None = None


# --- handlers -------------------------------------------------------------------------------


async def _check(client: CflowClient, args: argparse.Namespace) -> Any:
    await client.check_connection()
    # args.username was set from the resolved credentials: the client keeps its own private.
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


def _fields_check(args: argparse.Namespace) -> str | None:
    if args.for_map and args.group_id is None:
        return "--for-map needs --group-id"
    return None


async def _submit(client: CflowClient, args: argparse.Namespace) -> Any:
    # Validated by default: text from a shell needs converting (dates) and a typo is
    # better caught here, with a suggestion, than as the server's 400.
    record_id = await client.submit_record(args.workflow, args.field_values, validate=args.validate)
    return {"record_id": record_id}


async def _update(client: CflowClient, args: argparse.Namespace) -> Any:
    record_id = await client.update_record(
        args.workflow, args.group_id, args.record_id, args.field_values, validate=args.validate
    )
    return {"record_id": record_id}


async def _import(client: CflowClient, args: argparse.Namespace) -> Any:
    from cflow_async.importer.cli import ImportFailed, import_command

    from .exit_codes import CliError

    try:
        return await import_command(client, args)
    except ImportFailed as exc:  # the summary is on stderr already
        raise CliError(exc.message, exc.code) from None


async def _codegen_records(client: CflowClient, args: argparse.Namespace) -> Any:
    from cflow_async._codegen_records import record_module_source

    from .inputs import write_text

    if args.group_id is None:
        fields = await client.get_workflow_fieldsets(args.workflow)
    else:
        fields = await client.get_process_fieldsets(args.workflow, args.group_id)
    source = record_module_source(
        fields, workflow_name=args.workflow, group_id=args.group_id, output=args.output
    )
    write_text(args.output, source)
    return {"written": args.output, "workflow": args.workflow, "fields": len(fields)}


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


# --- the table ------------------------------------------------------------------------------

# Arguments several commands share, named once so their help reads the same everywhere.
_WORKFLOW = arg("workflow", metavar="WORKFLOW", help="the workflow name")
_GROUP_ID = arg("group_id", metavar="GROUP_ID", help="the stage's ProcessID")
_STAGE_FIELDSETS = arg(
    "--group-id", metavar="ID", help="a stage's ProcessID: its process fieldsets"
)
_WORKFLOW_ID = arg("workflow_id", metavar="WORKFLOW_ID")
_REQUEST_ID = arg("request_id", metavar="REQUEST_ID")
# submit and update: checked against the workflow's field definitions unless told not to.
_VALIDATION = (
    arg(
        "--no-validate",
        dest="validate",
        action="store_false",
        help="send the values as given, without checking them against the field definitions",
    ),
    arg(
        "--timezone",
        metavar="TZ",
        help="the Cflow account's time zone (IANA name, e.g. Asia/Kolkata): datetimes with"
        " an offset are converted into it",
    ),
)
_DECISION = (
    _WORKFLOW_ID,
    _REQUEST_ID,
    arg("--comment", metavar="C", help="a comment recorded with the action"),
    arg("--reassign-to", metavar="U", help="reassign the request to username U"),
)

#: Command groups (the first name of a two-name path) -> their help.
GROUPS: Mapping[str, str] = {"requests": "workflow requests (OpenAPI endpoints)"}

#: In ``cflow --help`` order. ``sandbox`` is not here: it hands its arguments to the
#: sandbox's own parser (see parser.py and run.py).
COMMANDS: tuple[Command, ...] = (
    Command(("check",), _check, "check that the credentials are accepted"),
    Command(("workflows",), _workflows, "list the workflows"),
    Command(("process",), _process, "list a workflow's process stages", args=(_WORKFLOW,)),
    Command(
        ("status",),
        _status,
        "list the statuses of a process stage",
        args=(_WORKFLOW, _GROUP_ID),
    ),
    Command(
        ("fields",),
        _fields,
        "list field definitions: the workflow's, or a stage's with --group-id",
        args=(
            _WORKFLOW,
            _STAGE_FIELDSETS,
            arg(
                "--for-map",
                action="store_true",
                help="the stage's process fields for mapping (needs --group-id)",
            ),
        ),
        check=_fields_check,
    ),
    Command(
        ("submit",),
        _submit,
        "submit a new record",
        args=(_WORKFLOW, *_VALIDATION),
        write=True,
        values=True,
    ),
    Command(
        ("update",),
        _update,
        "update a record",
        args=(
            _WORKFLOW,
            _GROUP_ID,
            arg("record_id", metavar="RECORD_ID", help="the record's id"),
            *_VALIDATION,
        ),
        write=True,
        values=True,
    ),
    Command(
        ("codegen-records",),
        _codegen_records,
        "write a typed record class (a Python module) for a workflow's form",
        args=(
            _WORKFLOW,
            _STAGE_FIELDSETS,
            arg("-o", "--output", metavar="FILE", required=True, help="the module to write"),
        ),
    ),
    Command(
        ("requests", "list"), _requests_list, "list a workflow's requests", args=(_WORKFLOW_ID,)
    ),
    Command(
        ("requests", "get"), _requests_get, "show one request", args=(_WORKFLOW_ID, _REQUEST_ID)
    ),
    Command(
        ("requests", "create"),
        _requests_create,
        "create a request",
        args=(_WORKFLOW_ID, arg("--draft", action="store_true", help="create it as a draft")),
        write=True,
        values=True,
    ),
    Command(
        ("requests", "approve"), _requests_approve, "approve a request", args=_DECISION, write=True
    ),
    Command(
        ("requests", "reject"), _requests_reject, "reject a request", args=_DECISION, write=True
    ),
    Command(
        ("import",),
        _import,
        "import a spreadsheet (CSV, JSON Lines, XLSX) as records, resumably: a journal"
        " remembers each row, so a second run skips what is done and never sends a row twice",
        # Not write=True: Ctrl-C prints the import's own summary and journal advice.
        args=tuple(arg(*flags, **options) for flags, options in IMPORT_ARGS),
    ),
    Command(("users",), _users, "list the users"),
    Command(("roles",), _roles, "list the roles"),
)
