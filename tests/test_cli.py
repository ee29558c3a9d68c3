"""The ``cflow`` command line against the sandbox.

Most tests call ``cflow_async.cli.main`` in-process (sync tests: the CLI runs its own
``asyncio.run``) against one sandbox child process, reset before each test. A few run
``python -m cflow_async`` as a subprocess. Every run is checked for leaked keys and tracebacks.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from cflow_async.cli import EXIT_CODES, main
from cflow_async.sandbox import SandboxProcess

pytestmark = pytest.mark.integration

# Distinctive keys (not the public demo ones) so a leak is easy to spot.
API_KEY = "cli-api-key-S3CRET-cccc"
USER_KEY = "cli-user-key-S3CRET-dddd"
USERNAME = "cli.tester@example.com"
WRONG_API_KEY = "wrong-api-key-S3CRET-zzzz"
LEAK_MARKERS = (API_KEY, USER_KEY, WRONG_API_KEY, "S3CRET")

SEED_WORKFLOWS = ["Test", "User Workflow", "SampleWorkflow", "TrWorkflow"]
SEED_STAGES = [
    {"stage": "User Workflow", "display_name": "User Workflow", "process_id": "27405"},
    {"stage": "Manager Review", "display_name": "Manager Review", "process_id": "27406"},
    {"stage": "END", "display_name": "END", "process_id": "27407"},
]
WORKFLOW_FIELDS = ["Name", "Phone", "Email", "City", "GoogleSheetRowNumber"]
PROCESS_FIELDS = [
    "City",
    "Email",
    "R_Approved By2",
    "R_Approved Date2",
    "GoogleSheetRowNumber",
    "R_Approved By1",
    "R_Approved Date1",
    "R_Comments1",
    "R_Status1",
    "Name",
    "Phone",
]


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err

    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out[:300]!r}, err={self.err!r})"


def check_clean(out: str, err: str) -> None:
    for marker in LEAK_MARKERS:
        assert marker not in out
        assert marker not in err
    assert "Traceback" not in err


def assert_one_error_line(result: Result) -> None:
    assert result.out == ""
    assert result.err.startswith("cflow: error: ")
    assert result.err.endswith("\n")
    assert result.err.count("\n") == 1, result.err


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_process() -> Iterator[SandboxProcess]:
    with SandboxProcess(api_key=API_KEY, user_key=USER_KEY, username=USERNAME) as proc:
        yield proc


def admin(proc: SandboxProcess, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, proc.url + "/__sandbox__" + path, json=body, timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def cli_sandbox(sandbox_process: SandboxProcess) -> SandboxProcess:
    """The shared sandbox, back in its seed state with no faults."""
    admin(sandbox_process, "POST", "/reset")
    return sandbox_process


@pytest.fixture
def env(cli_sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    """Credentials and server in the environment, as a user would set them."""
    monkeypatch.setenv("CFLOW_API_KEY", API_KEY)
    monkeypatch.setenv("CFLOW_USER_KEY", USER_KEY)
    monkeypatch.setenv("CFLOW_USERNAME", USERNAME)
    monkeypatch.setenv("CFLOW_BASE_URL", cli_sandbox.url)
    return cli_sandbox


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    def run(*args: str) -> Result:
        code = main(list(args))
        captured = capsys.readouterr()
        check_clean(captured.out, captured.err)
        return Result(code, captured.out, captured.err)

    return run


def subprocess_env(**extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CFLOW_")}
    environ.update(extra)
    return environ


def run_module(*args: str, env: dict[str, str], timeout: float = 60) -> Result:
    done = subprocess.run(
        [sys.executable, "-m", "cflow_async", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    check_clean(done.stdout, done.stderr)
    return Result(done.returncode, done.stdout, done.stderr)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _StubHandler(BaseHTTPRequestHandler):
    """Answers what ``server.reply`` says: a broken 200, or an error that echoes the keys."""

    server: _StubServer

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        status, body = self.server.reply(self)
        payload = body.encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _StubServer(ThreadingHTTPServer):
    reply: Callable[[BaseHTTPRequestHandler], tuple[int, str]]


@pytest.fixture
def stub() -> Iterator[_StubServer]:
    server = _StubServer(("127.0.0.1", 0), _StubHandler)
    server.reply = lambda _handler: (200, "{}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def stub_url(server: _StubServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"


# --- help and usage -------------------------------------------------------------------------


def test_help_documents_exit_codes(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("--help")
    assert result.code == 0
    assert "exit codes:" in result.out
    for code, meaning in EXIT_CODES.items():
        assert f"{code:>3}  {meaning}" in result.out
    for command in ("check", "workflows", "fields", "submit", "requests", "sandbox"):
        assert command in result.out
    assert result.err == ""


@pytest.mark.parametrize(
    "args",
    [
        ["submit", "--help"],
        ["requests", "--help"],
        ["requests", "approve", "--help"],
        ["fields", "--help"],
    ],
)
def test_subcommand_help(env: SandboxProcess, cli: Callable[..., Result], args: list[str]) -> None:
    result = cli(*args)
    assert result.code == 0
    assert result.out.startswith("usage: cflow ")


def test_version(cli: Callable[..., Result]) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out.startswith("cflow ")


def test_module_help_in_subprocess() -> None:
    result = run_module("--help", env=subprocess_env(CFLOW_API_KEY=API_KEY))
    assert result.code == 0
    assert result.out.startswith("usage: cflow ")
    assert "exit codes:" in result.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "required: COMMAND"),
        (["requests"], "required: ACTION"),
        (["bogus"], "invalid choice"),
        (["workflows", "extra"], "unrecognized arguments: extra"),
        (["process"], "required: WORKFLOW"),
        (["--timeout", "0", "workflows"], "--timeout"),
        (["--retries", "-1", "workflows"], "--retries"),
        (["--format", "xml", "workflows"], "--format"),
        (["fields", "User Workflow", "--for-map"], "--for-map needs --group-id"),
        (["submit", "Test"], "exactly one of"),
        (["submit", "Test", "--values", "{}", "a=b"], "exactly one of"),
        (["submit", "Test", "novalue"], "FIELD=VALUE"),
        (["submit", "Test", "a=1", "a=2"], "given twice"),
        (["submit", "Test", "a:=[1"], "not valid JSON"),
        (["submit", "Test", "--values", "[1, 2]"], "JSON object"),
        (["submit", "Test", "--values", "{nope"], "not valid JSON"),
        (["requests", "create", "Test"], "exactly one of"),
    ],
)
def test_usage_errors_exit_2(
    env: SandboxProcess, cli: Callable[..., Result], args: list[str], message: str
) -> None:
    result = cli(*args)
    assert result.code == 2, result
    assert result.out == ""
    assert message in result.err
    # Nothing was sent.
    assert admin(env, "GET", "/stats")["requests_seen"] == 0


def test_bad_input_caught_by_the_client_exits_2(
    env: SandboxProcess, cli: Callable[..., Result]
) -> None:
    result = cli("requests", "get", "User Workflow", "..")
    assert result.code == 2, result
    assert_one_error_line(result)
    assert admin(env, "GET", "/stats")["requests_seen"] == 0


# --- legacy commands ------------------------------------------------------------------------


def test_check(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("check")
    assert result.code == 0, result
    assert result.json() == {"ok": True, "base_url": env.url, "username": USERNAME}
    assert result.err == ""


def test_workflows(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("workflows")
    assert result.code == 0, result
    data = result.json()
    assert [w["name"] for w in data] == SEED_WORKFLOWS
    assert [w["display_name"] for w in data] == SEED_WORKFLOWS


def test_process(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("process", "User Workflow")
    assert result.code == 0, result
    assert result.json() == SEED_STAGES


def test_status(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("status", "User Workflow", "27406")
    assert result.code == 0, result
    assert result.json() == [
        {"group_id": "27406", "status": status} for status in ("New", "Approved", "Rejected")
    ]


def test_fields_of_the_workflow(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("fields", "User Workflow")
    assert result.code == 0, result
    data = result.json()
    assert [f["name"] for f in data] == WORKFLOW_FIELDS
    assert data[0] == {
        "name": "Name",
        "type": "text",
        "label": "Name",
        "options": [],
        "spec": None,
        "help": "",
        "default": None,
        "required": False,
        "multiple": False,
        "multiline": False,
    }


def test_fields_of_a_stage(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("fields", "User Workflow", "--group-id", "27406")
    assert result.code == 0, result
    data = result.json()
    assert [f["name"] for f in data] == PROCESS_FIELDS
    by_name = {f["name"]: f for f in data}
    assert by_name["R_Status1"]["options"] == [
        {"label": v, "value": v} for v in ("New", "Approved", "Rejected")
    ]
    # The wire key is "default:" (with the colon); the model reads it.
    assert by_name["R_Comments1"]["default"] == ""
    assert by_name["R_Approved Date1"]["type"] == "date"


def test_fields_for_map(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("fields", "User Workflow", "--group-id", "27406", "--for-map")
    assert result.code == 0, result
    data = result.json()
    assert [f["name"] for f in data] == [*PROCESS_FIELDS, "RecordId"]
    assert data[-1]["required"] is True
    assert data[-1]["label"] == "Record ID"
    assert data[-1]["help"] == "Record ID"


def test_submit_with_pairs(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli(
        "submit",
        "SampleWorkflow",
        "City=trichy",
        "Name1=ashoka",
        "Email=ashoka@cavintek.com",
        "Build_Date=3/26/2022 6:30:00 PM",
        'Work_Status:=["Stage"]',
        'Completed_work:=["stage testing completed", "live testing completed"]',
    )
    assert result.code == 0, result
    # The legacy document's example answers Record_Id "44"; a fresh sandbox starts there.
    assert result.json() == {"record_id": "44"}
    record = admin(env, "GET", "/records")["records"][0]
    assert record["WorkflowName"] == "SampleWorkflow"
    assert record["values"] == {
        "City": "trichy",
        "Name1": "ashoka",
        "Email": "ashoka@cavintek.com",
        "Build_Date": "3/26/2022 6:30:00 PM",
        "Work_Status": ["Stage"],
        "Completed_work": ["stage testing completed", "live testing completed"],
    }


def test_pairs_after_options(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("submit", "Test", "a=1", "--retries", "0", "b:=2", "--format", "json", "c=x")
    assert result.code == 0, result
    assert admin(env, "GET", "/records")["records"][0]["values"] == {"a": "1", "b": 2, "c": "x"}


def test_submit_with_values_json(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("submit", "Test", "--values", '{"n": 3, "ok": true, "x": null}')
    assert result.code == 0, result
    assert result.json() == {"record_id": "44"}
    assert admin(env, "GET", "/records")["records"][0]["values"] == {
        "n": 3,
        "ok": True,
        "x": None,
    }


def test_submit_with_values_file(
    env: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / "values.json"
    path.write_text(json.dumps({"City": "Chennai", "Name": "Ünïcode"}), encoding="utf-8")
    result = cli("submit", "User Workflow", "--values-file", str(path))
    assert result.code == 0, result
    assert admin(env, "GET", "/records")["records"][0]["values"] == {
        "City": "Chennai",
        "Name": "Ünïcode",
    }


def test_submit_with_values_from_stdin(
    env: SandboxProcess, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"City": "Madurai"}'))
    result = cli("submit", "User Workflow", "--values-file", "-")
    assert result.code == 0, result
    assert admin(env, "GET", "/records")["records"][0]["values"] == {"City": "Madurai"}


def test_values_file_missing_exits_2(
    env: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli("submit", "Test", "--values-file", str(tmp_path / "nope.json"))
    assert result.code == 2
    assert_one_error_line(result)
    assert "cannot read values file" in result.err


def test_update(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    assert cli("submit", "SampleWorkflow", "City=trichy", "Name1=ashoka").code == 0
    result = cli("update", "SampleWorkflow", "27407", "44", "City=tiruchirappalli")
    assert result.code == 0, result
    assert result.json() == {"record_id": "44"}
    record = admin(env, "GET", "/records")["records"][0]
    assert record["values"] == {"City": "tiruchirappalli", "Name1": "ashoka"}
    assert record["group_id"] == "27407"
    assert record["updateCount"] == 1


def test_update_unknown_record_exits_5(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("update", "SampleWorkflow", "27406", "999", "City=x")
    assert result.code == 5, result
    assert_one_error_line(result)


# --- OpenAPI commands -----------------------------------------------------------------------


def test_requests_lifecycle(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    assert cli("requests", "list", "User Workflow").json() == []

    created = cli("requests", "create", "User Workflow", "City=Chennai", "Name=Asha")
    assert created.code == 0, created
    request = created.json()
    assert request["id"] == "1001"
    assert request["workflowId"] == "User Workflow"
    assert request["status"] == "pending"
    assert request["currentStage"] == "Manager Review"
    assert request["fields"] == {"City": "Chennai", "Name": "Asha"}
    assert request["submittedBy"] == USERNAME

    listed = cli("requests", "list", "User Workflow")
    assert listed.code == 0, listed
    assert [r["id"] for r in listed.json()] == ["1001"]

    got = cli("requests", "get", "User Workflow", "1001")
    assert got.code == 0, got
    assert got.json()["fields"] == {"City": "Chennai", "Name": "Asha"}

    approved = cli("requests", "approve", "User Workflow", "1001", "--comment", "looks good")
    assert approved.code == 0, approved
    body = approved.json()
    assert body["status"] == "approved"
    assert body["currentStage"] == "END"
    assert body["comments"][-1]["comment"] == "looks good"

    # Rejecting a closed request is a 400: "other API error".
    again = cli("requests", "reject", "User Workflow", "1001")
    assert again.code == 6, again
    assert_one_error_line(again)
    assert "already approved" in again.err


def test_requests_draft_reassign_and_reject(
    env: SandboxProcess, cli: Callable[..., Result]
) -> None:
    draft = cli("requests", "create", "User Workflow", "--draft", "--values", '{"City": "Ooty"}')
    assert draft.code == 0, draft
    assert draft.json()["status"] == "draft"
    assert draft.json()["currentStage"] == "User Workflow"
    request_id = draft.json()["id"]

    submitted = cli("requests", "approve", "User Workflow", request_id)
    assert submitted.json()["status"] == "pending"

    reassigned = cli(
        "requests",
        "approve",
        "User Workflow",
        request_id,
        "--reassign-to",
        "ashoka@cavintek.com",
        "--comment",
        "over to you",
    )
    assert reassigned.code == 0, reassigned
    assert reassigned.json()["assignedTo"] == "ashoka@cavintek.com"
    assert reassigned.json()["status"] == "pending"

    rejected = cli("requests", "reject", "User Workflow", request_id, "--comment", "no")
    assert rejected.code == 0, rejected
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["comments"][-1]["comment"] == "no"


def test_requests_get_unknown_exits_5(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("requests", "get", "User Workflow", "4242")
    assert result.code == 5, result
    assert_one_error_line(result)


def test_users(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("users")
    assert result.code == 0, result
    users = result.json()
    assert [u["username"] for u in users] == [
        USERNAME,
        "manager@sandbox.local",
        "ashoka@cavintek.com",
        "former.employee@sandbox.local",
    ]
    assert [u["role"] for u in users] == ["Admin", "Manager", "User", "User"]
    assert users[-1]["status"] == "inactive"


def test_roles(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("roles")
    assert result.code == 0, result
    roles = result.json()
    assert [r["name"] for r in roles] == ["Admin", "Manager", "User"]
    assert roles[0]["permissions"]["workflows"] == "full"
    assert roles[1]["permissions"]["workflows"] == "approve"


# --- table output ---------------------------------------------------------------------------


def test_table_of_a_list(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("workflows", "--format", "table")
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0].split() == ["name", "display_name", "id", "status"]
    assert set(lines[1]) <= {"-", " "}
    assert [line.split("  ")[0] for line in lines[2:]] == SEED_WORKFLOWS


def test_table_option_before_the_command(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("--format", "table", "process", "User Workflow")
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0].split() == ["stage", "display_name", "process_id"]
    assert lines[3].split() == ["Manager", "Review", "Manager", "Review", "27406"]


def test_table_of_an_object(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("check", "--format", "table")
    assert result.code == 0, result
    rows = [line.split() for line in result.out.splitlines()]
    assert rows[0] == ["field", "value"]
    assert ["username", USERNAME] in rows
    assert ["ok", "yes"] in rows


def test_table_shows_nested_values_as_json(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("fields", "User Workflow", "--group-id", "27406", "--format", "table")
    assert result.code == 0, result
    status_line = next(line for line in result.out.splitlines() if line.startswith("R_Status1"))
    assert '[{"label":"New","value":"New"}' in status_line


def test_table_of_nothing(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("requests", "list", "Test", "--format", "table")
    assert result.code == 0, result
    assert result.out == "(no results)\n"
    # Options are accepted at every level of the command.
    assert cli("requests", "--format", "table", "list", "Test").out == "(no results)\n"


def test_table_escapes_control_characters(
    env: SandboxProcess, cli: Callable[..., Result], stub: _StubServer
) -> None:
    # Server data must not drive the terminal (ESC sequences, CR, ...).
    body = {"Workflows": [{"WorkflowName": "a\u001b[31mred\rx", "WorkflowDisplayName": "d"}]}
    stub.reply = lambda _handler: (200, json.dumps(body))
    result = cli("--base-url", stub_url(stub), "workflows", "--format", "table")
    assert result.code == 0, result
    assert "\x1b" not in result.out
    assert "\r" not in result.out
    assert "a\\x1b[31mred\\rx" in result.out
    # JSON output escapes them all, C1 controls (CSI is U+009B) included.
    body = {"Workflows": [{"WorkflowName": "a\u009b31m\u001b[0m", "WorkflowDisplayName": "d"}]}
    stub.reply = lambda _handler: (200, json.dumps(body))
    as_json = cli("--base-url", stub_url(stub), "workflows")
    assert "\x9b" not in as_json.out
    assert "\x1b" not in as_json.out
    assert as_json.json()[0]["name"] == "a\u009b31m\u001b[0m"
    # Nested values are JSON, which escapes them too.
    assert cli("requests", "create", "Test", "--values", '{"x": "\\u001b[2J"}').code == 0
    nested = cli("requests", "list", "Test", "--format", "table")
    assert "\x1b" not in nested.out
    assert "\\u001b[2J" in nested.out


# --- configuration and credentials ----------------------------------------------------------


def test_missing_credentials_exit_3(
    cli_sandbox: SandboxProcess, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CFLOW_BASE_URL", cli_sandbox.url)
    monkeypatch.setenv("CFLOW_API_KEY", API_KEY)
    result = cli("workflows")
    assert result.code == 3, result
    assert_one_error_line(result)
    assert "CFLOW_USER_KEY" in result.err
    assert "CFLOW_USERNAME" in result.err
    assert "CFLOW_API_KEY" not in result.err
    assert admin(cli_sandbox, "GET", "/stats")["requests_seen"] == 0


def test_missing_credentials_in_subprocess_exit_3(cli_sandbox: SandboxProcess) -> None:
    result = run_module("workflows", env=subprocess_env(CFLOW_BASE_URL=cli_sandbox.url))
    assert result.code == 3, result
    assert_one_error_line(result)
    assert "missing Cflow credentials" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "mars"], "unknown Cflow region 'mars'"),
        (["--base-url", "ftp://example.com"], "http(s) URL"),
        # Keys must not cross the network in cleartext.
        (["--base-url", "http://cflow.example.com"], "refusing plain http://"),
    ],
)
def test_bad_server_settings_exit_3(
    env: SandboxProcess, cli: Callable[..., Result], args: list[str], message: str
) -> None:
    result = cli(*args, "workflows")
    assert result.code == 3, result
    assert_one_error_line(result)
    assert message in result.err


def test_header_unsafe_credentials_exit_3(
    env: SandboxProcess, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CFLOW_USERNAME", "a\r\nX-Injected: 1")
    result = cli("workflows")
    assert result.code == 3, result
    assert_one_error_line(result)


def test_wrong_credentials_exit_4(
    env: SandboxProcess, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CFLOW_API_KEY", WRONG_API_KEY)
    result = cli("workflows")
    assert result.code == 4, result
    assert_one_error_line(result)
    assert "401" in result.err


def test_wrong_credentials_on_check_exit_4(
    env: SandboxProcess, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CFLOW_USERNAME", "someone.else@example.com")
    result = cli("check")
    assert result.code == 4, result
    assert_one_error_line(result)


def test_permission_denied_exit_4(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    admin(env, "POST", "/faults/script", {"status": 403})
    result = cli("users")
    assert result.code == 4, result
    assert_one_error_line(result)


def test_credentials_file_json(
    cli_sandbox: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / "creds.json"
    path.write_text(
        json.dumps(
            {
                "api_key": API_KEY,
                "user_key": USER_KEY,
                "username": USERNAME,
                "base_url": cli_sandbox.url,
            }
        )
    )
    result = cli("--credentials-file", str(path), "check")
    assert result.code == 0, result
    assert result.json()["username"] == USERNAME
    assert result.json()["base_url"] == cli_sandbox.url


def test_credentials_file_dotenv(
    cli_sandbox: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# Cflow credentials\n"
        f"export CFLOW_API_KEY='{API_KEY}'\n"
        "\n"
        f'CFLOW_USER_KEY="{USER_KEY}"\n'
        f"CFLOW_USERNAME={USERNAME}  # the account\n"
    )
    result = cli("workflows", "--credentials-file", str(path), "--base-url", cli_sandbox.url)
    assert result.code == 0, result
    assert [w["name"] for w in result.json()] == SEED_WORKFLOWS


def test_credentials_file_beats_environment(
    env: SandboxProcess,
    cli: Callable[..., Result],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CFLOW_API_KEY", WRONG_API_KEY)
    path = tmp_path / "creds.json"
    # username is missing from the file: it comes from the environment.
    path.write_text(json.dumps({"api_key": API_KEY, "user_key": USER_KEY}))
    result = cli("--credentials-file", str(path), "check")
    assert result.code == 0, result
    assert result.json()["username"] == USERNAME


def test_empty_value_in_credentials_file_falls_back_to_environment(
    env: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / ".env"
    path.write_text("CFLOW_API_KEY=\nCFLOW_USERNAME=''\n")
    result = cli("--credentials-file", str(path), "check")
    assert result.code == 0, result


def test_wrong_key_in_credentials_file_exit_4(
    env: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"api_key": WRONG_API_KEY}))
    result = cli("--credentials-file", str(path), "workflows")
    assert result.code == 4, result
    assert_one_error_line(result)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # Broken files hold secrets: errors name the file and line, never the content.
        ('{"api_key": "' + API_KEY + '", oops}', "not valid JSON"),
        ('["' + API_KEY + '"]', "must hold a JSON object"),
        ("CFLOW_API_KEY " + API_KEY + "\n", "line 1: expected KEY=VALUE"),
        ('{"api_key": ["' + API_KEY + '"]}', "must be a string"),
    ],
)
def test_bad_credentials_file_exit_3(
    env: SandboxProcess,
    cli: Callable[..., Result],
    tmp_path: Path,
    content: str,
    message: str,
) -> None:
    path = tmp_path / "creds"
    path.write_text(content)
    result = cli("--credentials-file", str(path), "workflows")
    assert result.code == 3, result
    assert_one_error_line(result)
    assert message in result.err
    assert admin(env, "GET", "/stats")["requests_seen"] == 0


def test_missing_credentials_file_exit_3(
    env: SandboxProcess, cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli("--credentials-file", str(tmp_path / "absent.json"), "workflows")
    assert result.code == 3, result
    assert_one_error_line(result)
    assert "cannot read credentials file" in result.err


# --- API failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["process", "Nope"],
        ["status", "Nope", "27406"],
        ["status", "User Workflow", "99999"],
        ["fields", "Nope"],
        ["fields", "Nope", "--group-id", "27406"],
        ["fields", "Nope", "--group-id", "27406", "--for-map"],
        ["submit", "Nope", "a=b"],
        ["requests", "list", "Nope"],
        ["requests", "create", "Nope", "a=b"],
    ],
)
def test_unknown_workflow_exit_5(
    env: SandboxProcess, cli: Callable[..., Result], args: list[str]
) -> None:
    result = cli(*args)
    assert result.code == 5, result
    assert_one_error_line(result)
    assert "404" in result.err


def test_rejected_values_exit_6(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("submit", "SampleWorkflow", "Bogus=1")
    assert result.code == 6, result
    assert_one_error_line(result)
    assert "Bogus" in result.err
    assert admin(env, "GET", "/records")["count"] == 0


def test_rate_limited_exit_6(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    admin(env, "POST", "/faults/script", {"status": 429, "retry_after": "120"})
    result = cli("workflows")
    assert result.code == 6, result
    assert_one_error_line(result)
    assert "429" in result.err


def test_server_error_exit_7(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    admin(env, "POST", "/faults/script", {"status": 503})
    result = cli("--retries", "0", "workflows")
    assert result.code == 7, result
    assert_one_error_line(result)
    assert "503" in result.err


def test_read_is_retried_by_default(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    admin(env, "POST", "/faults/script", {"status": 503})
    result = cli("workflows")
    assert result.code == 0, result
    assert admin(env, "GET", "/stats")["requests_seen"] == 2


def test_connection_refused_exit_7(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    result = cli("--base-url", f"http://127.0.0.1:{free_port()}", "--retries", "0", "workflows")
    assert result.code == 7, result
    assert_one_error_line(result)


def test_timeout_exit_7(env: SandboxProcess, cli: Callable[..., Result]) -> None:
    admin(env, "POST", "/faults/script", {"status": None, "latency": 3})
    result = cli("--timeout", "0.5", "--retries", "0", "workflows")
    assert result.code == 7, result
    assert_one_error_line(result)
    assert "timeout" in result.err.lower()


@pytest.mark.parametrize(
    ("fault", "args"),
    [
        ({"status": 503, "method": "POST"}, ["submit", "Test", "a=b"]),
        ({"status": 502, "method": "POST", "act": True}, ["requests", "create", "Test", "a=b"]),
        ({"drop": True, "method": "POST"}, ["update", "Test", "27406", "44", "a=c"]),
        ({"status": 500, "method": "POST"}, ["requests", "approve", "Test", "1001"]),
    ],
)
def test_write_with_unknown_outcome_exit_8(
    env: SandboxProcess, cli: Callable[..., Result], fault: dict[str, Any], args: list[str]
) -> None:
    # A record and a request to update or approve.
    assert cli("submit", "Test", "a=b").code == 0
    assert cli("requests", "create", "Test", "a=b").code == 0
    admin(env, "POST", "/faults/script", fault)
    result = cli(*args)
    assert result.code == 8, result
    assert_one_error_line(result)
    assert "outcome unknown" in result.err
    assert "Check before sending it again" in result.err


def test_unreadable_answer_exit_9(
    env: SandboxProcess, cli: Callable[..., Result], stub: _StubServer
) -> None:
    stub.reply = lambda _handler: (200, "<html>maintenance</html>")
    result = cli("--base-url", stub_url(stub), "workflows")
    assert result.code == 9, result
    assert_one_error_line(result)
    assert "maintenance" in result.err


def test_unreadable_answer_to_a_write_exit_8(
    env: SandboxProcess, cli: Callable[..., Result], stub: _StubServer
) -> None:
    stub.reply = lambda _handler: (200, '{"unexpected": true}')
    result = cli("--base-url", stub_url(stub), "submit", "Test", "a=b")
    assert result.code == 8, result
    assert_one_error_line(result)
    assert "check before sending it again" in result.err.lower()


def test_keys_echoed_by_a_server_are_redacted(
    env: SandboxProcess, cli: Callable[..., Result], stub: _StubServer
) -> None:
    def echo(handler: BaseHTTPRequestHandler) -> tuple[int, str]:
        return 400, json.dumps({"message": f"bad key {handler.headers['apikey']}"})

    stub.reply = echo
    result = cli("--base-url", stub_url(stub), "workflows")  # cli() checks for leaks
    assert result.code == 6, result
    assert "bad key [redacted]" in result.err


# --- subprocess runs, the sandbox command, Ctrl-C -------------------------------------------


def test_module_against_the_sandbox(cli_sandbox: SandboxProcess) -> None:
    environ = subprocess_env(
        CFLOW_API_KEY=API_KEY,
        CFLOW_USER_KEY=USER_KEY,
        CFLOW_USERNAME=USERNAME,
        CFLOW_BASE_URL=cli_sandbox.url,
    )
    result = run_module("workflows", env=environ)
    assert result.code == 0, result
    assert [w["name"] for w in result.json()] == SEED_WORKFLOWS

    result = run_module("process", "Nope", env=environ)
    assert result.code == 5, result
    assert_one_error_line(result)

    result = run_module("workflows", env={**environ, "CFLOW_USER_KEY": "wrong-user-key"})
    assert result.code == 4, result
    assert_one_error_line(result)


def test_sandbox_command_delegates(cli: Callable[..., Result]) -> None:
    result = cli("sandbox", "--help")
    assert result.code == 0
    assert "--port" in result.out
    assert "--fault-rate" in result.out


def test_sandbox_command_refuses_non_loopback(cli: Callable[..., Result]) -> None:
    result = cli("sandbox", "--host", "192.0.2.1", "--port", "0")
    assert result.code == 2
    assert "loopback" in result.err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(
    ("args", "write"), [(["workflows"], False), (["submit", "Test", "a=b"], True)]
)
def test_ctrl_c_exits_130(cli_sandbox: SandboxProcess, args: list[str], write: bool) -> None:
    admin(cli_sandbox, "POST", "/faults/script", {"status": None, "latency": 30})
    environ = subprocess_env(
        CFLOW_API_KEY=API_KEY,
        CFLOW_USER_KEY=USER_KEY,
        CFLOW_USERNAME=USERNAME,
        CFLOW_BASE_URL=cli_sandbox.url,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "cflow_async", *args],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A test runner started in the background may ignore SIGINT; the child must not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 30
        while admin(cli_sandbox, "GET", "/stats")["requests_seen"] == 0:
            assert time.monotonic() < deadline, "the CLI never reached the sandbox"
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    check_clean(out, err)
    assert process.returncode == 130, (out, err)
    assert out == ""
    assert err.startswith("cflow: error: interrupted")
    assert err.count("\n") == 1
    assert ("outcome is unknown" in err) is write
