"""The API's object types, as returned by the client.

These are the generated models, re-exported so application code imports them from
`pacta_async` and never depends on the generated package's layout.
"""

from pacta_api.models import (
    DirectLink,
    Document,
    DocumentList,
    DocumentStatus,
    EmbedToken,
    Field,
    FieldType,
    ReadStatus,
    Recipient,
    RecipientRole,
    SendStatus,
    SigningStatus,
    Template,
    TemplateField,
    TemplateList,
    TemplateRecipient,
    Webhook,
    WebhookEventType,
)

__all__ = [
    "DirectLink",
    "Document",
    "DocumentList",
    "DocumentStatus",
    "EmbedToken",
    "Field",
    "FieldType",
    "ReadStatus",
    "Recipient",
    "RecipientRole",
    "SendStatus",
    "SigningStatus",
    "Template",
    "TemplateField",
    "TemplateList",
    "TemplateRecipient",
    "Webhook",
    "WebhookEventType",
]
