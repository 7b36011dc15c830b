"""Who may curate content: a person whose role, read on every request since roles change, is
curator or admin."""

from __future__ import annotations

from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import Forbidden
from app.core.security import Member
from app.models.users import Role, User

CURATOR_ROLES: Final = frozenset({Role.curator, Role.admin})


class NotCurator(Forbidden):
    slug = "not-a-curator"
    title = "Only curators and admins curate content"


async def require_curator(session: AsyncSession, member: Member) -> Member:
    """The member, if their role lets them curate; `NotCurator` otherwise."""
    role = await session.scalar(select(User.role).where(User.id == member.user_id))
    if role not in CURATOR_ROLES:
        raise NotCurator("Your account's role does not include curating content.")
    return member
