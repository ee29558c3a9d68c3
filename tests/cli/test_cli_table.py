"""``--format table`` against the sandbox (the table formatter alone is in test_cli_units)."""

from __future__ import annotations

import json

import pytest
from servers import Loopback, Reply

from cli.cli_support import Cli

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("env")]


def test_table_option_before_the_command_and_on_a_group(cli: Cli) -> None:
    lines = cli.ok("--format", "table", "process", "User Workflow").out.splitlines()
    assert lines[0].split() == ["stage", "display_name", "process_id"]
    assert lines[3].split() == ["Manager", "Review", "Manager", "Review", "27406"]
    # Options are accepted at every level of the command.
    assert cli.ok("requests", "--format", "table", "list", "Test").out == "(no results)\n"


def test_table_escapes_control_characters(cli: Cli, stub: Loopback) -> None:
    def serve(name: str) -> None:
        body = {"Workflows": [{"WorkflowName": name, "WorkflowDisplayName": "d"}]}
        stub.handler = lambda seen: Reply(body=json.dumps(body).encode())

    # Server data must not drive the terminal (ESC sequences, CR, ...).
    serve("a\u001b[31mred\rx")
    result = cli.ok("--base-url", stub.url, "workflows", "--format", "table")
    assert "\x1b" not in result.out
    assert "\r" not in result.out
    assert "a\\x1b[31mred\\rx" in result.out
    # JSON output escapes them all, C1 controls (CSI is U+009B) included.
    serve("a\u009b31m\u001b[0m")
    as_json = cli("--base-url", stub.url, "workflows")
    assert "\x9b" not in as_json.out
    assert "\x1b" not in as_json.out
    assert as_json.json()[0]["name"] == "a\u009b31m\u001b[0m"
    # Nested values short enough to show are JSON, which escapes them too.
    cli.ok("requests", "create", "Test", "--values", '{"x": "\\u001b[2J"}')
    nested = cli("requests", "list", "Test", "--format", "table")
    assert "\x1b" not in nested.out
    assert "\\u001b[2J" in nested.out
