"""The sandbox against openapi/cflow.yaml: documented statuses, response schemas, no 500s.

Each generated case is sent twice: once as generated (random workflow/request ids, so mostly
404s, plus schemathesis' negative bodies and credentials) and once re-aimed at a seeded
workflow and a live request, so the 2xx answers and the body validation are checked too.

Operations of the spec the sandbox has no handler for (it answers them 501) are reported as
skipped, so a spec that gains an operation does not break the suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)

from cflow_async.sandbox import DEMO_API_KEY, DEMO_USER_KEY, DEMO_USERNAME, create_app

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "cflow.yaml"
AUTH = {"apikey": DEMO_API_KEY, "userkey": DEMO_USER_KEY, "username": DEMO_USERNAME}
# Not positive_data_acceptance: schema-valid bodies can still be refused on purpose (400 for
# an unknown reassignTo user, for acting on a closed request), as the sandbox's contract says.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
    missing_required_header,
    unsupported_method,
    use_after_free,
    ensure_resource_availability,
]
# A free-form workflow, so generated `fields` objects are accepted rather than all rejected.
TARGET_WORKFLOW = "TrWorkflow"

APP = create_app()
schema = schemathesis.openapi.from_path(SPEC)
schema.app = APP
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=20,
    deterministic=True,
)


def unimplemented(schema: Any, app: Any) -> dict[str, str]:
    """The operations of ``schema`` that ``app`` has no handler for: label -> operationId."""
    missing = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if not app.implements(operation.method, operation.path):
            missing[operation.label] = operation.definition.raw.get("operationId", "?")
    return missing


UNIMPLEMENTED = unimplemented(schema, APP)


def _retarget(case: Any) -> bool:
    params = case.path_parameters
    if not params or "workflowId" not in params:
        return False
    params["workflowId"] = TARGET_WORKFLOW
    if "requestId" in params:
        state = APP.sandbox
        workflow = state.workflow(TARGET_WORKFLOW)
        created = state.create_request(
            workflow, {"note": "schemathesis"}, DEMO_USERNAME, draft=False
        )
        params["requestId"] = created.id
    return True


@schema.parametrize()
@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_sandbox_conforms_to_openapi(case: Any) -> None:
    label = case.operation.label
    if label in UNIMPLEMENTED:
        pytest.skip(f"{UNIMPLEMENTED[label]} ({label}): not implemented by the sandbox (501)")
    case.call_and_validate(headers=AUTH, checks=CHECKS)
    if _retarget(case):
        case.call_and_validate(headers=AUTH, checks=CHECKS)
