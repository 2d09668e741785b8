from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.webhook_event_type import WebhookEventType

T = TypeVar("T", bound="Webhook")


@_attrs_define
class Webhook:
    """A webhook subscription. The secret is write-only."""

    id: str
    webhook_url: str
    event_triggers: list[WebhookEventType]
    enabled: bool
    created_at: datetime.datetime
    """ RFC 3339 timestamp in UTC. """
    updated_at: datetime.datetime
    """ RFC 3339 timestamp in UTC. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        webhook_url = self.webhook_url

        event_triggers = []
        for event_triggers_item_data in self.event_triggers:
            event_triggers_item = event_triggers_item_data.value
            event_triggers.append(event_triggers_item)

        enabled = self.enabled

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "webhookUrl": webhook_url,
                "eventTriggers": event_triggers,
                "enabled": enabled,
                "createdAt": created_at,
                "updatedAt": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        webhook_url = d.pop("webhookUrl")

        event_triggers = []
        _event_triggers = d.pop("eventTriggers")
        for event_triggers_item_data in _event_triggers:
            event_triggers_item = WebhookEventType(event_triggers_item_data)

            event_triggers.append(event_triggers_item)

        enabled = d.pop("enabled")

        created_at = datetime.datetime.fromisoformat(d.pop("createdAt"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updatedAt"))

        webhook = cls(
            id=id,
            webhook_url=webhook_url,
            event_triggers=event_triggers,
            enabled=enabled,
            created_at=created_at,
            updated_at=updated_at,
        )

        webhook.additional_properties = d
        return webhook

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
