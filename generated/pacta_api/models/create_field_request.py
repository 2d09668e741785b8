from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.field_type import FieldType

T = TypeVar("T", bound="CreateFieldRequest")


@_attrs_define
class CreateFieldRequest:
    type_: FieldType
    page: int
    x: float
    y: float
    width: float
    height: float
    recipient_id: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_.value

        page = self.page

        x = self.x

        y = self.y

        width = self.width

        height = self.height

        recipient_id = self.recipient_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "page": page,
                "x": x,
                "y": y,
                "width": width,
                "height": height,
                "recipientId": recipient_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        type_ = FieldType(d.pop("type"))

        page = d.pop("page")

        x = d.pop("x")

        y = d.pop("y")

        width = d.pop("width")

        height = d.pop("height")

        recipient_id = d.pop("recipientId")

        create_field_request = cls(
            type_=type_,
            page=page,
            x=x,
            y=y,
            width=width,
            height=height,
            recipient_id=recipient_id,
        )

        create_field_request.additional_properties = d
        return create_field_request

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
