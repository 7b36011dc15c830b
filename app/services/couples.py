"""Pairing: create a couple, invite, join, configure, leave.

Rules: a person is in at most one active couple; invite codes are single use, expire, can be
revoked and are stored as keyed hashes; leaving ends the couple for both and deletes nothing.
After a safety exit (`CoupleBlock`) the two people can never pair again: an invite between
them answers exactly as an unknown code does. Every end is recorded at the start of the
couple's local day, so nobody learns when, or how, the other left.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events import append_event
from app.core.problems import Conflict, NotFound, ProblemError
from app.core.security import Member
from app.models.base import utcnow
from app.models.couples import Couple, CoupleBlock, CoupleMember, CoupleStatus, Invite
from app.models.events import Event
from app.models.users import User
from app.schemas.couples import CoupleCreate, CoupleUpdate
from app.services.repair_closing import end_with_couple
from app.services.users import get_user

# No look-alikes: 0/O, 1/I/L are left out so codes survive being read aloud or retyped.
INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
INVITE_LENGTH = 8
INVITE_TTL = timedelta(hours=72)


class NoCouple(NotFound):
    slug = "no-couple"
    title = "You are not in a couple"


class AlreadyInCouple(Conflict):
    slug = "already-in-couple"
    title = "You are already in a couple"


class CoupleFull(Conflict):
    slug = "couple-full"
    title = "This couple already has two partners"


class OwnInvite(Conflict):
    slug = "own-invite"
    title = "This invite is for your partner"


class InviteNotFound(NotFound):
    slug = "invite-not-found"
    title = "No invite has this code"


INVITE_NOT_FOUND = "Check the code with your partner, or ask them for a new one."


class InviteGone(ProblemError):
    status = 410
    slug = "invite-unusable"
    title = "This invite can no longer be used"


@dataclass
class CoupleView:
    couple: Couple
    members: list[tuple[CoupleMember, str]]
    pending_invite: Invite | None


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


def normalise_code(code: str) -> str | None:
    """Upper-case and drop separators; None when it cannot be one of our codes."""
    cleaned = "".join(ch for ch in code.upper() if ch not in " -_")
    if len(cleaned) != INVITE_LENGTH or any(ch not in INVITE_ALPHABET for ch in cleaned):
        return None
    return cleaned


def code_hash(code: str, secret_key: str) -> str:
    """Keyed by the app's secret: with ~10^12 possible codes a plain hash could be reversed."""
    return hmac.new(secret_key.encode(), code.encode(), hashlib.sha256).hexdigest()


async def active_membership(session: AsyncSession, user_id: uuid.UUID) -> CoupleMember | None:
    return await session.scalar(select(CoupleMember).where(CoupleMember.active_user_id == user_id))


async def require_couple(session: AsyncSession, user_id: uuid.UUID) -> Couple:
    couple = await session.scalar(
        select(Couple)
        .join(CoupleMember, CoupleMember.couple_id == Couple.id)
        .where(CoupleMember.active_user_id == user_id)
    )
    if couple is None:
        raise NoCouple("Create a couple or join one with your partner's invite code.")
    return couple


async def load_view(session: AsyncSession, couple: Couple) -> CoupleView:
    rows = await session.execute(
        select(CoupleMember, User.display_name)
        .join(User, User.id == CoupleMember.user_id)
        .where(CoupleMember.couple_id == couple.id)
        .order_by(CoupleMember.joined_at)
    )
    members = [(member, name) for member, name in rows]
    pending = None
    if couple.status is CoupleStatus.active and len(members) < 2:
        pending = await session.scalar(
            select(Invite)
            .where(
                Invite.couple_id == couple.id,
                Invite.used_at.is_(None),
                Invite.revoked_at.is_(None),
                Invite.expires_at > utcnow(),
            )
            .order_by(Invite.created_at.desc())
            .limit(1)
        )
    return CoupleView(couple=couple, members=members, pending_invite=pending)


async def get_my_couple(session: AsyncSession, me: Member) -> CoupleView:
    return await load_view(session, await require_couple(session, me.user_id))


async def _add_member(session: AsyncSession, couple: Couple, user_id: uuid.UUID) -> None:
    session.add(CoupleMember(couple_id=couple.id, user_id=user_id, active_user_id=user_id))
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # the same person joined another couple concurrently
        raise AlreadyInCouple("Leave your current couple first.") from None


async def _issue_invite(
    session: AsyncSession, couple: Couple, user_id: uuid.UUID, secret_key: str
) -> tuple[Invite, str]:
    # One live invite at a time: a new one replaces any earlier pending code.
    now = utcnow()
    await session.execute(
        update(Invite)
        .where(Invite.couple_id == couple.id, Invite.used_at.is_(None), Invite.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    code = new_invite_code()
    invite = Invite(
        couple_id=couple.id,
        code_hash=code_hash(code, secret_key),
        created_by=user_id,
        created_at=now,
        expires_at=now + INVITE_TTL,
    )
    session.add(invite)
    await session.flush()
    return invite, code


async def create_couple(
    session: AsyncSession,
    me: Member,
    settings: CoupleCreate | None = None,
    *,
    secret_key: str,
) -> tuple[CoupleView, Invite, str]:
    """A couple with me as its first partner, in my time zone and language unless `settings`
    say otherwise, and an invite for my partner."""
    user = await get_user(session, me)
    if await active_membership(session, user.id) is not None:
        raise AlreadyInCouple("Leave your current couple before starting a new one.")
    couple = Couple(created_by=user.id, timezone=user.timezone, locale=user.locale)
    if settings is not None:
        _apply_settings(couple, settings)
    session.add(couple)
    await session.flush()
    await _add_member(session, couple, user.id)
    invite, code = await _issue_invite(session, couple, user.id, secret_key)
    await append_event(session, "couple.created", user_id=user.id, couple_id=couple.id)
    return await load_view(session, couple), invite, code


async def issue_invite(session: AsyncSession, me: Member, *, secret_key: str) -> tuple[Invite, str]:
    couple = await require_couple(session, me.user_id)
    view = await load_view(session, couple)
    if len(view.members) >= 2:
        raise CoupleFull("Your couple is complete; there is nobody left to invite.")
    return await _issue_invite(session, couple, me.user_id, secret_key)


async def revoke_invite(session: AsyncSession, me: Member, invite_id: uuid.UUID) -> None:
    couple = await require_couple(session, me.user_id)
    invite = await session.scalar(
        select(Invite).where(Invite.id == invite_id, Invite.couple_id == couple.id)
    )
    if invite is None:
        raise InviteNotFound("Your couple has no invite with this id.")
    if invite.used_at is None and invite.revoked_at is None:
        invite.revoked_at = utcnow()
        await session.flush()


async def join_couple(
    session: AsyncSession, me: Member, raw_code: str, *, secret_key: str
) -> CoupleView:
    user_id = me.user_id
    code = normalise_code(raw_code)
    invite = (
        await session.scalar(select(Invite).where(Invite.code_hash == code_hash(code, secret_key)))
        if code
        else None
    )
    if invite is None or await _blocked_from(session, invite, user_id):
        raise InviteNotFound(INVITE_NOT_FOUND)
    if invite.revoked_at is not None:
        raise InviteGone(
            "This invite was withdrawn. Ask your partner for a new code.", reason="revoked"
        )
    if invite.used_at is not None:
        raise InviteGone(
            "This invite was already used. Ask your partner for a new code.", reason="used"
        )
    if invite.expires_at <= utcnow():
        raise InviteGone(
            "This invite has expired. Ask your partner for a new code.", reason="expired"
        )
    couple = await session.get(Couple, invite.couple_id)
    assert couple is not None  # the invite's foreign key guarantees it
    mine = await active_membership(session, user_id)
    if mine is not None:
        if mine.couple_id == couple.id:
            raise OwnInvite("This code is for your partner to join you.")
        raise AlreadyInCouple("Leave your current couple before joining another.")
    if couple.status is not CoupleStatus.active:
        raise InviteGone("This couple has ended.", reason="ended")
    view = await load_view(session, couple)
    if len(view.members) >= 2:
        raise CoupleFull("This couple already has two partners.")
    # Claim the invite atomically: of two people racing with the same code, one wins.
    claimed = await session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None))
        .values(used_at=utcnow(), used_by=user_id)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise InviteGone(
            "This invite was already used. Ask your partner for a new code.", reason="used"
        )
    await _add_member(session, couple, user_id)
    await append_event(session, "couple.joined", user_id=user_id, couple_id=couple.id)
    return await load_view(session, couple)


def _apply_settings(couple: Couple, data: CoupleUpdate) -> dict[str, object]:
    changes = data.model_dump(exclude_unset=True)
    for name in ("timezone", "locale", "max_depth", "enabled_libraries"):
        if name in changes and changes[name] is None:
            del changes[name]  # these cannot be cleared, only changed
    if "enabled_libraries" in changes:
        changes["enabled_libraries"] = list(dict.fromkeys(changes["enabled_libraries"]))
    for name, value in changes.items():
        setattr(couple, name, value)
    return changes


async def update_couple(session: AsyncSession, couple: Couple, data: CoupleUpdate) -> Couple:
    changes = _apply_settings(couple, data)
    if changes:
        await session.flush()
        await append_event(session, "couple.updated", couple_id=couple.id)
    return couple


async def leave_couple(session: AsyncSession, me: Member, now: datetime) -> None:
    """End the couple for both partners. Nothing is deleted; no reason is recorded."""
    couple = await require_couple(session, me.user_id)
    await end_couple(session, couple, me.user_id, now)


async def leave_any_couple(
    session: AsyncSession, user_id: uuid.UUID, now: datetime
) -> Couple | None:
    """End the person's couple if they are in one (deactivation, safety exit)."""
    couple = await session.scalar(
        select(Couple)
        .join(CoupleMember, CoupleMember.couple_id == Couple.id)
        .where(CoupleMember.active_user_id == user_id)
    )
    if couple is not None:
        await end_couple(session, couple, user_id, now)
    return couple


def start_of_local_day(moment: datetime, timezone: str) -> datetime:
    """The first instant of `moment`'s date in `timezone`, in UTC."""
    zone = ZoneInfo(timezone)
    return datetime.combine(moment.astimezone(zone).date(), time(), zone).astimezone(UTC)


async def end_couple(
    session: AsyncSession, couple: Couple, user_id: uuid.UUID, now: datetime
) -> None:
    """The one way a couple ends, whatever the cause: what the partner sees is the same
    neutral `couple.ended`, dated to the local day only."""
    ended = start_of_local_day(now, couple.timezone)
    seq_before = await session.scalar(select(func.max(Event.seq))) or 0
    couple.status = CoupleStatus.ended
    couple.ended_at = ended
    await session.execute(
        update(CoupleMember).where(CoupleMember.couple_id == couple.id).values(active_user_id=None)
    )
    await session.execute(
        update(Invite)
        .where(Invite.couple_id == couple.id, Invite.used_at.is_(None), Invite.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.flush()
    await end_with_couple(session, couple.id, user_id, ended)
    await append_event(
        session,
        "couple.ended",
        user_id=user_id,
        couple_id=couple.id,
        ended_on=ended.astimezone(ZoneInfo(couple.timezone)).date().isoformat(),
    )
    # The events written by this end carry the day too, not the moment.
    await session.execute(
        update(Event)
        .where(
            Event.couple_id == couple.id,
            Event.type.in_(("couple.ended", "repair_plan.abandoned")),
            Event.seq > seq_before,
        )
        .values(occurred_at=ended)
    )


async def block_pairing(
    session: AsyncSession, blocker_id: uuid.UUID, blocked_id: uuid.UUID
) -> None:
    """`blocked_id` can never pair with `blocker_id` again (idempotent)."""
    exists = await session.scalar(
        select(CoupleBlock.id).where(
            CoupleBlock.blocker_id == blocker_id, CoupleBlock.blocked_id == blocked_id
        )
    )
    if exists is None:
        session.add(CoupleBlock(blocker_id=blocker_id, blocked_id=blocked_id))
        await session.flush()


async def _blocked_from(session: AsyncSession, invite: Invite, user_id: uuid.UUID) -> bool:
    """Whether a block stands between the joiner and anyone in the invite's couple."""
    others = select(CoupleMember.user_id).where(CoupleMember.couple_id == invite.couple_id)
    found = await session.scalar(
        select(CoupleBlock.id)
        .where(
            or_(
                and_(CoupleBlock.blocker_id == user_id, CoupleBlock.blocked_id.in_(others)),
                and_(CoupleBlock.blocked_id == user_id, CoupleBlock.blocker_id.in_(others)),
            )
        )
        .limit(1)
    )
    return found is not None
