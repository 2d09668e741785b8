from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.template_field import TemplateField
    from ..models.template_recipient import TemplateRecipient


T = TypeVar("T", bound="Template")


@_attrs_define
class Template:
    """A reusable document. Its `recipients` are placeholders: `client.templates.generate` fills them in (by their `id`)
    and sends a new document.

    """

    id: int
    title: str
    external_id: None | str
    team_id: int
    created_at: datetime.datetime
    """ RFC 3339 timestamp in UTC. """
    updated_at: datetime.datetime
    """ RFC 3339 timestamp in UTC. """
    recipients: list[TemplateRecipient]
    fields: list[TemplateField]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        title = self.title

        external_id: None | str
        external_id = self.external_id

        team_id = self.team_id

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        recipients = []
        for recipients_item_data in self.recipients:
            recipients_item = recipients_item_data.to_dict()
            recipients.append(recipients_item)

        fields = []
        for fields_item_data in self.fields:
            fields_item = fields_item_data.to_dict()
            fields.append(fields_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "title": title,
                "externalId": external_id,
                "teamId": team_id,
                "createdAt": created_at,
                "updatedAt": updated_at,
                "recipients": recipients,
                "fields": fields,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.template_field import TemplateField
        from ..models.template_recipient import TemplateRecipient

        d = dict(src_dict)
        id = d.pop("id")

        title = d.pop("title")

        def _parse_external_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        external_id = _parse_external_id(d.pop("externalId"))

        team_id = d.pop("teamId")

        created_at = datetime.datetime.fromisoformat(d.pop("createdAt"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updatedAt"))

        recipients = []
        _recipients = d.pop("recipients")
        for recipients_item_data in _recipients:
            recipients_item = TemplateRecipient.from_dict(recipients_item_data)

            recipients.append(recipients_item)

        fields = []
        _fields = d.pop("fields")
        for fields_item_data in _fields:
            fields_item = TemplateField.from_dict(fields_item_data)

            fields.append(fields_item)

        template = cls(
            id=id,
            title=title,
            external_id=external_id,
            team_id=team_id,
            created_at=created_at,
            updated_at=updated_at,
            recipients=recipients,
            fields=fields,
        )

        template.additional_properties = d
        return template

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
