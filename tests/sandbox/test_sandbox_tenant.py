"""The user's own tenant: workflows, stages, field definitions, users and roles from a file."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from cflow_async import BadRequestError, CflowClient
from cflow_async.sandbox import (
    RunningSandbox,
    SandboxProcess,
    TenantDataError,
    load_tenant,
    main,
    run_sandbox,
)

TENANT = Path(__file__).resolve().parents[1] / "fixtures" / "tenant.yaml"
API = "/integromat/api/cflow"


def _client(sb: RunningSandbox) -> CflowClient:
    credentials = {"api_key": sb.api_key, "user_key": sb.user_key, "username": sb.username}
    return CflowClient(**credentials, base_url=sb.url)


async def test_run_sandbox_serves_the_tenant() -> None:
    async with run_sandbox(data=TENANT) as sb, _client(sb) as cflow:
        assert [(w.name, w.display_name) for w in await cflow.get_workflows()] == [
            ("Leave", "Leave request"),
            ("Scratch", "Scratch"),
        ]
        stages = await cflow.get_process("Leave")
        assert [(s.stage, s.process_id) for s in stages] == [
            ("Employee", "500"),
            ("Team Lead Review", "501"),
            ("HR Review", "502"),
            ("END", "503"),
        ]
        fields = await cflow.get_workflow_fieldsets("Leave")
        assert [f.name for f in fields] == ["Employee", "Start", "Kind", "Notes"]
        assert [(u.username, u.role) for u in await cflow.users.list()] == [
            ("lead@example.com", "Manager"),
            ("hr@example.com", "Manager"),
        ]
        assert [r.name for r in await cflow.roles.list()] == ["Manager"]

        values = {"Employee": "Asha", "Start": "2026-12-01", "Kind": "vacation"}
        record_id = await cflow.submit_record("Leave", values)
        with pytest.raises(BadRequestError):
            await cflow.submit_record("Leave", {"Employee": "Asha"})
        await cflow.submit_record("Scratch", {"anything": [1, 2]})

        # Approval walks every review stage of the tenant's workflow before it is done.
        request = await cflow.requests.get("Leave", record_id)
        assert (str(request.status), request.current_stage) == ("pending", "Team Lead Review")
        assert request["assignedTo"] == "lead@example.com"
        middle = await cflow.requests.approve("Leave", record_id)
        assert (str(middle.status), middle.current_stage) == ("pending", "HR Review")
        assert middle["assignedTo"] == "hr@example.com"
        done = await cflow.requests.approve("Leave", record_id)
        assert (str(done.status), done.current_stage) == ("approved", "END")


async def test_the_raw_wire_format_is_answered_back_exactly() -> None:
    document = yaml.safe_load(TENANT.read_text(encoding="utf-8"))
    async with run_sandbox(data=TENANT) as sb, httpx.AsyncClient(headers=sb.headers) as http:
        url = f"{sb.url}{API}/getworkflowfieldsets"
        response = await http.get(url, params={"WorkflowName": "Leave"})
    first = response.json()[0]
    assert first == document["workflows"][0]["fields"][0]
    assert list(first) == [
        "name", "type", "label", "options", "spec", "help", "default:", "required",
        "multiple", "multiline",
    ]  # fmt: skip
    # Keys not given take Cflow's defaults, in the wire order.
    assert response.json()[3]["default:"] is None
    assert response.json()[3]["multiline"] is True


def test_json_tenant_and_sandbox_process(tmp_path: Path) -> None:
    document = yaml.safe_load(TENANT.read_text(encoding="utf-8"))
    path = tmp_path / "tenant.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with SandboxProcess(data=path) as proc:
        url = f"{proc.url}{API}/getworkflows"
        response = httpx.get(url, params={"username": "x"}, headers=proc.headers)
    assert [w["WorkflowName"] for w in response.json()["Workflows"]] == ["Leave", "Scratch"]


# One workflow A with a valid stage, its mapping left open for more keys.
A = "workflows:\n  - {name: A, stages: [{name: S, id: '1'}]"
BAD = [
    ("workflows: []\n", "workflows: must be a non-empty list"),
    ("{}\n", "top level: a 'workflows' list is required"),
    ("workflows:\n  - name: A\n", "workflows[0] ('A'): a 'stages' list is required"),
    ("workflows:\n  - {name: A, stages: [{name: S}]}\n", "workflows[0] ('A').stages[0].id:"),
    (
        A + ", fields: [{name: F, type: text, default: x}]}\n",
        "workflows[0] ('A').fields[0] ('F'): unknown key(s) default (the wire format spells "
        "it 'default:')",
    ),
    (
        A + ", fields: [{name: F, type: select}]}",
        "workflows[0] ('A').fields[0] ('F').options: a select field needs",
    ),
    (A + "}\n" + A.removeprefix("workflows:\n") + "}\n", "workflows[1]: duplicate name 'A'"),
    (A + "}\nusers: [{id: '1'}]\n", "users[0].username: must be a non-empty string"),
    ("workflows: [\n", "not valid YAML"),
]


@pytest.mark.parametrize(("text", "problem"), BAD)
def test_a_bad_file_is_refused_naming_file_entry_and_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "tenant.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TenantDataError) as caught:
        load_tenant(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("workflows:\n  - name: Leave\n", "workflows[0] ('Leave'): a 'stages' list is required\n"),
        (None, "cannot read the tenant data file"),  # no file at all
    ],
)
def test_the_cli_refuses_a_bad_or_missing_file_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None, problem: str
) -> None:
    path = tmp_path / "tenant.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    assert main(["--data", str(path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: {problem}")
    assert err.count("\n") == 1  # one line, no traceback
