"""A walk-through of cflow-async against a Cflow server (the sandbox under `make demo`).

Reads CFLOW_BASE_URL (or CFLOW_REGION) and the CFLOW_API_KEY / CFLOW_USER_KEY /
CFLOW_USERNAME credentials from the environment, like the client itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys

import httpx

from cflow_async import CflowClient, CflowError, RetryPolicy

WORKFLOW = "SampleWorkflow"


def step(title: str) -> None:
    print(f"\n== {title}")


async def inject_one_fault(cflow: CflowClient) -> bool:
    """Ask the sandbox (if that is what we talk to) to fail the next getworkflows once."""
    fault = {"script": [{"status": 503, "retry_after": "0.2", "path_contains": "getworkflows"}]}
    try:
        async with httpx.AsyncClient(base_url=cflow.base_url, timeout=5) as admin:
            response = await admin.patch("/__sandbox__/faults", json=fault)
            return response.status_code == 200
    except httpx.HTTPError:
        return False


async def main() -> int:
    # Show the client's retry log lines (INFO on "cflow_async") in the transcript.
    logging.basicConfig(level=logging.WARNING, format="   log: %(message)s", stream=sys.stdout)
    logging.getLogger("cflow_async").setLevel(logging.INFO)

    async with CflowClient(retry=RetryPolicy(initial_backoff=0.2)) as cflow:
        print(f"Cflow at {cflow.base_url} (backend: {cflow.http_backend})")

        step("1. Check the connection")
        await cflow.check_connection()
        print("   credentials accepted")

        step("2. Workflows, stages and fields")
        workflows = await cflow.get_workflows()
        print("   workflows:", ", ".join(w.display_name for w in workflows))
        stages = await cflow.get_process(WORKFLOW)
        for s in stages:
            print(f"   stage {s.process_id}: {s.display_name}")
        fields = await cflow.get_workflow_fieldsets(WORKFLOW)
        for f in fields:
            flags = " (multiple)" if f.multiple else ""
            default = "" if f.default is None else f" default={f.default!r}"
            print(f"   field {f.name!r}: {f.type}{flags}{default}")

        step("3. Submit a record with a date and a multi-select, then update it")
        record_id = await cflow.submit_record(
            WORKFLOW,
            {
                "City": "trichy",
                "Name1": "ashoka",
                "Email": "ashoka@cavintek.com",
                "Build_Date": dt.datetime(2022, 3, 26, 18, 30),
                "Work_Status": ["Stage"],
                "Completed_work": ["stage testing completed", "live testing completed"],
            },
        )
        print(f"   submitted record {record_id} (Build_Date sent as '3/26/2022 6:30:00 PM')")
        first_stage = stages[0].process_id
        updated = await cflow.update_record(
            WORKFLOW, first_stage, record_id, {"City": "tiruchirappalli"}
        )
        print(f"   updated record {updated}: City -> tiruchirappalli")

        step("4. Statuses at the review stage")
        review = stages[1].process_id if len(stages) > 1 else first_stage
        statuses = await cflow.get_status(WORKFLOW, review)
        print(f"   stage {review}:", ", ".join(s.status for s in statuses))

        step("5. A request through the OpenAPI operations")
        request = await cflow.requests.create(WORKFLOW, {"City": "Chennai", "Name": "Priya"})
        print(f"   created request {request.id}: {request.status} at {request.current_stage!r}")
        approved = await cflow.requests.approve(
            WORKFLOW, str(request.id), comment="Looks good to me"
        )
        print(f"   approved at that stage: now {approved.status} at {approved.current_stage!r}")
        listed = await cflow.requests.list(WORKFLOW)
        print(f"   {len(listed)} request(s) in {WORKFLOW}:")
        for r in listed:
            print(f"     {r.id}: {r.status}")

        step("6. Users and roles")
        for u in await cflow.users.list():
            print(f"   user {u.username} ({u.role})")
        for r in await cflow.roles.list():
            print(f"   role {r.name}")

        step("7. A fault, retried")
        if await inject_one_fault(cflow):
            print("   the sandbox will answer the next getworkflows with 503 + Retry-After: 0.2")
            workflows = await cflow.get_workflows()
            print(f"   ...and the call still returned {len(workflows)} workflows")
        else:
            print("   (not a sandbox: skipped)")
    print("\ndone")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except CflowError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        sys.exit(1)
