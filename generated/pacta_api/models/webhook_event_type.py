from enum import StrEnum


class WebhookEventType(StrEnum):
    DOCUMENT_CANCELLED = "DOCUMENT_CANCELLED"
    DOCUMENT_COMPLETED = "DOCUMENT_COMPLETED"
    DOCUMENT_CREATED = "DOCUMENT_CREATED"
    DOCUMENT_OPENED = "DOCUMENT_OPENED"
    DOCUMENT_REJECTED = "DOCUMENT_REJECTED"
    DOCUMENT_SENT = "DOCUMENT_SENT"
    DOCUMENT_SIGNED = "DOCUMENT_SIGNED"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> "WebhookEventType | None":
        """Keep a value this snapshot does not know: Pacta adds enum values over time."""
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member
