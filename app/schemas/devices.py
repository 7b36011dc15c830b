"""Devices registered for push notifications, and a person's notification settings."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from app.models.push import NotificationKind, Platform, Provider
from app.schemas.common import Locale, UtcDateTime, whole_number

LocalTime = Annotated[
    str,
    StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$"),
    Field(description="A local wall-clock time, `HH:MM` (24 hours).", examples=["19:00"]),
]
PushToken = Annotated[
    str, StringConstraints(min_length=16, max_length=512, pattern=r"^[A-Za-z0-9_:\-.]+$")
]


class DeviceCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        # APNs serves iOS only, with hexadecimal tokens (the API answers 422 otherwise).
        json_schema_extra={
            "if": {"properties": {"provider": {"const": "apns"}}, "required": ["provider"]},
            "then": {
                "properties": {
                    "platform": {"const": "ios"},
                    "token": {"pattern": "^[0-9A-Fa-f]+$"},
                }
            },
        },
    )

    token: PushToken = Field(
        description="The APNs device token (hex) or the FCM registration token."
    )
    provider: Provider = Field(description="`apns` (iOS only) or `fcm` (Android or iOS).")
    platform: Platform
    app_version: Annotated[str, StringConstraints(max_length=32)] | None = None
    locale: Locale | None = Field(default=None, description="BCP 47, e.g. `de-CH`.")


class DeviceOut(BaseModel):
    id: uuid.UUID
    provider: Provider
    platform: Platform
    token_hint: str = Field(description="The token's last six characters, to tell devices apart.")
    app_version: str | None
    locale: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class NotificationSettingsOut(BaseModel):
    types: dict[NotificationKind, bool] = Field(
        description="Each kind of notification, on or off (all on by default)."
    )
    daily_prompt_time: LocalTime = Field(
        description="Local time (the couple's time zone) of the 'today's prompt' reminder."
    )
    quiet_hours_start: LocalTime | None = Field(
        description="Local start of quiet hours: news waits until they end, reminders are "
        "dropped. Both ends null: no quiet hours."
    )
    quiet_hours_end: LocalTime | None
    weekly_nudge_cap: int = Field(
        description="At most this many reminders (today's prompt, a repair step due) in any "
        "seven days."
    )
    timezone: str = Field(description="The time zone the local times are read in.")


class NotificationSettingsPatch(BaseModel):
    """Fields to change. Quiet hours change as a pair: both times, or both null (none)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "dependentRequired": {
                "quiet_hours_start": ["quiet_hours_end"],
                "quiet_hours_end": ["quiet_hours_start"],
            },
            "if": {"properties": {"quiet_hours_start": {"type": "null"}}},
            "then": {"properties": {"quiet_hours_end": {"type": "null"}}},
            "else": {"properties": {"quiet_hours_end": {"type": "string"}}},
        },
    )

    # Absent means unchanged; these three cannot be null (the schema says so: SkipJsonSchema).
    types: dict[NotificationKind, StrictBool] | SkipJsonSchema[None] = None
    daily_prompt_time: LocalTime | SkipJsonSchema[None] = None
    quiet_hours_start: LocalTime | None = None
    quiet_hours_end: LocalTime | None = None
    weekly_nudge_cap: (
        Annotated[int, Field(ge=0, le=21), BeforeValidator(whole_number)] | SkipJsonSchema[None]
    ) = None

    @field_validator("types", "daily_prompt_time", "weekly_nudge_cap", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null: leave it out to keep it")
        return value
