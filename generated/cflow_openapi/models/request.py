from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.request_status import RequestStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.request_fields import RequestFields


T = TypeVar("T", bound="Request")


@_attrs_define
class Request:
    """
    Attributes:
        id (str | Unset): Unique identifier of the request.
        workflow_id (str | Unset): Identifier of the associated workflow.
        status (RequestStatus | Unset): Current status of the request.
        current_stage (str | Unset): Name or identifier of the current process stage.
        fields (RequestFields | Unset): Dynamic key-value pairs representing the form field data for the request.
        submitted_by (str | Unset): Username of the person who submitted the request.
        created_at (datetime.datetime | Unset): Timestamp when the request was created.
        updated_at (datetime.datetime | Unset): Timestamp when the request was last updated.
    """

    id: str | Unset = UNSET
    workflow_id: str | Unset = UNSET
    status: RequestStatus | Unset = UNSET
    current_stage: str | Unset = UNSET
    fields: RequestFields | Unset = UNSET
    submitted_by: str | Unset = UNSET
    created_at: datetime.datetime | Unset = UNSET
    updated_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        workflow_id = self.workflow_id

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        current_stage = self.current_stage

        fields: dict[str, Any] | Unset = UNSET
        if not isinstance(self.fields, Unset):
            fields = self.fields.to_dict()

        submitted_by = self.submitted_by

        created_at: str | Unset = UNSET
        if not isinstance(self.created_at, Unset):
            created_at = self.created_at.isoformat()

        updated_at: str | Unset = UNSET
        if not isinstance(self.updated_at, Unset):
            updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if id is not UNSET:
            field_dict["id"] = id
        if workflow_id is not UNSET:
            field_dict["workflowId"] = workflow_id
        if status is not UNSET:
            field_dict["status"] = status
        if current_stage is not UNSET:
            field_dict["currentStage"] = current_stage
        if fields is not UNSET:
            field_dict["fields"] = fields
        if submitted_by is not UNSET:
            field_dict["submittedBy"] = submitted_by
        if created_at is not UNSET:
            field_dict["createdAt"] = created_at
        if updated_at is not UNSET:
            field_dict["updatedAt"] = updated_at

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.request_fields import RequestFields

        d = dict(src_dict)
        id = d.pop("id", UNSET)

        workflow_id = d.pop("workflowId", UNSET)

        _status = d.pop("status", UNSET)
        status: RequestStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = RequestStatus(_status)

        current_stage = d.pop("currentStage", UNSET)

        _fields = d.pop("fields", UNSET)
        fields: RequestFields | Unset
        if isinstance(_fields, Unset):
            fields = UNSET
        else:
            fields = RequestFields.from_dict(_fields)

        submitted_by = d.pop("submittedBy", UNSET)

        _created_at = d.pop("createdAt", UNSET)
        created_at: datetime.datetime | Unset
        if isinstance(_created_at, Unset):
            created_at = UNSET
        else:
            created_at = datetime.datetime.fromisoformat(_created_at)

        _updated_at = d.pop("updatedAt", UNSET)
        updated_at: datetime.datetime | Unset
        if isinstance(_updated_at, Unset):
            updated_at = UNSET
        else:
            updated_at = datetime.datetime.fromisoformat(_updated_at)

        request = cls(
            id=id,
            workflow_id=workflow_id,
            status=status,
            current_stage=current_stage,
            fields=fields,
            submitted_by=submitted_by,
            created_at=created_at,
            updated_at=updated_at,
        )

        request.additional_properties = d
        return request

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
