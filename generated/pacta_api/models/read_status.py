from enum import StrEnum


class ReadStatus(StrEnum):
    NOT_OPENED = "NOT_OPENED"
    OPENED = "OPENED"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> "ReadStatus | None":
        """Keep a value this snapshot does not know: Pacta adds enum values over time."""
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member
