"""``--format table`` against the sandbox (the table formatter alone is in test_cli_units)."""

from __future__ import annotations

import json

import pytest
from servers import Loopback, Reply

from cli.cli_support import SEED_WORKFLOWS, WORKFLOW_FIELDS, Cli

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("env")]


def test_table_of_a_list(cli: Cli) -> None:
    lines = cli.ok("workflows", "--format", "table").out.splitlines()
    # The legacy endpoint has no id or status: columns empty in every row are hidden.
    assert lines[0].split() == ["name", "display_name"]
    assert set(lines[1]) <= {"-", " "}
    assert [line.split("  ")[0] for line in lines[2:]] == SEED_WORKFLOWS
    assert {"id", "status"} <= set(cli("workflows").json()[0]), "JSON output keeps every key"


def test_table_option_before_the_command_and_on_a_group(cli: Cli) -> None:
    lines = cli.ok("--format", "table", "process", "User Workflow").out.splitlines()
    assert lines[0].split() == ["stage", "display_name", "process_id"]
    assert lines[3].split() == ["Manager", "Review", "Manager", "Review", "27406"]
    # Options are accepted at every level of the command.
    assert cli.ok("requests", "--format", "table", "list", "Test").out == "(no results)\n"


def test_requests_table_leads_with_scalar_columns(cli: Cli) -> None:
    values = json.dumps({name: f"a longer value for {name}" for name in WORKFLOW_FIELDS})
    cli.ok("requests", "create", "User Workflow", "--values", values)
    cli.ok("requests", "create", "User Workflow", "City=Ooty")
    full = cli("requests", "list", "User Workflow").json()
    nested = {key for key, value in full[0].items() if isinstance(value, dict | list)}
    assert "fields" in nested
    result = cli.ok("requests", "list", "User Workflow", "--format", "table")
    lines = result.out.splitlines()
    header = lines[0].split()
    assert header[0] == "id"
    first_nested = min(header.index(name) for name in nested if name in header)
    assert all(name not in nested for name in header[:first_nested])
    assert all(name in nested for name in header[first_nested:])
    # Five long fields do not fit a cell: summarised. One short field fits: shown whole.
    assert "{5 fields}" in lines[2]
    assert '{"City":"Ooty"}' in lines[3]
    assert "..." not in result.out.replace("{5 fields}", "")


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
