"""Loading, in bulk, the facts the consent rule (`app.services.visibility`) looks at.

A handful of queries per batch of events, whatever its size: the couples' members (current
and past), the live consents of those people for the clients asked about, the check-ins the
events name, which clients are first-party, and who owns the endpoints named.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.checkins import CheckIn
from app.models.couples import CoupleMember
from app.models.events import Event
from app.models.oauth import Consent, OAuthClient
from app.models.webhooks import WebhookEndpoint
from app.services.clients import FIRST_PARTY_CLIENT_ID
from app.services.visibility import SUBJECTS, CheckInFacts, Facts, Subject

_CHECKIN_SUBJECTS = frozenset({Subject.checkin, Subject.checkin_gone, Subject.reflection})


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


async def first_party_clients(session: AsyncSession, client_ids: Iterable[str]) -> set[str]:
    wanted = set(client_ids)
    found = {FIRST_PARTY_CLIENT_ID} & wanted
    if wanted - found:
        found |= set(
            await session.scalars(
                select(OAuthClient.client_id).where(
                    OAuthClient.client_id.in_(wanted - found),
                    OAuthClient.is_first_party.is_(True),
                    OAuthClient.disabled_at.is_(None),
                )
            )
        )
    return found


async def load_facts(
    session: AsyncSession,
    events: Sequence[Event],
    *,
    clients: Collection[str],
    people: Collection[uuid.UUID] = (),
) -> Facts:
    """The facts for deciding `events` for `clients`, about the events' people and `people`."""
    facts = Facts()
    couples = {event.couple_id for event in events if event.couple_id}
    persons = {event.user_id for event in events if event.user_id} | set(people)
    if persons:
        # The current couple of each person, so a check-in's visibility can be decided.
        couples |= set(
            await session.scalars(
                select(CoupleMember.couple_id).where(CoupleMember.active_user_id.in_(persons))
            )
        )
    if couples:
        rows = await session.execute(
            select(CoupleMember.couple_id, CoupleMember.user_id, CoupleMember.active_user_id).where(
                CoupleMember.couple_id.in_(couples)
            )
        )
        for couple_id, user_id, active in rows:
            facts.ever_members.setdefault(couple_id, set()).add(user_id)
            if active is not None:
                facts.active_members.setdefault(couple_id, set()).add(user_id)
    everyone = persons | {u for group in facts.ever_members.values() for u in group}
    if everyone and clients:
        for consent in await session.scalars(
            select(Consent).where(
                Consent.user_id.in_(everyone),
                Consent.client_id.in_(set(clients)),
                Consent.revoked_at.is_(None),
            )
        ):
            facts.consents[(consent.user_id, consent.client_id)] = frozenset(consent.scopes or [])
    checkin_ids = {
        _uuid(event.data.get("checkin_id") or event.data.get("target_id"))
        for event in events
        if SUBJECTS.get(event.type) in _CHECKIN_SUBJECTS
    } - {None}
    if checkin_ids:
        for checkin in await session.scalars(select(CheckIn).where(CheckIn.id.in_(checkin_ids))):
            facts.checkins[checkin.id] = CheckInFacts(
                checkin.user_id, checkin.couple_id, checkin.visibility
            )
            facts.checkin_rows[checkin.id] = checkin
    endpoint_ids = {
        _uuid(event.data.get("endpoint_id"))
        for event in events
        if SUBJECTS.get(event.type) is Subject.endpoint
    } - {None}
    if endpoint_ids:
        for endpoint_id, client_id in await session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.client_id).where(
                WebhookEndpoint.id.in_(endpoint_ids)
            )
        ):
            facts.endpoint_owners[str(endpoint_id)] = client_id
    return facts
