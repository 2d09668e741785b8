from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.document_status import DocumentStatus

if TYPE_CHECKING:
    from ..models.recipient import Recipient


T = TypeVar("T", bound="Document")


@_attrs_define
class Document:
    """A document: a PDF sent to its recipients for signature. `status` goes from DRAFT (editable) to PENDING (sent) and
    ends COMPLETED, REJECTED or CANCELLED; `completed_at` is set once it is COMPLETED. Fields Pacta adds later are kept
    in `additional_properties`.

    """

    id: int
    title: str
    status: DocumentStatus
    external_id: None | str
    team_id: int
    created_at: datetime.datetime
    """ RFC 3339 timestamp in UTC. """
    updated_at: datetime.datetime
    """ RFC 3339 timestamp in UTC. """
    completed_at: datetime.datetime | None
    recipients: list[Recipient]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        title = self.title

        status = self.status.value

        external_id: None | str
        external_id = self.external_id

        team_id = self.team_id

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        completed_at: None | str
        if isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        recipients = []
        for recipients_item_data in self.recipients:
            recipients_item = recipients_item_data.to_dict()
            recipients.append(recipients_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "title": title,
                "status": status,
                "externalId": external_id,
                "teamId": team_id,
                "createdAt": created_at,
                "updatedAt": updated_at,
                "completedAt": completed_at,
                "recipients": recipients,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.recipient import Recipient

        d = dict(src_dict)
        id = d.pop("id")

        title = d.pop("title")

        status = DocumentStatus(d.pop("status"))

        def _parse_external_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        external_id = _parse_external_id(d.pop("externalId"))

        team_id = d.pop("teamId")

        created_at = datetime.datetime.fromisoformat(d.pop("createdAt"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updatedAt"))

        def _parse_completed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        completed_at = _parse_completed_at(d.pop("completedAt"))

        recipients = []
        _recipients = d.pop("recipients")
        for recipients_item_data in _recipients:
            recipients_item = Recipient.from_dict(recipients_item_data)

            recipients.append(recipients_item)

        document = cls(
            id=id,
            title=title,
            status=status,
            external_id=external_id,
            team_id=team_id,
            created_at=created_at,
            updated_at=updated_at,
            completed_at=completed_at,
            recipients=recipients,
        )

        document.additional_properties = d
        return document

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
