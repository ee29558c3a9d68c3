"""The pytest plugin (cflow_async.testing), run the way a user's project runs it: pytester."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import pytest
import pytester_imports  # noqa: F401  (before any pytester inline run, see there)

from cflow_async.sandbox import ScriptedFault, run_sandbox

pytest_plugins = ["pytester"]

HEAVY = ("starlette", "uvicorn", "aiohttp")

ASYNC_TESTS = """
import httpx
import pytest
from cflow_async import ServerError

{mark}
async def test_submit_and_see_the_record(cflow_client, cflow_sandbox):
    record_id = await cflow_client.submit_record("Test", {{"Name": "first"}})
    assert [r["Record_Id"] for r in cflow_sandbox.records()] == [record_id]
    cflow_sandbox.set_faults(rate=1.0, statuses=[500])

{mark}
async def test_the_next_test_sees_no_records_and_no_faults(cflow_client, cflow_sandbox):
    assert cflow_sandbox.records() == []
    assert [w.name for w in await cflow_client.get_workflows()][0] == "Test"

{mark}
async def test_a_scripted_503_on_submit_is_applied_anyway(cflow_client, cflow_sandbox):
    cflow_sandbox.fail_next("POST", "submitrecord", status=503, act=True)
    with pytest.raises(ServerError) as caught:
        await cflow_client.submit_record("Test", {{"Name": "maybe"}})
    assert caught.value.outcome_unknown
    assert [r["values"] for r in cflow_sandbox.records()] == [{{"Name": "maybe"}}]
"""


def _run(
    pytester: pytest.Pytester, mode: str, source: str, *args: str, ini: str = ""
) -> pytest.RunResult:
    """Run ``source`` as a project's test file, asyncio_mode ``mode`` (and ``ini``) in its ini."""
    pytester.makeini(
        f"""
        [pytest]
        asyncio_mode = {mode}
        asyncio_default_fixture_loop_scope = function
        {ini}
        """
    )
    pytester.makepyfile(source)
    return pytester.runpytest(*args)


def test_the_entry_point_names_the_plugin_module() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("cflow_async") == "cflow_async.testing"


@pytest.mark.parametrize(("mode", "mark"), [("auto", ""), ("strict", "@pytest.mark.asyncio")])
def test_fixtures_in_auto_and_strict_mode(pytester: pytest.Pytester, mode: str, mark: str) -> None:
    _run(pytester, mode, ASYNC_TESTS.format(mark=mark), "-p", "no:randomly").assert_outcomes(
        passed=3
    )


def test_strict_mode_without_the_asyncio_mark_does_not_run_async_tests(
    pytester: pytest.Pytester,
) -> None:
    # The control for the test above: strict mode really is strict in this setup.
    assert _run(pytester, "strict", ASYNC_TESTS.format(mark="")).ret != 0


def test_the_cflow_faults_marker_applies_to_its_test_only(pytester: pytest.Pytester) -> None:
    source = """
        import httpx
        import pytest

        def get(sandbox):
            url = sandbox.url + "/integromat/api/connection/GetConnection"
            return httpx.get(url, headers=sandbox.headers)

        @pytest.mark.cflow_faults(rate=1.0, statuses=[429], seed=1)
        def test_marked(cflow_sandbox):
            response = get(cflow_sandbox)
            assert response.status_code == 429
            assert response.headers["x-cflow-sandbox-fault"] == "injected"

        def test_unmarked(cflow_sandbox):
            assert get(cflow_sandbox).status_code == 200
    """
    result = _run(pytester, "auto", source, "-p", "no:randomly", "--strict-markers")
    result.assert_outcomes(passed=2)


def test_a_bad_tenant_file_is_one_clear_error(pytester: pytest.Pytester) -> None:
    (pytester.path / "tenant.yaml").write_text("workflows:\n  - name: Leave\n")
    source = "def test_it(cflow_sandbox):\n    pass\n"
    result = _run(pytester, "auto", source, ini="cflow_sandbox_data = tenant.yaml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*tenant.yaml: workflows[[]0[]] ('Leave'): *stages*"])
    assert "Traceback" not in result.stdout.str()


def test_the_lenient_ini_option_accepts_any_values(pytester: pytest.Pytester) -> None:
    source = """
        async def test_lenient(cflow_client):
            await cflow_client.submit_record("SampleWorkflow", {"Nope": [1, 2]})
    """
    result = _run(pytester, "auto", source, ini="cflow_sandbox_lenient_fields = true")
    result.assert_outcomes(passed=1)


PROBE = """
import json, sys
import pytest
code = pytest.main(sys.argv[1].split())
loaded = {name: name in sys.modules for name in sys.argv[2:]}
print(json.dumps({"code": int(code), "loaded": loaded}))
"""


# A plain --version answers before plugins load; -VV (and any run, here an empty collection)
# loads every entry-point plugin, ours included, which the probe checks.
@pytest.mark.parametrize(("args", "code"), [("--version --version", 0), ("--collect-only -q", 5)])
def test_loading_the_plugin_imports_nothing_heavy(tmp_path: Path, args: str, code: int) -> None:
    names = [*HEAVY, "cflow_async.testing", "cflow_async.sandbox"]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, args, *names],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["code"] == code
    # The plugin was loaded (through its entry point), but nothing heavy came with it.
    assert report["loaded"] == {
        "starlette": False,
        "uvicorn": False,
        "aiohttp": False,
        "cflow_async.testing": True,
        "cflow_async.sandbox": False,
    }


async def test_a_write_delayed_across_a_reset_does_not_land_in_the_fresh_state() -> None:
    # The session sandbox outlives each test's client; a submit still sleeping in a latency
    # fault when the next test resets must not store its record in that test's state.
    async with run_sandbox() as sb, httpx.AsyncClient(base_url=sb.url) as http:
        sb.state.append_script([ScriptedFault(status=None, latency=0.5, method="POST")])
        body = {"main": {"WorkflowName": "Test"}, "dynamicobj": {"late": "yes"}}
        submit = asyncio.create_task(
            http.post("/integromat/api/cflow/submitrecord", json=body, headers=sb.headers)
        )
        while sb.state.stats.requests_delayed == 0:
            await asyncio.sleep(0.01)
        sb.reset()
        response = await submit
        assert response.status_code == 503
        assert response.headers["x-cflow-sandbox-fault"] == "reset"
        assert sb.state.records_json()["count"] == 0
