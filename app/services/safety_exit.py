"""The safety exit: one call that gets a person out of a couple, for good, without a trace.

Couples apps are also used in controlling relationships. The caller leaves the couple, every
token and sign-in session of theirs stops (on a phone the other person can reach, nothing stays
signed in), and the ex-partner can never pair with them again. The partner sees only the
neutral `couple.ended`, dated to the day like every other end: a safety exit cannot be told
from an ordinary unpair. With `erase`, the account's erasure starts as well.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.passwords import Passwords
from app.core.problems import FieldError, UnprocessableContent
from app.core.ratelimit import RateLimiter
from app.core.revocation_log import Reason
from app.core.security import Member
from app.models.couples import CoupleMember
from app.models.users import User
from app.services.couples import block_pairing
from app.services.erasure import check_password, deactivate, require_first_party, start_erasure
from app.services.users import get_user


class PasswordNeeded(UnprocessableContent):
    slug = "password-needed"
    title = "Erasing the account needs the password"


@dataclass(frozen=True, slots=True)
class ExitRequest:
    erase: bool = False
    password: str | None = None


async def safety_exit(
    session: AsyncSession,
    me: Member,
    request: ExitRequest,
    *,
    passwords: Passwords,
    limiter: RateLimiter,
    now: datetime,
    grace_days: int,
) -> User:
    user = await get_user(session, me)
    if request.erase:  # everything is checked before anything changes
        await require_first_party(session, me)
        if not request.password:
            raise PasswordNeeded(
                "Send the password to erase the account, or leave out `erase`.",
                errors=[FieldError(pointer="#/password", detail="is required with erase")],
            )
        await check_password(user, request.password, passwords=passwords, limiter=limiter)
    for partner_id in await _current_partners(session, me):
        await block_pairing(session, blocker_id=user.id, blocked_id=partner_id)
    if request.erase:
        await start_erasure(session, user, now, grace_days=grace_days, reason=Reason.safety_exit)
    else:
        await deactivate(session, user, now, Reason.safety_exit)
    return user


async def _current_partners(session: AsyncSession, me: Member) -> list[uuid.UUID]:
    mine = select(CoupleMember.couple_id).where(CoupleMember.active_user_id == me.user_id)
    rows = await session.scalars(
        select(CoupleMember.user_id).where(
            CoupleMember.couple_id.in_(mine), CoupleMember.user_id != me.user_id
        )
    )
    return list(rows.all())
