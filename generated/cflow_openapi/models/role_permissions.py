from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="RolePermissions")


@_attrs_define
class RolePermissions:
    """Permission settings for this role across workflows, lookups, reports, and support.

    Attributes:
        workflows (str | Unset): Permission level for workflows.
        lookups (str | Unset): Permission level for lookups.
        reports (str | Unset): Permission level for reports.
        support (str | Unset): Permission level for support.
    """

    workflows: str | Unset = UNSET
    lookups: str | Unset = UNSET
    reports: str | Unset = UNSET
    support: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        workflows = self.workflows

        lookups = self.lookups

        reports = self.reports

        support = self.support

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if workflows is not UNSET:
            field_dict["workflows"] = workflows
        if lookups is not UNSET:
            field_dict["lookups"] = lookups
        if reports is not UNSET:
            field_dict["reports"] = reports
        if support is not UNSET:
            field_dict["support"] = support

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        workflows = d.pop("workflows", UNSET)

        lookups = d.pop("lookups", UNSET)

        reports = d.pop("reports", UNSET)

        support = d.pop("support", UNSET)

        role_permissions = cls(
            workflows=workflows,
            lookups=lookups,
            reports=reports,
            support=support,
        )

        role_permissions.additional_properties = d
        return role_permissions

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
