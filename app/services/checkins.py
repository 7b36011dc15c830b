"""Check-ins: record how you feel, keep it private or share it with your partner.

Privacy rules, held inside every query: a private check-in is read by its author alone, and
through a third-party app only with `checkins:private` (`services/private_writing.py`: each
such read goes to the author's access log); without it, private check-ins are absent from
lists and unknown to single reads, changes and deletions. A shared one is also read by the
other partner of the couple it was written in, while that couple is active.

Content can change, and a check-in can be deleted (for good), within 24 hours of writing;
who sees it can change at any time. Private check-ins leave no event behind.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    ScalarSelect,
    and_,
    delete,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events import append_event
from app.core.pagination import PageQuery, Window, paginate
from app.core.problems import Conflict, Forbidden, NotFound
from app.core.security import Member
from app.models.access_log import PrivateKind
from app.models.answers import Reflection, ReflectionKind
from app.models.checkins import CheckIn, Visibility
from app.models.couples import CoupleMember
from app.models.users import User
from app.schemas.checkins import CheckInIn, CheckInUpdate
from app.services.private_writing import PrivateReader, resolve
from app.services.vocabularies import check_terms, distinct

TARGET_TYPE = "checkin"


class CheckInNotFound(NotFound):
    slug = "checkin-not-found"
    title = "Check-in not found"


class EditWindowClosed(Conflict):
    slug = "checkin-edit-window-closed"
    title = "This check-in can no longer be changed"


class OwnCheckIn(Forbidden):
    slug = "own-checkin"
    title = "Reflections are for your partner's check-ins"


class NobodyToShareWith(Conflict):
    slug = "checkin-not-shareable"
    title = "There is no partner to share this check-in with"


def local_date_in(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def active_couple_of(user_id: uuid.UUID | BindParameter[Any]) -> ScalarSelect[uuid.UUID]:
    return (
        select(CoupleMember.couple_id)
        .where(CoupleMember.active_user_id == user_id)
        .scalar_subquery()
    )


def own_checkins(user_id: uuid.UUID | BindParameter[Any], own_private: bool) -> ColumnElement[bool]:
    if own_private:
        return CheckIn.user_id == user_id
    return and_(CheckIn.user_id == user_id, CheckIn.visibility == Visibility.partner)


def visible_to(user_id: uuid.UUID, *, own_private: bool = True) -> ColumnElement[bool]:
    """Check-ins this person may know exist: their own (the private ones only when
    `own_private`), and their current partner's shared ones written in their current
    couple."""
    return or_(
        own_checkins(user_id, own_private),
        and_(
            CheckIn.visibility == Visibility.partner,
            CheckIn.couple_id == active_couple_of(user_id),
        ),
    )


async def _find_visible(
    session: AsyncSession, reader: PrivateReader, checkin_id: uuid.UUID
) -> CheckIn:
    own_private = reader.may_read(PrivateKind.checkin)
    checkin = await session.scalar(
        select(CheckIn).where(
            CheckIn.id == checkin_id, visible_to(reader.member.user_id, own_private=own_private)
        )
    )
    if checkin is None:
        raise CheckInNotFound("No check-in with this id is visible to you.")
    return checkin


def _private_count(reader: PrivateReader, checkins: list[CheckIn]) -> int:
    user_id = reader.member.user_id
    return sum(1 for c in checkins if c.visibility is Visibility.private and c.user_id == user_id)


async def get_checkin(session: AsyncSession, me: Member, checkin_id: uuid.UUID) -> CheckIn:
    reader = await resolve(session, me)
    checkin = await _find_visible(session, reader, checkin_id)
    await reader.record(
        session, PrivateKind.checkin, _private_count(reader, [checkin]), "checkins_get"
    )
    return checkin


async def get_own_checkin(session: AsyncSession, me: Member, checkin_id: uuid.UUID) -> CheckIn:
    """The author's check-in, to change or delete it: a private one only for a caller who
    may read it (the change's response shows it)."""
    conditions = [CheckIn.id == checkin_id, CheckIn.user_id == me.user_id]
    if not (await resolve(session, me)).may_read(PrivateKind.checkin):
        conditions.append(CheckIn.visibility == Visibility.partner)
    checkin = await session.scalar(select(CheckIn).where(*conditions))
    if checkin is None:
        raise CheckInNotFound("You have no check-in with this id; only its author can change it.")
    return checkin


async def _event(session: AsyncSession, type: str, checkin: CheckIn) -> None:
    await append_event(
        session, type, user_id=checkin.user_id, couple_id=checkin.couple_id, checkin_id=checkin.id
    )


async def create_checkin(
    session: AsyncSession, me: Member, data: CheckInIn, now: datetime
) -> CheckIn:
    check_terms(emotions=data.emotions, needs=data.needs)
    row = (
        await session.execute(
            select(User.timezone, CoupleMember.couple_id)
            .outerjoin(CoupleMember, CoupleMember.active_user_id == User.id)
            .where(User.id == me.user_id)
        )
    ).first()
    if row is None:
        raise NotFound("This account no longer exists.")
    timezone, couple_id = row
    shared = data.visibility is Visibility.partner
    if shared and couple_id is None:
        raise NobodyToShareWith(
            "You are not in a couple: keep this check-in private, or pair with your partner first."
        )
    checkin = CheckIn(
        user_id=me.user_id,
        couple_id=couple_id,
        mood=data.mood,
        emotions=distinct(data.emotions),
        needs=distinct(data.needs),
        note=data.note,
        request=data.request,
        visibility=data.visibility,
        local_date=local_date_in(timezone, now),
        created_at=now,
        updated_at=now,
        shared_at=now if shared else None,
    )
    session.add(checkin)
    await session.flush()
    if shared:
        await _event(session, "checkin.shared", checkin)
    return checkin


async def _require_shareable(session: AsyncSession, checkin: CheckIn) -> None:
    current = await session.scalar(
        select(CoupleMember.couple_id).where(CoupleMember.active_user_id == checkin.user_id)
    )
    if checkin.couple_id is None or current != checkin.couple_id:
        raise NobodyToShareWith(
            "A check-in is shared only with the partner of the couple you were in when you "
            "wrote it, while that couple lasts."
        )


async def update_checkin(
    session: AsyncSession, checkin: CheckIn, data: CheckInUpdate, now: datetime
) -> CheckIn:
    changes = data.model_dump(exclude_unset=True)
    for name in ("mood", "emotions", "needs", "visibility"):
        if name in changes and changes[name] is None:
            del changes[name]  # these cannot be cleared, only changed
    check_terms(emotions=changes.get("emotions", ()), needs=changes.get("needs", ()))
    for name in ("emotions", "needs"):
        if name in changes:
            changes[name] = distinct(changes[name])
    visibility = changes.pop("visibility", checkin.visibility)
    content = {name: value for name, value in changes.items() if getattr(checkin, name) != value}
    if content and now >= checkin.editable_until:
        raise EditWindowClosed(
            "A check-in's content can be changed within 24 hours of writing it; you can still "
            "change who sees it.",
            editable_until=checkin.editable_until.isoformat(),
        )
    was_shared = checkin.visibility is Visibility.partner
    sharing = visibility is Visibility.partner and not was_shared
    if sharing:
        await _require_shareable(session, checkin)
    if not content and visibility is checkin.visibility:
        return checkin
    for name, value in content.items():
        setattr(checkin, name, value)
    checkin.visibility = visibility
    checkin.updated_at = now
    if sharing:
        checkin.shared_at = now
    elif was_shared and visibility is Visibility.private:
        checkin.shared_at = None
    await session.flush()
    if sharing:
        await _event(session, "checkin.shared", checkin)
    elif was_shared and visibility is Visibility.private:
        await _event(session, "checkin.unshared", checkin)
    elif was_shared:
        await _event(session, "checkin.updated", checkin)
    return checkin


async def delete_checkin(session: AsyncSession, checkin: CheckIn, now: datetime) -> None:
    """Delete for good, with the reflections left on it: nothing of it is kept."""
    if now >= checkin.editable_until:
        raise EditWindowClosed(
            "A check-in can be deleted within 24 hours of writing it; you can still make it "
            "private.",
            editable_until=checkin.editable_until.isoformat(),
        )
    was_shared = checkin.visibility is Visibility.partner
    await session.execute(
        delete(Reflection).where(
            Reflection.target_type == TARGET_TYPE, Reflection.target_id == checkin.id
        )
    )
    await session.delete(checkin)
    await session.flush()
    if was_shared:  # the partner's app must drop its copy
        await _event(session, "checkin.deleted", checkin)


def _in_dates(since: date | None, until: date | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(CheckIn.local_date >= since)
    if until is not None:
        conditions.append(CheckIn.local_date <= until)
    return conditions


async def list_mine(
    session: AsyncSession,
    me: Member,
    params: PageQuery,
    *,
    since: date | None = None,
    until: date | None = None,
) -> Window[CheckIn]:
    """My check-ins, private (for a caller who may read them) and shared, in every couple or
    none, newest first."""
    reader = await resolve(session, me)
    own = own_checkins(me.user_id, reader.may_read(PrivateKind.checkin))
    window = await paginate(
        session,
        select(CheckIn).where(own, *_in_dates(since, until)),
        order=(CheckIn.created_at, CheckIn.id),
        params=params,
        descending=True,
    )
    await reader.record(
        session, PrivateKind.checkin, _private_count(reader, window.items), "checkins_list"
    )
    return window


async def add_reflection(
    session: AsyncSession,
    me: Member,
    checkin_id: uuid.UUID,
    kind: ReflectionKind,
    text: str,
    now: datetime,
) -> Reflection:
    checkin = await _find_visible(session, await resolve(session, me), checkin_id)
    if checkin.user_id == me.user_id:
        raise OwnCheckIn("Only your partner can reflect on your check-in.")
    assert checkin.couple_id is not None  # a partner sees only check-ins shared in a couple
    reflection = Reflection(
        target_type=TARGET_TYPE,
        target_id=checkin.id,
        couple_id=checkin.couple_id,
        author_id=me.user_id,
        kind=kind,
        text=text,
        created_at=now,
    )
    session.add(reflection)
    await session.flush()
    await append_event(
        session,
        "reflection.created",
        user_id=me.user_id,
        couple_id=checkin.couple_id,
        reflection_id=reflection.id,
        target_type=TARGET_TYPE,
        target_id=checkin.id,
    )
    return reflection


async def list_reflections(
    session: AsyncSession, me: Member, checkin_id: uuid.UUID
) -> list[Reflection]:
    """Reflections on a check-in, for whoever may see it: once it is private again, only its
    author sees them (the reflections are the partner's words: listing them reads no private
    writing, and is not logged)."""
    await _find_visible(session, await resolve(session, me), checkin_id)
    return list(
        await session.scalars(
            select(Reflection)
            .where(Reflection.target_type == TARGET_TYPE, Reflection.target_id == checkin_id)
            .order_by(Reflection.created_at, Reflection.id)
        )
    )
