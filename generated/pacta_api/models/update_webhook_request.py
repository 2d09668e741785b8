from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.webhook_event_type import WebhookEventType
from ..types import UNSET, Unset

T = TypeVar("T", bound="UpdateWebhookRequest")


@_attrs_define
class UpdateWebhookRequest:
    webhook_url: str | Unset = UNSET
    event_triggers: list[WebhookEventType] | Unset = UNSET
    secret: str | Unset = UNSET
    enabled: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        webhook_url = self.webhook_url

        event_triggers: list[str] | Unset = UNSET
        if not isinstance(self.event_triggers, Unset):
            event_triggers = []
            for event_triggers_item_data in self.event_triggers:
                event_triggers_item = event_triggers_item_data.value
                event_triggers.append(event_triggers_item)

        secret = self.secret

        enabled = self.enabled

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if webhook_url is not UNSET:
            field_dict["webhookUrl"] = webhook_url
        if event_triggers is not UNSET:
            field_dict["eventTriggers"] = event_triggers
        if secret is not UNSET:
            field_dict["secret"] = secret
        if enabled is not UNSET:
            field_dict["enabled"] = enabled

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        webhook_url = d.pop("webhookUrl", UNSET)

        _event_triggers = d.pop("eventTriggers", UNSET)
        event_triggers: list[WebhookEventType] | Unset = UNSET
        if _event_triggers is not UNSET:
            event_triggers = []
            for event_triggers_item_data in _event_triggers:
                event_triggers_item = WebhookEventType(event_triggers_item_data)

                event_triggers.append(event_triggers_item)

        secret = d.pop("secret", UNSET)

        enabled = d.pop("enabled", UNSET)

        update_webhook_request = cls(
            webhook_url=webhook_url,
            event_triggers=event_triggers,
            secret=secret,
            enabled=enabled,
        )

        update_webhook_request.additional_properties = d
        return update_webhook_request

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
