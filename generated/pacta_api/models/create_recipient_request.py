from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.recipient_role import RecipientRole
from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateRecipientRequest")


@_attrs_define
class CreateRecipientRequest:
    name: str
    email: str
    role: RecipientRole
    signing_order: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        email = self.email

        role = self.role.value

        signing_order = self.signing_order

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "email": email,
                "role": role,
            }
        )
        if signing_order is not UNSET:
            field_dict["signingOrder"] = signing_order

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        email = d.pop("email")

        role = RecipientRole(d.pop("role"))

        signing_order = d.pop("signingOrder", UNSET)

        create_recipient_request = cls(
            name=name,
            email=email,
            role=role,
            signing_order=signing_order,
        )

        create_recipient_request.additional_properties = d
        return create_recipient_request

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
