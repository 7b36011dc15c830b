"""Who may read a person's private writing (journal entries, private check-ins), and the log.

The rule, one for every path: private writing is read by its author alone, through
Rapport's own (first-party) apps, or through a third-party app holding the sensitive scope
for that kind (`journal:read`, `checkins:private`). Nobody else reads it: not the partner,
not an ex-partner, not an admin, not a partner platform acting for itself. Every read
through a third-party app is written to the person's access log, in the request's own
transaction: one row per read (how many items, never what they say).

A caller is resolved once per request (`resolve`): the first-party lookup costs at most one
query, none for Rapport's mobile app, whatever the number of items read.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import Member, Scope
from app.models.access_log import PrivateKind
from app.services.access_log import record
from app.services.clients import FIRST_PARTY_CLIENT_ID, is_first_party

SCOPE_FOR: dict[PrivateKind, Scope] = {
    PrivateKind.journal_entry: Scope.journal_read,
    PrivateKind.checkin: Scope.checkins_private,
}


def may_need_logging(member: Member) -> bool:
    """Whether a read by this caller might be written to the access log: false for
    Rapport's mobile app and for tokens without a sensitive scope. Decided from the token
    alone, so a request that cannot log never opens a writing transaction."""
    if member.client_id == FIRST_PARTY_CLIENT_ID:
        return False
    return any(member.has(scope) for scope in SCOPE_FOR.values())


@dataclass(frozen=True, slots=True)
class PrivateReader:
    """A person reading their own private writing through some app, decided once."""

    member: Member
    first_party: bool

    def may_read(self, kind: PrivateKind) -> bool:
        return self.first_party or self.member.has(SCOPE_FOR[kind])

    async def record(
        self, session: AsyncSession, kind: PrivateKind, items: int, operation: str
    ) -> None:
        """Log a read of `items` of the person's private writing, when a third-party app
        made it. The session must be the request's writing one (`may_need_logging`)."""
        if self.first_party or items <= 0:
            return
        await record(session, self.member, kind, items, operation)


async def resolve(session: AsyncSession, member: Member) -> PrivateReader:
    return PrivateReader(member=member, first_party=await is_first_party(session, member.client_id))


async def may_read_private(session: AsyncSession, member: Member, kind: PrivateKind) -> bool:
    """Whether this caller sees its own person's private writing of this kind."""
    return (await resolve(session, member)).may_read(kind)
