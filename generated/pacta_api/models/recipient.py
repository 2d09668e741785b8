from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.read_status import ReadStatus
from ..models.recipient_role import RecipientRole
from ..models.send_status import SendStatus
from ..models.signing_status import SigningStatus

T = TypeVar("T", bound="Recipient")


@_attrs_define
class Recipient:
    """A person a document goes to, with their progress: `signing_status`, `read_status` and `send_status`. `signing_url`
    is their personal signing link; `signing_order` is set when recipients sign one after another.

    """

    id: int
    document_id: int
    name: str
    email: str
    role: RecipientRole
    signing_order: int | None
    signing_status: SigningStatus
    read_status: ReadStatus
    send_status: SendStatus
    signed_at: datetime.datetime | None
    signing_url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        document_id = self.document_id

        name = self.name

        email = self.email

        role = self.role.value

        signing_order: int | None
        signing_order = self.signing_order

        signing_status = self.signing_status.value

        read_status = self.read_status.value

        send_status = self.send_status.value

        signed_at: None | str
        if isinstance(self.signed_at, datetime.datetime):
            signed_at = self.signed_at.isoformat()
        else:
            signed_at = self.signed_at

        signing_url = self.signing_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "documentId": document_id,
                "name": name,
                "email": email,
                "role": role,
                "signingOrder": signing_order,
                "signingStatus": signing_status,
                "readStatus": read_status,
                "sendStatus": send_status,
                "signedAt": signed_at,
                "signingUrl": signing_url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        document_id = d.pop("documentId")

        name = d.pop("name")

        email = d.pop("email")

        role = RecipientRole(d.pop("role"))

        def _parse_signing_order(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        signing_order = _parse_signing_order(d.pop("signingOrder"))

        signing_status = SigningStatus(d.pop("signingStatus"))

        read_status = ReadStatus(d.pop("readStatus"))

        send_status = SendStatus(d.pop("sendStatus"))

        def _parse_signed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                signed_at_type_0 = datetime.datetime.fromisoformat(data)

                return signed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        signed_at = _parse_signed_at(d.pop("signedAt"))

        signing_url = d.pop("signingUrl")

        recipient = cls(
            id=id,
            document_id=document_id,
            name=name,
            email=email,
            role=role,
            signing_order=signing_order,
            signing_status=signing_status,
            read_status=read_status,
            send_status=send_status,
            signed_at=signed_at,
            signing_url=signing_url,
        )

        recipient.additional_properties = d
        return recipient

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
