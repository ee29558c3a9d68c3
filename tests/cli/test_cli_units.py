"""The CLI's parts without a server: the table formatter, the command table, error mapping,
and what ``cflow --help`` imports (each import check in a fresh interpreter)."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from cflow_async import CflowError, ResponseTooLargeError, ResponseValidationError
from cflow_async._argtypes import number
from cflow_async.cli import commands, main, parser
from cflow_async.cli.commands import COMMANDS, Command
from cflow_async.cli.exit_codes import EXIT_BAD_RESPONSE, EXIT_OUTCOME_UNKNOWN
from cflow_async.cli.output import cell, table
from cflow_async.cli.run import classify_error
from cli.cli_support import UNKNOWN_NOTE

# --- the table formatter --------------------------------------------------------------------


def test_table_known_input() -> None:
    rows = [
        {"name": "a", "id": "1", "empty": None, "fields": {"x": 1}, "note": ""},
        {"name": "bb", "id": "2", "empty": "", "fields": {"x": 2, "y": 3}, "note": "hi"},
    ]
    assert table(rows) == textwrap.dedent(
        """\
        id  name  note  fields
        --  ----  ----  -------------
        1   a           {"x":1}
        2   bb    hi    {"x":2,"y":3}"""
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ({f"k{i}": "v" * 20 for i in range(3)}, "{3 fields}"),
        ({"k": "v" * 70}, "{1 field}"),
        (["v" * 70], "[1 item]"),
        (["v" * 30, "w" * 30], "[2 items]"),
        ([], "[]"),
        ({"a": [1, 2]}, '{"a":[1,2]}'),
        ("x" * 70, "x" * 57 + "..."),
        (True, "yes"),
        (None, ""),
        ("a\x1bb", "a\\x1bb"),
        # Nested values short enough to show are JSON, which escapes control characters too.
        ({"x": "\x1b[2J"}, '{"x":"\\u001b[2J"}'),
    ],
)
def test_cell(value: Any, shown: str) -> None:
    assert cell(value) == shown


def test_table_of_an_object_of_scalars_and_of_nothing() -> None:
    assert table({"ok": True}).splitlines() == ["field  value", "-----  -----", "ok     yes"]
    assert table(["x"]).splitlines() == ["value", "-----", "x"]
    assert table([]) == "(no results)"
    # Only empty values: the columns are kept, to show the shape.
    assert table([{"a": None, "b": ""}]).splitlines()[0].split() == ["a", "b"]


# --- the command table ----------------------------------------------------------------------


def test_command_table_is_consistent_and_every_command_parses() -> None:
    paths = [command.path for command in COMMANDS]
    assert len(paths) == len(set(paths))
    built = parser.build_parser()
    for command in COMMANDS:
        assert 1 <= len(command.path) <= 2, command.path
        if len(command.path) == 2:
            assert command.path[0] in commands.GROUPS
        # The help becomes the description: a lower-case phrase without a final period.
        assert command.help[:1].islower()
        assert not command.help.endswith(".")
        argv = [*command.path]
        for argument in command.args:
            if not argument.flags[0].startswith("-"):
                argv.append("x")
            elif argument.options.get("required"):
                argv += [argument.flags[0], "x"]
        args, extras = built.parse_known_args(argv)
        assert args.command is command
        assert extras == []
    writes = {" ".join(c.path) for c in COMMANDS if c.write}
    assert writes == {"submit", "update", "requests create", "requests approve", "requests reject"}


@pytest.mark.parametrize(
    ("kind", "options", "text", "outcome"),
    [
        (float, {"unit": "seconds"}, "2.5", 2.5),
        (float, {"unit": "seconds"}, "0", "must be more than 0 seconds, got '0'"),
        (float, {"unit": "seconds"}, "inf", "must be more than 0 seconds, got 'inf'"),
        (float, {"unit": "seconds"}, "soon", "expected a number of seconds, got 'soon'"),
        (int, {"zero": True}, "0", 0),
        (int, {"zero": True}, "-1", "must be 0 or more, got '-1'"),
        (int, {"zero": True}, "1.5", "expected a whole number, got '1.5'"),
        (int, {}, "0", "must be more than 0, got '0'"),
        (float, {}, "nan", "must be more than 0, got 'nan'"),
        (float, {"zero": True, "unit": "seconds"}, "0", 0.0),
        (float, {"zero": True, "unit": "seconds"}, "-1", "must be 0 or more seconds, got '-1'"),
    ],
)
def test_number_options_of_both_command_lines(
    kind: type, options: dict[str, Any], text: str, outcome: Any
) -> None:
    parse = number(kind, **options)
    if isinstance(outcome, str):
        with pytest.raises(argparse.ArgumentTypeError, match=f"^{re.escape(outcome)}$"):
            parse(text)
    else:
        value = parse(text)
        assert (value, type(value)) == (outcome, kind)


# --- error mapping --------------------------------------------------------------------------


@pytest.mark.parametrize("error_type", [ResponseValidationError, ResponseTooLargeError])
def test_a_bad_answer_is_a_bad_response_or_of_unknown_outcome(error_type: type[CflowError]) -> None:
    # The library flags a write's (outcome_unknown): the CLI needs no write-specific branch.
    read = classify_error(error_type("unreadable"))
    write = classify_error(error_type("unreadable", outcome_unknown=True))
    assert read is not None
    assert write is not None
    assert (read.code, write.code) == (EXIT_BAD_RESPONSE, EXIT_OUTCOME_UNKNOWN)


# --- what `cflow --help` imports ------------------------------------------------------------


def test_cflow_help_imports_neither_httpx_nor_aiohttp() -> None:
    code = """
import contextlib, io, json, sys
from cflow_async.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(["--help"])
assert code == 0 and "exit codes:" in out.getvalue(), out.getvalue()
heavy = ("httpx", "httpcore", "aiohttp", "attrs", "attr", "cflow_openapi")
print(json.dumps(sorted(
    m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy)
)))
"""
    # A fresh interpreter: this one has imported everything already.
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


# --- failures outside the library: bugs, Ctrl-C, a closed pipe -------------------------------

SECRET = "units-api-key-S3CRET-eeee"
Raising = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run_raising(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Raising:
    """Runs a stand-in command whose handler raises ``error`` (no request is made): gives
    the exit code, stdout and stderr."""

    def run(error: BaseException, *, write: bool = False) -> tuple[int, str, str]:
        async def handler(client: Any, args: argparse.Namespace) -> Any:
            raise error

        entry = Command(("boom",), handler, "raise", write=write)
        monkeypatch.setattr(parser, "COMMANDS", (*COMMANDS, entry))
        monkeypatch.setenv("CFLOW_API_KEY", SECRET)
        monkeypatch.setenv("CFLOW_USER_KEY", "units-user-key")
        monkeypatch.setenv("CFLOW_USERNAME", "units@example.com")
        monkeypatch.setenv("CFLOW_BASE_URL", "http://127.0.0.1:9")
        code = main(["boom"])
        captured = capsys.readouterr()
        assert SECRET not in captured.out + captured.err
        return code, captured.out, captured.err

    return run


def test_a_bug_exits_1_with_one_scrubbed_line_and_cflow_debug_adds_a_traceback(
    run_raising: Raising, monkeypatch: pytest.MonkeyPatch
) -> None:
    bug = RuntimeError(f"key {SECRET} leaked")
    monkeypatch.delenv("CFLOW_DEBUG", raising=False)
    assert run_raising(bug) == (
        1,
        "",
        "cflow: error: unexpected RuntimeError: key [redacted] leaked"
        " (set CFLOW_DEBUG=1 for a traceback)\n",
    )
    monkeypatch.setenv("CFLOW_DEBUG", "1")
    code, _, err = run_raising(bug)
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: key [redacted] leaked" in err


@pytest.mark.parametrize(("write", "note"), [(False, ""), (True, UNKNOWN_NOTE)])
def test_ctrl_c_in_process_exits_130(run_raising: Raising, write: bool, note: str) -> None:
    err = f"cflow: error: interrupted{note}\n"
    assert run_raising(KeyboardInterrupt(), write=write) == (130, "", err)


def test_a_closed_pipe_exits_0_silently(run_raising: Raising) -> None:
    assert run_raising(BrokenPipeError()) == (0, "", "")
