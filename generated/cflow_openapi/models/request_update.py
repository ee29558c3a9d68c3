from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.request_update_fields import RequestUpdateFields


T = TypeVar("T", bound="RequestUpdate")


@_attrs_define
class RequestUpdate:
    """
    Attributes:
        fields (RequestUpdateFields): Key-value pairs representing the form field data to update.
    """

    fields: RequestUpdateFields
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        fields = self.fields.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "fields": fields,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.request_update_fields import RequestUpdateFields

        d = dict(src_dict)
        fields = RequestUpdateFields.from_dict(d.pop("fields"))

        request_update = cls(
            fields=fields,
        )

        request_update.additional_properties = d
        return request_update

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
