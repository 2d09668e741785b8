from enum import StrEnum


class FieldType(StrEnum):
    CHECKBOX = "CHECKBOX"
    DATE = "DATE"
    DROPDOWN = "DROPDOWN"
    EMAIL = "EMAIL"
    FREE_SIGNATURE = "FREE_SIGNATURE"
    INITIALS = "INITIALS"
    NAME = "NAME"
    NUMBER = "NUMBER"
    RADIO = "RADIO"
    SIGNATURE = "SIGNATURE"
    TEXT = "TEXT"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> "FieldType | None":
        """Keep a value this snapshot does not know: Pacta adds enum values over time."""
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member
