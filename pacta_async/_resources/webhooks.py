"""`client.webhooks`: where Pacta posts document events."""

from __future__ import annotations

from collections.abc import Sequence

from pacta_api.api.webhooks import create_webhook, delete_webhook, list_webhooks, update_webhook
from pacta_api.models import (
    CreateWebhookRequest,
    UpdateWebhookRequest,
    Webhook,
    WebhookEventType,
    WebhookList,
)
from pacta_api.types import UNSET

from .._errors import InvalidInputError
from .._validation import check_events, check_text, check_url
from ._base import Resource, Timeout

__all__ = ["Webhooks"]


def _check_webhook_url(url: str) -> str:
    # Pacta posts documents with signers' names and emails here: https only,
    # except to a receiver on this machine.
    return check_url(url, "url")


class Webhooks(Resource):
    """`client.webhooks`."""

    async def list(
        self, *, timeout: Timeout = None, max_retries: int | None = None
    ) -> list[Webhook]:
        call = list_webhooks.asyncio_detailed(client=self._api)
        result = await self._call(call, WebhookList, timeout=timeout, max_retries=max_retries)
        return result.webhooks

    async def create(
        self,
        *,
        url: str,
        events: Sequence[WebhookEventType | str],
        secret: str | None = None,
        enabled: bool = True,
        timeout: Timeout = None,
        max_retries: int | None = None,
    ) -> Webhook:
        """Subscribe `url` to `events`. Pacta sends `secret` back in `X-Pacta-Secret`."""
        body = CreateWebhookRequest(
            webhook_url=_check_webhook_url(url),
            event_triggers=check_events(events),
            secret=UNSET if secret is None else check_text(secret, "secret"),
            enabled=enabled,
        )
        call = create_webhook.asyncio_detailed(client=self._api, body=body)
        return await self._call(call, Webhook, timeout=timeout, max_retries=max_retries)

    async def update(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        events: Sequence[WebhookEventType | str] | None = None,
        secret: str | None = None,
        enabled: bool | None = None,
        timeout: Timeout = None,
        max_retries: int | None = None,
    ) -> Webhook:
        """Change only the given settings."""
        body = UpdateWebhookRequest(
            webhook_url=UNSET if url is None else _check_webhook_url(url),
            event_triggers=UNSET if events is None else check_events(events),
            secret=UNSET if secret is None else check_text(secret, "secret"),
            enabled=UNSET if enabled is None else enabled,
        )
        if not body.to_dict():
            raise InvalidInputError("update needs at least one of url, events, secret, enabled")
        call = update_webhook.asyncio_detailed(
            check_text(webhook_id, "webhook_id"), client=self._api, body=body
        )
        return await self._call(call, Webhook, timeout=timeout, max_retries=max_retries)

    async def delete(
        self, webhook_id: str, *, timeout: Timeout = None, max_retries: int | None = None
    ) -> None:
        call = delete_webhook.asyncio_detailed(
            check_text(webhook_id, "webhook_id"), client=self._api
        )
        await self._call_no_content(call, timeout=timeout, max_retries=max_retries)
