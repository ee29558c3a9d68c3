"""The sandbox's in-memory state: workflows, legacy records, OpenAPI requests and counters."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import Any

import attrs

from cflow_async.sandbox import data
from cflow_async.sandbox.faults import FaultConfig, FaultInjector, ScriptedFault
from cflow_async.sandbox.validation import ApiError, bad_request, validate_fields


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@attrs.frozen
class SandboxConfig:
    """Start-up configuration of one sandbox app. The keys are hidden from ``repr``."""

    api_key: str = attrs.field(default=data.DEMO_API_KEY, repr=False)
    user_key: str = attrs.field(default=data.DEMO_USER_KEY, repr=False)
    username: str = data.DEMO_USERNAME
    faults: FaultConfig = attrs.field(factory=FaultConfig)
    first_record_id: int = data.FIRST_RECORD_ID
    first_request_id: int = data.FIRST_REQUEST_ID


@attrs.define
class Workflow:
    name: str
    display_name: str
    description: str
    field_sets: data.FieldSets
    definitions: dict[str, dict[str, Any]]

    @classmethod
    def seeded(cls, name: str) -> Workflow:
        field_sets = data.seed_field_sets(name)
        return cls(
            name=name,
            display_name=name,
            description=data.WORKFLOW_DESCRIPTIONS[name],
            field_sets=field_sets,
            definitions=field_sets.definitions(),
        )

    def legacy_json(self) -> dict[str, str]:
        return {"WorkflowDisplayName": self.display_name, "WorkflowName": self.name}

    def openapi_json(self) -> dict[str, Any]:
        return {
            # The OpenAPI id is the legacy WorkflowName, so both APIs address the same workflow.
            "id": self.name,
            "name": self.display_name,
            "description": self.description,
            "status": "active",
            "stages": [
                {
                    "id": stage_id,
                    "name": stage_name,
                    "order": order,
                    "reviewers": list(data.STAGE_REVIEWERS[stage_name]),
                }
                for order, (stage_name, _, stage_id) in enumerate(data.STAGES, start=1)
            ],
            "createdAt": data.WORKFLOW_CREATED_AT,
            "updatedAt": data.WORKFLOW_UPDATED_AT,
        }


@attrs.define
class LegacyRecord:
    """A record stored by the legacy ``submitrecord`` call."""

    record_id: str
    workflow: str
    values: dict[str, Any]
    group_id: str
    submitted_by: str
    created_at: str
    updated_at: str
    update_count: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "Record_Id": self.record_id,
            "WorkflowName": self.workflow,
            "group_id": self.group_id,
            "values": dict(self.values),
            "submittedBy": self.submitted_by,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "updateCount": self.update_count,
        }


@attrs.define
class WorkflowRequest:
    """A request created through the OpenAPI routes."""

    id: str
    workflow_id: str
    status: str
    current_stage: str
    fields: dict[str, Any]
    submitted_by: str
    created_at: str
    updated_at: str
    assigned_to: str | None
    comments: list[dict[str, Any]] = attrs.field(factory=list)
    history: list[dict[str, Any]] = attrs.field(factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "workflowId": self.workflow_id,
            "status": self.status,
            "currentStage": self.current_stage,
            "fields": dict(self.fields),
            "submittedBy": self.submitted_by,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "assignedTo": self.assigned_to,
            "comments": [dict(entry) for entry in self.comments],
            "history": [dict(entry) for entry in self.history],
        }

    def log(
        self,
        action: str,
        actor: str,
        comment: str | None,
        *,
        from_stage: str | None,
        **extra: Any,
    ) -> None:
        """Append to ``history`` (and to ``comments`` when there is one); call after the change."""
        now = _now()
        self.updated_at = now
        self.history.append(
            {
                "action": action,
                "by": actor,
                "at": now,
                "fromStage": from_stage,
                "stage": self.current_stage,
                "status": self.status,
                "comment": comment,
                **extra,
            }
        )
        if comment is not None:
            # A comment belongs to the stage it was written at, not the one the action led to.
            stage = from_stage if from_stage is not None else self.current_stage
            self.comments.append(
                {"by": actor, "at": now, "action": action, "stage": stage, "comment": comment}
            )


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
        self.reset()

    # --- lifecycle -------------------------------------------------------------------------

    def reset(self, *, keep_faults: bool = False) -> None:
        """Back to the start-up state (optionally keeping the current fault configuration)."""
        self.workflows = {name: Workflow.seeded(name) for name in data.WORKFLOW_NAMES}
        self.users = data.seed_users(self.config.username)
        self.roles = data.seed_roles()
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

    def check_stage(self, group_id: str | None) -> str:
        if not group_id:
            bad_request("group_id is required")
        if group_id not in data.STAGE_IDS:
            raise ApiError(404, f"Process stage (group_id) '{group_id}' not found")
        return group_id

    def user(self, username: str) -> dict[str, str] | None:
        return next((user for user in self.users if user["username"] == username), None)

    # --- legacy records --------------------------------------------------------------------

    def submit_record(
        self, workflow: Workflow, values: dict[str, Any], submitted_by: str
    ) -> LegacyRecord:
        validate_fields(workflow.name, workflow.definitions, values)
        record_id = str(self._next_record_id)
        self._next_record_id += 1
        now = _now()
        # A submitted record leaves the initiator's stage and waits for review.
        review_stage_id = data.STAGES[1][2]
        record = LegacyRecord(
            record_id=record_id,
            workflow=workflow.name,
            values=dict(values),
            group_id=review_stage_id,
            submitted_by=submitted_by,
            created_at=now,
            updated_at=now,
        )
        self.records[record_id] = record
        self.stats.submits_applied += 1
        return record

    def update_record(
        self, workflow: Workflow, record_id: str, group_id: str | None, values: dict[str, Any]
    ) -> LegacyRecord:
        record = self.records.get(record_id)
        if record is None or record.workflow != workflow.name:
            raise ApiError(404, f"Record '{record_id}' not found in workflow '{workflow.name}'")
        validate_fields(workflow.name, workflow.definitions, values)
        record.values.update(values)
        if group_id:
            record.group_id = group_id
        record.updated_at = _now()
        record.update_count += 1
        self.stats.updates_applied += 1
        return record

    # --- OpenAPI requests ------------------------------------------------------------------

    def create_request(
        self, workflow: Workflow, fields: dict[str, Any], submitted_by: str, *, draft: bool
    ) -> WorkflowRequest:
        validate_fields(workflow.name, workflow.definitions, fields)
        request_id = str(self._next_request_id)
        self._next_request_id += 1
        now = _now()
        request = WorkflowRequest(
            id=request_id,
            workflow_id=workflow.name,
            status="draft" if draft else "pending",
            current_stage=data.STAGE_DRAFT if draft else data.STAGE_REVIEW,
            fields=dict(fields),
            submitted_by=submitted_by,
            created_at=now,
            updated_at=now,
            assigned_to=submitted_by if draft else self._reviewer(data.STAGE_REVIEW),
        )
        request.log("drafted" if draft else "submitted", submitted_by, None, from_stage=None)
        self.requests[request_id] = request
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
        validate_fields(
            request.workflow_id, self.workflows[request.workflow_id].definitions, fields
        )
        request.fields.update(fields)
        request.log("updated", actor, None, from_stage=request.current_stage, fields=sorted(fields))
        self.stats.requests_updated += 1
        return request

    def delete_request(self, request: WorkflowRequest) -> None:
        del self.requests[request.id]
        self.stats.requests_deleted += 1

    def approve(self, request: WorkflowRequest, actor: str, comment: str | None) -> None:
        from_stage = request.current_stage
        if request.status == "draft":
            request.status = "pending"
            request.current_stage = data.STAGE_REVIEW
            request.assigned_to = self._reviewer(data.STAGE_REVIEW)
            request.log("submitted", actor, comment, from_stage=from_stage)
        elif request.status == "pending":
            request.status = "approved"
            request.current_stage = data.STAGE_END
            request.assigned_to = None
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

    @staticmethod
    def _reviewer(stage: str) -> str | None:
        reviewers = data.STAGE_REVIEWERS[stage]
        return reviewers[0] if reviewers else None

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
