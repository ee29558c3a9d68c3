"""What the sandbox stores: workflows with their stages and field definitions, and requests.

A record submitted through the legacy ``submitrecord`` call and a request created through the
OpenAPI routes are the same kind of object in Cflow, so the sandbox stores both as a
:class:`WorkflowRequest`; :class:`LegacyRecord` is the legacy view of one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from cflow_async.sandbox import data


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@attrs.frozen
class Stage:
    """One process stage; ``id`` is the legacy ``ProcessID`` / ``group_id``."""

    name: str
    id: str
    display_name: str
    reviewers: tuple[str, ...] = ()

    def legacy_json(self) -> dict[str, str]:
        return {
            "ProcessStage": self.name,
            "ProcessStageDisplayName": self.display_name,
            "ProcessID": self.id,
        }


def seed_stages() -> tuple[Stage, ...]:
    return tuple(
        Stage(name=name, id=stage_id, display_name=display, reviewers=data.STAGE_REVIEWERS[name])
        for name, display, stage_id in data.STAGES
    )


@attrs.define
class Workflow:
    name: str
    display_name: str
    description: str
    stages: tuple[Stage, ...]
    field_sets: data.FieldSets
    definitions: dict[str, dict[str, Any]] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.definitions = self.field_sets.definitions()

    @classmethod
    def seeded(cls, name: str) -> Workflow:
        return cls(
            name=name,
            display_name=name,
            description=data.WORKFLOW_DESCRIPTIONS[name],
            stages=seed_stages(),
            field_sets=data.seed_field_sets(name),
        )

    @property
    def required_on_submit(self) -> list[str]:
        """Required fields of the initiation form (getworkflowfieldsets).

        Not the for-map list: its ``RecordId`` entry is the key of an update, and the legacy
        document's own submit sample does not send it.
        """
        return [field["name"] for field in self.field_sets.workflow if field.get("required")]

    # The request lifecycle: a draft sits at the first stage, a submitted request at the
    # second (the first review), approval walks the stages and the last one means done.

    @property
    def draft_stage(self) -> Stage:
        return self.stages[0]

    @property
    def submit_stage(self) -> Stage:
        return self.stages[min(1, len(self.stages) - 1)]

    @property
    def end_stage(self) -> Stage:
        return self.stages[-1]

    def stage_named(self, name: str) -> Stage | None:
        return next((stage for stage in self.stages if stage.name == name), None)

    def stage_with_id(self, stage_id: str) -> Stage | None:
        return next((stage for stage in self.stages if stage.id == stage_id), None)

    def next_stage(self, name: str) -> Stage:
        names = [stage.name for stage in self.stages]
        index = names.index(name) if name in names else 0
        return self.stages[min(index + 1, len(self.stages) - 1)]

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
                    "id": stage.id,
                    "name": stage.name,
                    "order": order,
                    "reviewers": list(stage.reviewers),
                }
                for order, stage in enumerate(self.stages, start=1)
            ],
            "createdAt": data.WORKFLOW_CREATED_AT,
            "updatedAt": data.WORKFLOW_UPDATED_AT,
        }


@attrs.define
class WorkflowRequest:
    """A request of a workflow, created by the OpenAPI routes or by legacy ``submitrecord``."""

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
        stamp = now()
        self.updated_at = stamp
        self.history.append(
            {
                "action": action,
                "by": actor,
                "at": stamp,
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
                {"by": actor, "at": stamp, "action": action, "stage": stage, "comment": comment}
            )


@attrs.define
class LegacyRecord:
    """The legacy view of a request submitted by ``submitrecord``: same object, other names."""

    request: WorkflowRequest
    group_id: str
    update_count: int = 0

    @property
    def record_id(self) -> str:
        return self.request.id

    @property
    def workflow(self) -> str:
        return self.request.workflow_id

    @property
    def values(self) -> dict[str, Any]:
        return self.request.fields

    @property
    def submitted_by(self) -> str:
        return self.request.submitted_by

    def to_json(self) -> dict[str, Any]:
        return {
            "Record_Id": self.record_id,
            "WorkflowName": self.workflow,
            "group_id": self.group_id,
            "values": dict(self.values),
            "submittedBy": self.submitted_by,
            "createdAt": self.request.created_at,
            "updatedAt": self.request.updated_at,
            "updateCount": self.update_count,
        }
