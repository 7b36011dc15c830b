"""Who may curate content: a person whose role, read on every request since roles change, is
curator or admin; and who may review a submission: anyone of those but a curator who submitted
it (four eyes), while an admin may review their own (a team of one still publishes)."""

from __future__ import annotations

import uuid
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


class OwnSubmission(Forbidden):
    slug = "own-submission"
    title = "A curator cannot review their own submission"


async def require_reviewer(
    session: AsyncSession, member: Member, submitted_by: uuid.UUID | None
) -> None:
    """`OwnSubmission` when a curator (not an admin) would publish or return what they submitted."""
    if submitted_by is None or submitted_by != member.user_id:
        return
    role = await session.scalar(select(User.role).where(User.id == member.user_id))
    if role is not Role.admin:
        raise OwnSubmission(
            "You submitted this for review: another curator or an admin publishes or returns it."
        )
