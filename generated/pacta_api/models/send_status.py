from enum import StrEnum


class SendStatus(StrEnum):
    NOT_SENT = "NOT_SENT"
    SENT = "SENT"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> "SendStatus | None":
        """Keep a value this snapshot does not know: Pacta adds enum values over time."""
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member
