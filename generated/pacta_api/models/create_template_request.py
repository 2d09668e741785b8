from __future__ import annotations

import json
from collections.abc import Mapping
from io import BytesIO
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from .. import types
from ..types import UNSET, File, Unset

if TYPE_CHECKING:
    from ..models.recipient_input import RecipientInput


T = TypeVar("T", bound="CreateTemplateRequest")


@_attrs_define
class CreateTemplateRequest:
    """Like a document upload; the recipients are placeholders."""

    file: File
    """ The PDF (at most 50 MiB), sent with a filename. """
    title: str
    external_id: str | Unset = UNSET
    recipients: list[RecipientInput] | Unset = UNSET
    """ Sent as `recipients[i][name]`, `recipients[i][email]`, `recipients[i][role]` and
    `recipients[i][signingOrder]` parts. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        file = self.file.to_tuple()

        title = self.title

        external_id = self.external_id

        recipients: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.recipients, Unset):
            recipients = []
            for recipients_item_data in self.recipients:
                recipients_item = recipients_item_data.to_dict()
                recipients.append(recipients_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "file": file,
                "title": title,
            }
        )
        if external_id is not UNSET:
            field_dict["externalId"] = external_id
        if recipients is not UNSET:
            field_dict["recipients"] = recipients

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(("file", self.file.to_tuple()))

        files.append(("title", (None, str(self.title).encode(), "text/plain")))

        if not isinstance(self.external_id, Unset):
            files.append(
                ("externalId", (None, str(self.external_id).encode(), "text/plain"))
            )

        if not isinstance(self.recipients, Unset):
            for recipients_item_element in self.recipients:
                files.append(
                    (
                        "recipients",
                        (
                            None,
                            json.dumps(recipients_item_element.to_dict()).encode(),
                            "application/json",
                        ),
                    )
                )

        for prop_name, prop in self.additional_properties.items():
            files.append((prop_name, (None, str(prop).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.recipient_input import RecipientInput

        d = dict(src_dict)
        file = File(payload=BytesIO(d.pop("file")))

        title = d.pop("title")

        external_id = d.pop("externalId", UNSET)

        _recipients = d.pop("recipients", UNSET)
        recipients: list[RecipientInput] | Unset = UNSET
        if _recipients is not UNSET:
            recipients = []
            for recipients_item_data in _recipients:
                recipients_item = RecipientInput.from_dict(recipients_item_data)

                recipients.append(recipients_item)

        create_template_request = cls(
            file=file,
            title=title,
            external_id=external_id,
            recipients=recipients,
        )

        create_template_request.additional_properties = d
        return create_template_request

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
