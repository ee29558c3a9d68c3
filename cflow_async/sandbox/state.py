"""The sandbox's in-memory state: workflows, legacy records, OpenAPI requests and counters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import attrs

from cflow_async.sandbox import data
from cflow_async.sandbox.faults import FaultConfig, FaultInjector, ScriptedFault
from cflow_async.sandbox.model import LegacyRecord, Stage, Workflow, WorkflowRequest, now
from cflow_async.sandbox.tenant import TenantData
from cflow_async.sandbox.validation import ApiError, bad_request, validate_fields

__all__ = [
    "LegacyRecord",
    "SandboxConfig",
    "SandboxState",
    "SandboxStats",
    "Stage",
    "Workflow",
    "WorkflowRequest",
]


@attrs.frozen
class SandboxConfig:
    """Start-up configuration of one sandbox app. The keys are hidden from ``repr``."""

    api_key: str = attrs.field(default=data.DEMO_API_KEY, repr=False)
    user_key: str = attrs.field(default=data.DEMO_USER_KEY, repr=False)
    username: str = data.DEMO_USERNAME
    faults: FaultConfig = attrs.field(factory=FaultConfig)
    first_record_id: int = data.FIRST_RECORD_ID
    first_request_id: int = data.FIRST_REQUEST_ID
    #: The tenant's workflows, users and roles (``tenant.load_tenant``); ``None``: the seed's.
    data: TenantData | None = None
    #: Refuse field values that do not fit the workflow's field definitions (400). Off for
    #: users who find the real server more lenient than the sandbox.
    validate_fields: bool = True


@attrs.define
class SandboxStats:
    requests_seen: int = 0
    faults_by_kind: Counter[str] = attrs.field(factory=Counter)
    faults_by_status: Counter[int] = attrs.field(factory=Counter)
    faults_acted: int = 0
    requests_delayed: int = 0
    unauthorized: int = 0
    submits_applied: int = 0
    updates_applied: int = 0
    requests_created: int = 0
    requests_updated: int = 0
    requests_deleted: int = 0
    request_actions: int = 0


_CLOSED = frozenset({"approved", "rejected", "completed"})


class SandboxState:
    """Everything one sandbox app stores; reachable as ``app.state.sandbox``."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config if config is not None else SandboxConfig()
        self.workflows: dict[str, Workflow] = {}
        self.users: list[dict[str, str]] = []
        self.roles: list[dict[str, Any]] = []
        self.records: dict[str, LegacyRecord] = {}
        self.requests: dict[str, WorkflowRequest] = {}
        self.stats = SandboxStats()
        self.faults = FaultInjector(self.config.faults)
        self._next_record_id = self.config.first_record_id
        self._next_request_id = self.config.first_request_id
        #: Counts resets, so a request delayed across one can tell (see gate.CflowGate).
        self.epoch = 0
        self.reset()

    # --- lifecycle -------------------------------------------------------------------------

    def reset(self, *, keep_faults: bool = False) -> None:
        """Back to the start-up state (optionally keeping the current fault configuration)."""
        self.epoch += 1
        tenant = self.config.data
        if tenant is None:
            self.workflows = {name: Workflow.seeded(name) for name in data.WORKFLOW_NAMES}
        else:
            self.workflows = tenant.build_workflows()
        users = tenant.users if tenant is not None else None
        roles = tenant.roles if tenant is not None else None
        self.users = (
            [dict(u) for u in users] if users is not None else data.seed_users(self.config.username)
        )
        self.roles = [dict(r) for r in roles] if roles is not None else data.seed_roles()
        self.records = {}
        self.requests = {}
        self.stats = SandboxStats()
        self._next_record_id = self.config.first_record_id
        self._next_request_id = self.config.first_request_id
        if not keep_faults:
            self.faults = FaultInjector(self.config.faults)

    def set_faults(self, faults: FaultConfig | Mapping[str, Any]) -> FaultConfig:
        """Replace the fault configuration (a ``FaultConfig`` or its JSON form)."""
        config = faults if isinstance(faults, FaultConfig) else FaultConfig.from_json(faults)
        self.faults.replace(config)
        return self.faults.current()

    def patch_faults(self, changes: Mapping[str, Any]) -> FaultConfig:
        """Change only the given keys; the generator is re-seeded only when ``seed`` is given."""
        # The base carries the unconsumed script, so a patch without "script" keeps it.
        config = FaultConfig.from_json(changes, base=self.faults.current())
        self.faults.replace(config, reseed="seed" in changes)
        return self.faults.current()

    def append_script(self, items: list[ScriptedFault]) -> FaultConfig:
        self.faults.append_script(items)
        return self.faults.current()

    # --- lookups ---------------------------------------------------------------------------

    def workflow(self, name: str | None) -> Workflow:
        if not name:
            bad_request("WorkflowName is required")
        workflow = self.workflows.get(name)
        if workflow is None:
            raise ApiError(404, f"Workflow '{name}' not found")
        return workflow

    def check_stage(self, workflow: Workflow, group_id: str | None) -> Stage:
        if not group_id:
            bad_request("group_id is required")
        stage = workflow.stage_with_id(group_id)
        if stage is None:
            raise ApiError(404, f"Process stage (group_id) '{group_id}' not found")
        return stage

    def user(self, username: str) -> dict[str, str] | None:
        return next((user for user in self.users if user.get("username") == username), None)

    def _validate(self, workflow: Workflow, values: Mapping[str, Any], *, partial: bool) -> None:
        if self.config.validate_fields:
            required = () if partial else workflow.required_on_submit
            validate_fields(workflow.name, workflow.definitions, values, required=required)

    def _allocate(self, counter: str) -> str:
        # Records and requests are one kind of object with two id counters; an id one counter
        # reaches that the other already handed out is skipped.
        while True:
            value = getattr(self, counter)
            setattr(self, counter, value + 1)
            if str(value) not in self.requests:
                return str(value)

    # --- legacy records --------------------------------------------------------------------

    def submit_record(
        self, workflow: Workflow, values: dict[str, Any], submitted_by: str
    ) -> LegacyRecord:
        self._validate(workflow, values, partial=False)
        # A submitted record is a request of its workflow, waiting at the first review stage.
        request = self._new_request(
            workflow, self._allocate("_next_record_id"), values, submitted_by, draft=False
        )
        record = LegacyRecord(request=request, group_id=workflow.submit_stage.id)
        self.records[record.record_id] = record
        self.stats.submits_applied += 1
        return record

    def update_record(
        self, workflow: Workflow, record_id: str, group_id: str | None, values: dict[str, Any]
    ) -> WorkflowRequest:
        """``updaterecord``: by Record_Id, which may also be a request made by the OpenAPI."""
        request = self.requests.get(record_id)
        if request is None or request.workflow_id != workflow.name:
            raise ApiError(404, f"Record '{record_id}' not found in workflow '{workflow.name}'")
        self._validate(workflow, values, partial=True)
        request.fields.update(values)
        record = self.records.get(record_id)
        if group_id:
            stage = workflow.stage_with_id(group_id)
            if stage is not None:
                request.current_stage = stage.name
            if record is not None:
                record.group_id = group_id
        if record is not None:
            record.update_count += 1
        # Authentication pinned the caller to the configured username.
        request.log(
            "updated",
            self.config.username,
            None,
            from_stage=request.current_stage,
            fields=sorted(values),
        )
        self.stats.updates_applied += 1
        return request

    # --- OpenAPI requests ------------------------------------------------------------------

    def _new_request(
        self,
        workflow: Workflow,
        request_id: str,
        fields: dict[str, Any],
        submitted_by: str,
        *,
        draft: bool,
    ) -> WorkflowRequest:
        stamp = now()
        stage = workflow.draft_stage if draft else workflow.submit_stage
        request = WorkflowRequest(
            id=request_id,
            workflow_id=workflow.name,
            status="draft" if draft else "pending",
            current_stage=stage.name,
            fields=dict(fields),
            submitted_by=submitted_by,
            created_at=stamp,
            updated_at=stamp,
            assigned_to=submitted_by if draft else _first(stage.reviewers),
        )
        request.log("drafted" if draft else "submitted", submitted_by, None, from_stage=None)
        self.requests[request_id] = request
        return request

    def create_request(
        self, workflow: Workflow, fields: dict[str, Any], submitted_by: str, *, draft: bool
    ) -> WorkflowRequest:
        # A draft is saved, not submitted, so its required fields may still be missing.
        self._validate(workflow, fields, partial=draft)
        request_id = self._allocate("_next_request_id")
        request = self._new_request(workflow, request_id, fields, submitted_by, draft=draft)
        self.stats.requests_created += 1
        return request

    def get_request(self, workflow: Workflow, request_id: str) -> WorkflowRequest:
        request = self.requests.get(request_id)
        if request is None or request.workflow_id != workflow.name:
            raise ApiError(404, f"Request '{request_id}' not found in workflow '{workflow.name}'")
        return request

    def update_request(
        self, request: WorkflowRequest, fields: dict[str, Any], actor: str
    ) -> WorkflowRequest:
        self._require_open(request)
        self._validate(self.workflows[request.workflow_id], fields, partial=True)
        request.fields.update(fields)
        request.log("updated", actor, None, from_stage=request.current_stage, fields=sorted(fields))
        self.stats.requests_updated += 1
        return request

    def delete_request(self, request: WorkflowRequest) -> None:
        del self.requests[request.id]
        # The legacy record is the same object: it goes too.
        self.records.pop(request.id, None)
        self.stats.requests_deleted += 1

    def approve(self, request: WorkflowRequest, actor: str, comment: str | None) -> None:
        from_stage = request.current_stage
        workflow = self.workflows[request.workflow_id]
        if request.status == "draft":
            stage = workflow.submit_stage
            request.status = "pending"
            request.current_stage = stage.name
            request.assigned_to = _first(stage.reviewers)
            request.log("submitted", actor, comment, from_stage=from_stage)
        elif request.status == "pending":
            stage = workflow.next_stage(from_stage)
            request.current_stage = stage.name
            if stage == workflow.end_stage:
                request.status = "approved"
                request.assigned_to = None
                request.log("approved", actor, comment, from_stage=from_stage)
            else:
                # More review stages to go: approved here, pending at the next one.
                request.assigned_to = _first(stage.reviewers)
                request.log("approved", actor, comment, from_stage=from_stage)
        else:
            self._require_open(request)
        self.stats.request_actions += 1

    def reject(self, request: WorkflowRequest, actor: str, comment: str | None) -> None:
        self._require_open(request)
        if request.status == "draft":
            bad_request(f"Request '{request.id}' is a draft; approve it to submit it first")
        # The stage stays where the request was rejected, so callers can tell who rejected it.
        request.status = "rejected"
        request.assigned_to = None
        request.log("rejected", actor, comment, from_stage=request.current_stage)
        self.stats.request_actions += 1

    def reassign(
        self, request: WorkflowRequest, actor: str, username: str, comment: str | None
    ) -> None:
        self._require_open(request)
        user = self.user(username)
        if user is None or user["status"] != "active":
            bad_request(f"reassignTo: no active user '{username}'")
        previous = request.assigned_to
        request.assigned_to = username
        request.log(
            "reassigned",
            actor,
            comment,
            from_stage=request.current_stage,
            assignedTo=username,
            previousAssignee=previous,
        )
        self.stats.request_actions += 1

    def _require_open(self, request: WorkflowRequest) -> None:
        if request.status in _CLOSED:
            bad_request(f"Request '{request.id}' is already {request.status}")

    # --- views -----------------------------------------------------------------------------

    @property
    def records_stored(self) -> int:
        return len(self.records)

    @property
    def requests_stored(self) -> int:
        return len(self.requests)

    def stats_json(self) -> dict[str, Any]:
        stats = self.stats
        return {
            "requests_seen": stats.requests_seen,
            "faults_injected": {
                "total": sum(stats.faults_by_kind.values()),
                "status": stats.faults_by_kind["status"],
                "drop": stats.faults_by_kind["drop"],
            },
            "faults_by_status": {
                str(status): count for status, count in sorted(stats.faults_by_status.items())
            },
            "faults_acted": stats.faults_acted,
            "requests_delayed": stats.requests_delayed,
            "unauthorized": stats.unauthorized,
            "records_stored": self.records_stored,
            "submits_applied": stats.submits_applied,
            "updates_applied": stats.updates_applied,
            "requests_created": stats.requests_created,
            "requests_stored": self.requests_stored,
            "requests_updated": stats.requests_updated,
            "requests_deleted": stats.requests_deleted,
            "request_actions": stats.request_actions,
            "script_remaining": len(self.faults.queue),
        }

    def records_json(self) -> dict[str, Any]:
        records = [record.to_json() for record in self.records.values()]
        return {"count": len(records), "records": records}

    def requests_json(self) -> dict[str, Any]:
        requests = [request.to_json() for request in self.requests.values()]
        return {"count": len(requests), "requests": requests}


def _first(reviewers: tuple[str, ...]) -> str | None:
    return reviewers[0] if reviewers else None
