from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ApprovalAction")


@_attrs_define
class ApprovalAction:
    """
    Attributes:
        comment (str | Unset): Optional comment explaining the approval or rejection.
        reassign_to (str | Unset): Username to reassign the request to instead of approving or rejecting.
    """

    comment: str | Unset = UNSET
    reassign_to: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        comment = self.comment

        reassign_to = self.reassign_to

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if comment is not UNSET:
            field_dict["comment"] = comment
        if reassign_to is not UNSET:
            field_dict["reassignTo"] = reassign_to

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        comment = d.pop("comment", UNSET)

        reassign_to = d.pop("reassignTo", UNSET)

        approval_action = cls(
            comment=comment,
            reassign_to=reassign_to,
        )

        approval_action.additional_properties = d
        return approval_action

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
