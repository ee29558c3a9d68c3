from enum import StrEnum
from typing import Any


class UserStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: Any) -> "UserStatus | None":
        # cflow-async template: a server may add statuses the document does not list
        # (say "on_hold"). Keep the value as a pseudo-member instead of raising, so one
        # new status never makes a whole response unreadable.
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        return member
