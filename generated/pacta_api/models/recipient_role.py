from enum import StrEnum


class RecipientRole(StrEnum):
    APPROVER = "APPROVER"
    ASSISTANT = "ASSISTANT"
    CC = "CC"
    SIGNER = "SIGNER"
    VIEWER = "VIEWER"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> "RecipientRole | None":
        """Keep a value this snapshot does not know: Pacta adds enum values over time."""
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member
