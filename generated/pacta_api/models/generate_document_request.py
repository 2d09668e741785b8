from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.generate_recipient import GenerateRecipient


T = TypeVar("T", bound="GenerateDocumentRequest")


@_attrs_define
class GenerateDocumentRequest:
    recipients: list[GenerateRecipient]
    title: str | Unset = UNSET
    external_id: str | Unset = UNSET
    send_email: bool | Unset = True
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        recipients = []
        for recipients_item_data in self.recipients:
            recipients_item = recipients_item_data.to_dict()
            recipients.append(recipients_item)

        title = self.title

        external_id = self.external_id

        send_email = self.send_email

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "recipients": recipients,
            }
        )
        if title is not UNSET:
            field_dict["title"] = title
        if external_id is not UNSET:
            field_dict["externalId"] = external_id
        if send_email is not UNSET:
            field_dict["sendEmail"] = send_email

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.generate_recipient import GenerateRecipient

        d = dict(src_dict)
        recipients = []
        _recipients = d.pop("recipients")
        for recipients_item_data in _recipients:
            recipients_item = GenerateRecipient.from_dict(recipients_item_data)

            recipients.append(recipients_item)

        title = d.pop("title", UNSET)

        external_id = d.pop("externalId", UNSET)

        send_email = d.pop("sendEmail", UNSET)

        generate_document_request = cls(
            recipients=recipients,
            title=title,
            external_id=external_id,
            send_email=send_email,
        )

        generate_document_request.additional_properties = d
        return generate_document_request

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
