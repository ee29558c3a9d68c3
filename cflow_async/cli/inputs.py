"""What the user hands the CLI besides options: field values and the credentials file.

Errors are ``CliError`` (or an argparse usage error for malformed FIELD=VALUE pairs); none
of them quotes a credentials file's content, which holds secrets.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from typing import Any, NoReturn

from .exit_codes import EXIT_CONFIG, EXIT_USAGE, CliError

# Bigger inputs are almost surely the wrong file; refusing them keeps memory bounded.
MAX_FILE_BYTES = 1024 * 1024

# Credentials-file keys (case-insensitive) -> setting. Dotenv files usually carry the
# environment variable names, JSON files the short ones; both are accepted in both.
FILE_KEYS: Mapping[str, str] = {
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


def add_values_options(parser: argparse.ArgumentParser) -> None:
    """--values, --values-file and FIELD=VALUE pairs, for commands that send field values."""
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


def parse_json_object(text: str, where: str) -> dict[str, Any]:
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


def read_text(path: str, what: str, code: int) -> str:
    """A UTF-8 file (``-``: stdin) of at most 1 MiB; failures exit with ``code``."""
    try:
        if path == "-":
            return sys.stdin.read()
        # utf-8-sig: files saved by Windows editors start with a BOM.
        with open(path, encoding="utf-8-sig") as stream:
            text = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CliError(f"cannot read {what} {path!r}: {exc.strerror or exc}", code) from None
    except UnicodeDecodeError:
        raise CliError(f"{what} {path!r} is not UTF-8 text", code) from None
    if len(text) > MAX_FILE_BYTES:
        raise CliError(f"{what} {path!r} is larger than 1 MiB", code)
    return text


def write_text(path: str, text: str) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, then a rename."""
    import tempfile

    target = os.path.abspath(path)
    try:
        fd, temporary = tempfile.mkstemp(
            dir=os.path.dirname(target), prefix=".cflow-", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise CliError(f"cannot write {path!r}: {exc.strerror or exc}", EXIT_USAGE) from None


def field_values(args: argparse.Namespace) -> dict[str, Any]:
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
        return parse_json_object(args.values, "--values")
    if args.values_file is not None:
        text = read_text(args.values_file, "values file", EXIT_USAGE)
        return parse_json_object(text, f"values file {args.values_file!r}")
    return _parse_pairs(args, args.pairs)


def _parse_pairs(args: argparse.Namespace, pairs: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
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
            # Repeating a field is how some CLIs build lists; here it is a mistake to name.
            _usage_error(
                args,
                f'field {name!r} given twice; for a list use {name}:=\'["a", "b"]\'',
            )
        values[name] = value
    return values


def _usage_error(args: argparse.Namespace, message: str) -> NoReturn:
    # The subcommand's own parser, so the usage line printed is the command's.
    parser: argparse.ArgumentParser = args.parser
    parser.error(message)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    # An unquoted value ends at an inline comment, as in common dotenv dialects.
    for marker in (" #", "\t#"):
        value = value.split(marker, 1)[0]
    return value.strip()


def parse_credentials_file(path: str) -> dict[str, str]:
    """Settings from a JSON object or KEY=VALUE lines. Errors never quote the file's content."""
    text = read_text(path, "credentials file", EXIT_CONFIG)
    raw: dict[str, Any] = {}
    if text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            line = getattr(exc, "lineno", "?")
            raise CliError(
                f"credentials file {path!r} is not valid JSON (line {line})", EXIT_CONFIG
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
        setting = FILE_KEYS.get(str(key).lower())
        if setting is None:
            continue
        if not isinstance(value, str):
            raise CliError(f"credentials file {path!r}: {key!r} must be a string", EXIT_CONFIG)
        if value:  # an empty value counts as absent: the environment's is used
            settings[setting] = value
    return settings
