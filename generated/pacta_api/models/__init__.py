"""Contains all the data models used in inputs/outputs"""

from .create_document_request import CreateDocumentRequest
from .create_field_request import CreateFieldRequest
from .create_recipient_request import CreateRecipientRequest
from .create_template_request import CreateTemplateRequest
from .create_webhook_request import CreateWebhookRequest
from .direct_link import DirectLink
from .document import Document
from .document_download import DocumentDownload
from .document_list import DocumentList
from .document_status import DocumentStatus
from .embed_token import EmbedToken
from .error import Error
from .error_details_type_0 import ErrorDetailsType0
from .field import Field
from .field_list import FieldList
from .field_type import FieldType
from .generate_document_request import GenerateDocumentRequest
from .generate_recipient import GenerateRecipient
from .get_openapi_spec_response_200 import GetOpenapiSpecResponse200
from .read_status import ReadStatus
from .recipient import Recipient
from .recipient_input import RecipientInput
from .recipient_list import RecipientList
from .recipient_role import RecipientRole
from .send_document_request import SendDocumentRequest
from .send_status import SendStatus
from .signing_status import SigningStatus
from .template import Template
from .template_field import TemplateField
from .template_list import TemplateList
from .template_recipient import TemplateRecipient
from .update_webhook_request import UpdateWebhookRequest
from .webhook import Webhook
from .webhook_delivery import WebhookDelivery
from .webhook_event_type import WebhookEventType
from .webhook_list import WebhookList

__all__ = (
    "CreateDocumentRequest",
    "CreateFieldRequest",
    "CreateRecipientRequest",
    "CreateTemplateRequest",
    "CreateWebhookRequest",
    "DirectLink",
    "Document",
    "DocumentDownload",
    "DocumentList",
    "DocumentStatus",
    "EmbedToken",
    "Error",
    "ErrorDetailsType0",
    "Field",
    "FieldList",
    "FieldType",
    "GenerateDocumentRequest",
    "GenerateRecipient",
    "GetOpenapiSpecResponse200",
    "ReadStatus",
    "Recipient",
    "RecipientInput",
    "RecipientList",
    "RecipientRole",
    "SendDocumentRequest",
    "SendStatus",
    "SigningStatus",
    "Template",
    "TemplateField",
    "TemplateList",
    "TemplateRecipient",
    "UpdateWebhookRequest",
    "Webhook",
    "WebhookDelivery",
    "WebhookEventType",
    "WebhookList",
)
