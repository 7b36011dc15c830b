"""A person's notification settings: which kinds, when the daily reminder comes, quiet hours
and the weekly cap on reminders. Local times are read in the couple's time zone (the
person's own while they are not in a couple)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import FieldError, UnprocessableContent
from app.core.security import Member
from app.models.couples import Couple, CoupleMember, CoupleStatus
from app.models.push import NotificationKind, NotificationSettings
from app.models.users import User
from app.schemas.devices import NotificationSettingsPatch
from app.services.devices import require_first_party

DEFAULT_DAILY_PROMPT_TIME = time(19, 0)
DEFAULT_QUIET_START = time(22, 0)
DEFAULT_QUIET_END = time(8, 0)
DEFAULT_WEEKLY_NUDGE_CAP = 7
KINDS = tuple(NotificationKind)


def defaults(user_id: uuid.UUID) -> NotificationSettings:
    return NotificationSettings(
        user_id=user_id,
        enabled={},
        daily_prompt_time=DEFAULT_DAILY_PROMPT_TIME,
        quiet_hours_start=DEFAULT_QUIET_START,
        quiet_hours_end=DEFAULT_QUIET_END,
        weekly_nudge_cap=DEFAULT_WEEKLY_NUDGE_CAP,
    )


def is_on(settings: NotificationSettings, kind: NotificationKind) -> bool:
    return bool((settings.enabled or {}).get(kind.value, True))


@dataclass(frozen=True, slots=True)
class Effective:
    settings: NotificationSettings
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


async def effective_timezone(session: AsyncSession, user_id: uuid.UUID) -> str:
    couple_zone = await session.scalar(
        select(Couple.timezone)
        .join(CoupleMember, CoupleMember.couple_id == Couple.id)
        .where(CoupleMember.active_user_id == user_id, Couple.status == CoupleStatus.active)
    )
    if couple_zone:
        return couple_zone
    return await session.scalar(select(User.timezone).where(User.id == user_id)) or "UTC"


async def load(session: AsyncSession, user_id: uuid.UUID) -> Effective:
    row = await session.get(NotificationSettings, user_id)
    return Effective(row or defaults(user_id), await effective_timezone(session, user_id))


async def get_settings(session: AsyncSession, me: Member) -> Effective:
    await require_first_party(session, me)
    return await load(session, me.user_id)


def _minute(value: str) -> time:
    return time.fromisoformat(value)


def shown(value: time | None) -> str | None:
    """A stored local time as the API writes it: `HH:MM`."""
    return None if value is None else value.strftime("%H:%M")


async def update_settings(
    session: AsyncSession, me: Member, patch: NotificationSettingsPatch
) -> Effective:
    await require_first_party(session, me)
    given = patch.model_fields_set  # null for the other fields is refused by the schema
    row = await session.get(NotificationSettings, me.user_id, with_for_update=True)
    if row is None:
        row = defaults(me.user_id)
        session.add(row)
        await session.flush()  # stored first: a None set on a new row would take the default
    if patch.types is not None:
        row.enabled = {**(row.enabled or {}), **{k.value: v for k, v in patch.types.items()}}
    if patch.daily_prompt_time is not None:
        row.daily_prompt_time = _minute(patch.daily_prompt_time)
    if patch.weekly_nudge_cap is not None:
        row.weekly_nudge_cap = patch.weekly_nudge_cap
    pair = {"quiet_hours_start", "quiet_hours_end"} & given
    if pair:
        start, end = patch.quiet_hours_start, patch.quiet_hours_end
        if len(pair) != 2 or (start is None) != (end is None):
            raise UnprocessableContent(
                "Quiet hours change as a pair: a start and an end, or both null (none).",
                errors=[
                    FieldError(pointer="#/quiet_hours_end", detail="set both ends, or neither")
                ],
            )
        row.quiet_hours_start = _minute(start) if start is not None else None
        row.quiet_hours_end = _minute(end) if end is not None else None
    await session.flush()
    return Effective(row, await effective_timezone(session, me.user_id))
