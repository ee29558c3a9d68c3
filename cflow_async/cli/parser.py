"""The argparse parser, built from the command table (:mod:`.commands`).

argparse, not click or typer: it is in the standard library, so ``cflow --help`` starts
without importing anything heavy.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from cflow_async._argtypes import number
from cflow_async._constants import (
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_REGION,
    ENV_USER_KEY,
    ENV_USERNAME,
)
from cflow_async._version import __version__

from .commands import COMMANDS, GROUPS, Command
from .exit_codes import EXIT_CODES
from .inputs import add_values_options
from .output import PROG, scrub, secrets

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

#: The command that hands everything after it to the sandbox's own parser.
SANDBOX = "sandbox"


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
        help=f"Cflow region: us or ap (default: {ENV_REGION}, else us)",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=default(None),
        help="server root, e.g. http://127.0.0.1:8765 for a sandbox (overrides --region;"
        f" default: {ENV_BASE_URL})",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=number(float, unit="seconds"),
        default=default(None),
        help="per-request timeout in seconds (default: connect 5, read 30)",
    )
    group.add_argument(
        "--retries",
        metavar="N",
        type=number(int, zero=True),
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


def _epilog() -> str:
    codes = "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items())
    return (
        "credentials:\n"
        f"  {ENV_API_KEY}, {ENV_USER_KEY} and {ENV_USERNAME} from the environment, or\n"
        "  --credentials-file PATH. They are never accepted on the command line and never\n"
        f"  printed. {ENV_REGION} and {ENV_BASE_URL} choose the server like --region and\n"
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
        # An abbreviation that means one option today would mean another once one is added.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(**kwargs)

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        super()._print_message(scrub(message, secrets({})), file)


def _add_command(subparsers: Any, name: str, command: Command) -> None:
    sub: argparse.ArgumentParser = subparsers.add_parser(
        name, help=command.help, description=command.help[:1].upper() + command.help[1:] + "."
    )
    _add_global_options(sub, suppress=True)
    for argument in command.args:
        sub.add_argument(*argument.flags, **argument.options)
    if command.values:
        add_values_options(sub)
    # parser: for usage errors found after parsing, printed with the command's own usage.
    sub.set_defaults(command=command, parser=sub)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Command-line client for the Cflow workflow API (legacy and OpenAPI"
        " endpoints).",
        epilog=_epilog(),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_global_options(parser, suppress=False)
    top = parser.add_subparsers(
        dest="command_name", metavar="COMMAND", required=True, parser_class=_Parser
    )
    groups: dict[str, Any] = {}
    for command in COMMANDS:
        if len(command.path) == 1:
            _add_command(top, command.path[0], command)
            continue
        group_name, name = command.path
        if group_name not in groups:
            help_text = GROUPS[group_name]
            group = top.add_parser(
                group_name, help=help_text, description=help_text[:1].upper() + help_text[1:] + "."
            )
            _add_global_options(group, suppress=True)
            groups[group_name] = group.add_subparsers(
                dest="action", metavar="ACTION", required=True, parser_class=_Parser
            )
        _add_command(groups[group_name], name, command)
    # Everything after "sandbox" goes to the sandbox's own parser (see run.main).
    top.add_parser(
        SANDBOX,
        help="run a local Cflow sandbox server (sandbox --help for its options)",
        add_help=False,
        prefix_chars="\0",
    )
    return parser
