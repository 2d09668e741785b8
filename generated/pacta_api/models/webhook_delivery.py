from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.webhook_event_type import WebhookEventType

if TYPE_CHECKING:
    from ..models.document import Document


T = TypeVar("T", bound="WebhookDelivery")


@_attrs_define
class WebhookDelivery:
    """What Pacta POSTs to a webhook URL, with the header `X-Pacta-Secret`. The same event can arrive more than once."""

    event: WebhookEventType
    payload: Document
    created_at: datetime.datetime
    """ RFC 3339 timestamp in UTC. """
    webhook_endpoint: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event = self.event.value

        payload = self.payload.to_dict()

        created_at = self.created_at.isoformat()

        webhook_endpoint = self.webhook_endpoint

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event": event,
                "payload": payload,
                "createdAt": created_at,
                "webhookEndpoint": webhook_endpoint,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.document import Document

        d = dict(src_dict)
        event = WebhookEventType(d.pop("event"))

        payload = Document.from_dict(d.pop("payload"))

        created_at = datetime.datetime.fromisoformat(d.pop("createdAt"))

        webhook_endpoint = d.pop("webhookEndpoint")

        webhook_delivery = cls(
            event=event,
            payload=payload,
            created_at=created_at,
            webhook_endpoint=webhook_endpoint,
        )

        webhook_delivery.additional_properties = d
        return webhook_delivery

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
