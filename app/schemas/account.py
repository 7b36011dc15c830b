"""Closing an account: deletion with its grace period, and the safety exit."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from app.models.users import User
from app.schemas.common import UtcDateTime


class AccountDeletion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: SecretStr = Field(
        min_length=1, max_length=1024, description="The account's password: the proof it is you."
    )


class SafetyExit(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        # `erase` needs the password (the API answers 422 `password-needed` without it).
        json_schema_extra={
            "if": {"properties": {"erase": {"const": True}}, "required": ["erase"]},
            "then": {"required": ["password"], "properties": {"password": {"type": "string"}}},
        },
    )

    erase: bool = Field(
        default=False, description="Also delete the account (first-party apps; needs `password`)."
    )
    password: SecretStr | None = Field(default=None, min_length=1, max_length=1024)


class AccountState(BaseModel):
    status: Literal["active", "pending_erasure"] = Field(
        description="`pending_erasure`: closed now, erased at `erase_after` unless you sign in."
    )
    erase_after: UtcDateTime | None = None

    @classmethod
    def of(cls, user: User) -> Self:
        if user.deactivated_at is not None and user.erase_after is not None:
            return cls(status="pending_erasure", erase_after=user.erase_after)
        return cls(status="active")
