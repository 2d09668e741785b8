"""One class per API area: `client.documents`, `client.templates`, `client.webhooks`."""

from .documents import Documents, Fields, Recipients
from .templates import Templates
from .webhooks import Webhooks

__all__ = ["Documents", "Fields", "Recipients", "Templates", "Webhooks"]
