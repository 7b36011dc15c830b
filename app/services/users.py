"""Accounts: sign-up, profile, password change."""

from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import JSON, String, Table, Update, Uuid, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import live_broker
from app.core.events import append_event, event_values
from app.core.hot_reads import HotQuery, HotReader
from app.core.passwords import Passwords
from app.core.problems import (
    Conflict,
    FieldError,
    NotFound,
    ProblemError,
    RateLimited,
    UnprocessableContent,
)
from app.core.ratelimit import RateLimiter
from app.core.revocation_log import Reason, revoke
from app.core.security import Member
from app.models.base import UTCDateTime, utcnow
from app.models.events import Event
from app.models.oauth import AuthorizationCode, RefreshToken
from app.models.users import Role, User
from app.schemas.users import PasswordChange, UserCreate, UserOut, UserUpdate


class EmailTaken(Conflict):
    slug = "email-taken"
    title = "This email is already registered"


class WeakPassword(UnprocessableContent):
    slug = "weak-password"
    title = "Choose another password"


class WrongPassword(UnprocessableContent):
    slug = "wrong-password"
    title = "The current password is not correct"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_rules(password: str, email: str, field: str) -> None:
    if password.strip().lower() == normalise_email(email):
        raise WeakPassword(
            "The password must not be your email address.",
            errors=[FieldError(pointer=f"#/{field}", detail="must not be the email address")],
        )


async def create_user(
    session: AsyncSession, data: UserCreate, *, passwords: Passwords, role: Role = Role.member
) -> User:
    password = data.password.get_secret_value()
    check_password_rules(password, data.email, "password")
    normalised = normalise_email(data.email)
    if await session.scalar(select(User.id).where(User.email_normalized == normalised)):
        raise EmailTaken("An account with this email exists. Sign in instead.")
    user = User(
        email=data.email.strip(),
        email_normalized=normalised,
        password_hash=await passwords.hash(password),
        display_name=data.display_name.strip(),
        timezone=data.timezone,
        locale=data.locale,
        role=role,
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # a concurrent sign-up with the same email won the race
        raise EmailTaken("An account with this email exists. Sign in instead.") from None
    await append_event(session, "user.created", user_id=user.id)
    return user


async def get_user(session: AsyncSession, me: Member) -> User:
    user = await session.get(User, me.user_id)
    if user is None:
        raise NotFound("This account no longer exists.")
    return user


_PROFILE_COLUMNS = (
    User.id,
    User.email,
    User.display_name,
    User.timezone,
    User.locale,
    User.role,
    User.created_at,
    User.updated_at,
    User.email_verified_at,  # UserOut.email_verified (SQLite's RETURNING got `IS NOT NULL` wrong)
)


_EVENTS = cast(Table, Event.__table__)
_PROFILE = HotQuery(select(*_PROFILE_COLUMNS).where(User.id == bindparam("user_id")))
_PROFILE_FOR_UPDATE = (
    select(*_PROFILE_COLUMNS).where(User.id == bindparam("user_id")).with_for_update()
)


async def get_profile(reader: HotReader, me: Member) -> UserOut:
    """The profile every app reads on every launch: one hot read, no session, no ORM."""
    row = await reader.one(_PROFILE, user_id=me.user_id)
    if row is None:
        raise NotFound("This account no longer exists.")
    return UserOut.model_validate(row)


async def lock_profile(session: AsyncSession, me: Member) -> UserOut:
    """The profile as it stands, its row locked until the transaction ends, so that an
    `If-Match` checked against it still holds when the change is written. Core on the
    session's connection: no ORM entity to build, track and flush."""
    connection = await session.connection()
    row = (await connection.execute(_PROFILE_FOR_UPDATE, {"user_id": me.user_id})).first()
    if row is None:
        raise NotFound("This account no longer exists.")
    return UserOut.model_validate(row._mapping)


@functools.cache
def _profile_update(columns: frozenset[str]) -> Update:
    """The UPDATE … RETURNING of these profile columns, built once per set of columns (a
    handful: display name, time zone, locale), with every value a bound parameter."""
    return (
        update(User)
        .where(User.id == bindparam("user_id"))
        .values({name: bindparam(name) for name in sorted(columns)})
        .values(updated_at=bindparam("updated_at_value"))
        .returning(*_PROFILE_COLUMNS)
    )


async def update_profile(
    session: AsyncSession, me: Member, data: UserUpdate, current: UserOut | None = None
) -> UserOut:
    """Apply a profile change with its `user.updated` event, in the caller's transaction:
    one UPDATE … RETURNING and the event's INSERT. `current` is the profile `lock_profile`
    returned when the caller checked a precondition against it; without one, nothing is
    read before the change."""
    changes = _profile_changes(data)
    if not changes:
        return current if current is not None else await lock_profile(session, me)
    connection = await session.connection()
    statement = _profile_update(frozenset(changes))
    row = (
        await connection.execute(
            statement, {**changes, "user_id": me.user_id, "updated_at_value": utcnow()}
        )
    ).first()
    if row is None:
        raise NotFound("This account no longer exists.")
    await append_event(session, "user.updated", user_id=me.user_id)
    return UserOut.model_validate(row._mapping)


@functools.cache
def _profile_change_with_event(columns: frozenset[str]) -> HotQuery:
    """PostgreSQL: `_profile_update` and its `user.updated` event's INSERT as one statement
    (the event is written only when the UPDATE found the row), built once per set of columns."""
    changed = _profile_update(columns).cte("changed")
    event = select(
        bindparam("event_id", type_=Uuid()),
        bindparam("event_type", type_=String()),
        bindparam("occurred_at", type_=UTCDateTime()),
        changed.c.id,
        bindparam("event_data", type_=JSON()),
    ).select_from(changed)
    recorded = insert(_EVENTS).from_select(["id", "type", "occurred_at", "user_id", "data"], event)
    return HotQuery(select(changed).add_cte(recorded.cte("recorded")))


async def change_profile(writer: HotReader, me: Member, data: UserUpdate) -> UserOut:
    """`update_profile` without a precondition, on PostgreSQL: the change and its event in one
    statement, committed on its own (one round trip, no session)."""
    changes = _profile_changes(data)
    if not changes:
        return await get_profile(writer, me)
    event = event_values("user.updated", user_id=me.user_id, couple_id=None)
    row = await writer.commit_one(
        _profile_change_with_event(frozenset(changes)),
        **changes,
        user_id=me.user_id,
        updated_at_value=event["occurred_at"],
        event_id=event["id"],
        event_type=event["type"],
        occurred_at=event["occurred_at"],
        event_data=json.dumps(event["data"]),  # the driver's codec takes JSON text
    )
    if row is None:
        raise NotFound("This account no longer exists.")
    live_broker.committed(writer.url, user_id=me.user_id, couple_id=None)
    return UserOut.model_validate(row)


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email_normalized == normalise_email(email)))


def _profile_changes(data: UserUpdate) -> dict[str, object]:
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "display_name" in changes:
        changes["display_name"] = changes["display_name"].strip()
    return changes


async def confirm_password(
    user: User,
    password: str,
    *,
    passwords: Passwords,
    limiter: RateLimiter,
    refused: ProblemError,
) -> None:
    """Raise `refused` for a wrong password, and a 429 once `limiter.limit` wrong ones were
    typed in its window (a right one is not counted)."""
    key = f"user:{user.id}"
    attempt = await limiter.hit(key)
    if not attempt.allowed:
        error = RateLimited(attempt.retry_after)
        error.headers.update(attempt.headers())
        raise error
    if not await passwords.verify(user.password_hash, password):
        raise refused
    await limiter.refund(key)


async def change_password(
    session: AsyncSession,
    user: User,
    data: PasswordChange,
    *,
    passwords: Passwords,
    limiter: RateLimiter,
) -> None:
    wrong = WrongPassword(
        "The current password is not correct.",
        errors=[FieldError(pointer="#/current_password", detail="is not correct")],
    )
    current = data.current_password.get_secret_value()
    await confirm_password(user, current, passwords=passwords, limiter=limiter, refused=wrong)
    new_password = data.new_password.get_secret_value()
    check_password_rules(new_password, user.email, "new_password")
    await replace_password(session, user, new_password, passwords=passwords)


async def replace_password(
    session: AsyncSession, user: User, new_password: str, *, passwords: Passwords
) -> None:
    """Set a new password and close every way in the old one opened: sign-in sessions (they
    end at `password_changed_at`), authorization codes not yet exchanged, refresh and access
    tokens."""
    moment = utcnow()  # the real moment, like the revocation's: it bounds sign-in sessions
    user.password_hash = await passwords.hash(new_password)
    user.password_changed_at = moment
    await spend_authorization_codes(session, user.id, moment)
    await revoke_refresh_tokens(session, user.id)
    await revoke(session, reason=Reason.password_changed, user_id=user.id)
    await session.flush()
    await append_event(session, "user.password_changed", user_id=user.id)


async def spend_authorization_codes(
    session: AsyncSession, user_id: uuid.UUID, moment: datetime
) -> None:
    """A code not yet exchanged would mint tokens after a revocation: spend it."""
    await session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.user_id == user_id, AuthorizationCode.used_at.is_(None))
        .values(used_at=moment)
    )


async def revoke_refresh_tokens(
    session: AsyncSession, user_id: uuid.UUID, *, client_id: str | None = None
) -> None:
    """Revoke every live refresh token of a person (of one client, when given)."""
    statement = (
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if client_id is not None:
        statement = statement.where(RefreshToken.client_id == client_id)
    await session.execute(statement)
