from enum import StrEnum


class SigningStatus(StrEnum):
    NOT_SIGNED = "NOT_SIGNED"
    REJECTED = "REJECTED"
    SIGNED = "SIGNED"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> "SigningStatus | None":
        """Keep a value this snapshot does not know: Pacta adds enum values over time."""
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member
