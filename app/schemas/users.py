"""Users: sign-up, the profile, password change."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
)

from app.models.users import Role
from app.schemas.common import Locale, NewPassword, TimeZoneName, UtcDateTime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=320)
    password: NewPassword
    display_name: str = Field(min_length=1, max_length=80)
    timezone: TimeZoneName = "UTC"
    locale: Locale = "en"


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=80)
    timezone: TimeZoneName | None = None
    locale: Locale | None = None


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: SecretStr = Field(min_length=1, max_length=1024)
    new_password: NewPassword


def _verified(value: object) -> bool:
    """From a `User` (its `email_verified`) or a row (its `email_verified_at`)."""
    return value if isinstance(value, bool) else value is not None


class UserOut(BaseModel):
    """A person's own profile."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    email_verified: Annotated[bool, BeforeValidator(_verified)] = Field(
        validation_alias=AliasChoices("email_verified", "email_verified_at"),
        description="Whether the person followed the link mailed to `email` (sent at "
        "sign-up on the hosted pages, or with a password reset).",
    )
    display_name: str
    timezone: str
    locale: str
    role: Role
    created_at: UtcDateTime
    updated_at: UtcDateTime
