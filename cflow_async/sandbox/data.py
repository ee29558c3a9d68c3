"""Seed data for the sandbox, copied from the legacy Cflow API document's examples.

The legacy examples are the only ground truth we have for what Cflow really answers, so the
field definitions below keep their quirks on purpose (notably the key ``"default:"`` with a
trailing colon).
"""

from __future__ import annotations

from typing import Any, Final

DEMO_API_KEY: Final = "sandbox-api-key"
DEMO_USER_KEY: Final = "sandbox-user-key"
DEMO_USERNAME: Final = "demo@sandbox.local"

MANAGER_USERNAME: Final = "manager@sandbox.local"
SAMPLE_USERNAME: Final = "ashoka@cavintek.com"

ADMIN_PREFIX: Final = "/__sandbox__"

# The legacy document's submit example answers Record_Id "44"; starting there makes a fresh
# sandbox reproduce the documented exchange byte for byte.
FIRST_RECORD_ID: Final = 44
FIRST_REQUEST_ID: Final = 1001

# (ProcessStage, ProcessStageDisplayName, ProcessID) exactly as in the getprocess example.
STAGES: Final[tuple[tuple[str, str, str], ...]] = (
    ("User Workflow", "User Workflow", "27405"),
    ("Manager Review", "Manager Review", "27406"),
    ("END", "END", "27407"),
)
STAGE_DRAFT: Final = "User Workflow"
STAGE_REVIEW: Final = "Manager Review"
STAGE_END: Final = "END"
STAGE_IDS: Final = {stage_id: name for name, _, stage_id in STAGES}
STAGE_REVIEWERS: Final[dict[str, tuple[str, ...]]] = {
    STAGE_DRAFT: (),
    STAGE_REVIEW: (MANAGER_USERNAME,),
    STAGE_END: (),
}

STATUS_VALUES: Final = ("New", "Approved", "Rejected")

WORKFLOW_NAMES: Final = ("Test", "User Workflow", "SampleWorkflow", "TrWorkflow")
WORKFLOW_DESCRIPTIONS: Final = {
    "Test": "Scratch workflow without field definitions; accepts any fields.",
    "User Workflow": "Workflow with the fields of the legacy API document's examples.",
    "SampleWorkflow": "The legacy document's submit/update sample workflow.",
    "TrWorkflow": "Workflow without field definitions; accepts any fields.",
}
# Fixed timestamps keep responses reproducible between runs.
WORKFLOW_CREATED_AT: Final = "2022-03-01T09:00:00Z"
WORKFLOW_UPDATED_AT: Final = "2022-03-26T18:30:00Z"


def field_definition(
    name: str,
    type_: str,
    label: str,
    *,
    options: list[dict[str, str]] | None = None,
    help_text: str = "",
    default: str | None = None,
    required: bool = False,
    multiple: bool = False,
) -> dict[str, Any]:
    """One field definition in the legacy shape (key order as in the document)."""
    return {
        "name": name,
        "type": type_,
        "label": label,
        "options": options,
        "spec": None,
        "help": help_text,
        "default:": default,
        "required": required,
        "multiple": multiple,
        "multiline": False,
    }


def _options(*values: str) -> list[dict[str, str]]:
    return [{"label": value, "value": value} for value in values]


def _text(name: str, label: str | None = None) -> dict[str, Any]:
    return field_definition(name, "text", label if label is not None else name)


def _seed_process_fieldsets() -> list[dict[str, Any]]:
    return [
        _text("City"),
        _text("Email"),
        _text("R_Approved By2", "END Approved By"),
        field_definition("R_Approved Date2", "date", "END Approved Date"),
        _text("GoogleSheetRowNumber"),
        _text("R_Approved By1", "Manager Review Approved By"),
        field_definition("R_Approved Date1", "date", "Manager Review Approved Date"),
        field_definition("R_Comments1", "text", "Manager Review Comments", default=""),
        field_definition(
            "R_Status1", "select", "Manager Review Status", options=_options(*STATUS_VALUES)
        ),
        _text("Name"),
        _text("Phone"),
    ]


def _seed_process_fields_for_map() -> list[dict[str, Any]]:
    return [
        *_seed_process_fieldsets(),
        field_definition("RecordId", "text", "Record ID", help_text="Record ID", required=True),
    ]


def _seed_workflow_fieldsets() -> list[dict[str, Any]]:
    return [
        _text("Name"),
        _text("Phone"),
        _text("Email"),
        _text("City"),
        _text("GoogleSheetRowNumber"),
    ]


def _sample_extra_fields() -> list[dict[str, Any]]:
    # The fields the legacy document's submit sample sends to SampleWorkflow.
    return [
        _text("Name1"),
        field_definition("Build_Date", "date", "Build Date"),
        field_definition(
            "Work_Status", "select", "Work Status", options=_options("Stage"), multiple=True
        ),
        field_definition(
            "Completed_work",
            "select",
            "Completed work",
            options=_options("stage testing completed", "live testing completed"),
            multiple=True,
        ),
    ]


class FieldSets:
    """The three field-definition lists a workflow answers with (empty for free-form ones)."""

    __slots__ = ("for_map", "process", "workflow")

    def __init__(
        self,
        workflow: list[dict[str, Any]],
        process: list[dict[str, Any]],
        for_map: list[dict[str, Any]],
    ) -> None:
        self.workflow = workflow
        self.process = process
        self.for_map = for_map

    def definitions(self) -> dict[str, dict[str, Any]]:
        """Every field the workflow defines, by name (the union of the three lists)."""
        merged: dict[str, dict[str, Any]] = {}
        for field in (*self.workflow, *self.process, *self.for_map):
            merged.setdefault(field["name"], field)
        return merged


def seed_field_sets(workflow_name: str) -> FieldSets:
    """Fresh copies, so one sandbox can never alter another's seed data."""
    if workflow_name == "User Workflow":
        return FieldSets(
            _seed_workflow_fieldsets(), _seed_process_fieldsets(), _seed_process_fields_for_map()
        )
    if workflow_name == "SampleWorkflow":
        return FieldSets(
            [*_seed_workflow_fieldsets(), *_sample_extra_fields()],
            [*_seed_process_fieldsets(), *_sample_extra_fields()],
            [*_seed_process_fields_for_map(), *_sample_extra_fields()],
        )
    return FieldSets([], [], [])


def seed_users(admin_username: str) -> list[dict[str, str]]:
    return [
        {
            "id": "1",
            "username": admin_username,
            "email": admin_username,
            "role": "Admin",
            "status": "active",
        },
        {
            "id": "2",
            "username": MANAGER_USERNAME,
            "email": MANAGER_USERNAME,
            "role": "Manager",
            "status": "active",
        },
        {
            "id": "3",
            "username": SAMPLE_USERNAME,
            "email": SAMPLE_USERNAME,
            "role": "User",
            "status": "active",
        },
        {
            "id": "4",
            "username": "former.employee@sandbox.local",
            "email": "former.employee@sandbox.local",
            "role": "User",
            "status": "inactive",
        },
    ]


def seed_roles() -> list[dict[str, Any]]:
    return [
        {
            "id": "1",
            "name": "Admin",
            "permissions": {
                "workflows": "full",
                "lookups": "full",
                "reports": "full",
                "support": "full",
            },
        },
        {
            "id": "2",
            "name": "Manager",
            "permissions": {
                "workflows": "approve",
                "lookups": "read",
                "reports": "read",
                "support": "read",
            },
        },
        {
            "id": "3",
            "name": "User",
            "permissions": {
                "workflows": "submit",
                "lookups": "read",
                "reports": "none",
                "support": "read",
            },
        },
    ]
