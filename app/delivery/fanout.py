"""Fan-out: turn new events into deliveries, one per (endpoint, event) the consent rule allows.

Fan-out reads settled `events` past a stored high-water mark (`webhook_dispatch_state`, an
`(xid, seq)` position: see `app.core.events`) in a short transaction that locks the single
state row, and creates one delivery per (endpoint, event) — unique, so a fan-out can never
duplicate one.

An endpoint of client C gets event E only when some person who granted C a live consent
holding the scope the catalog names for E's type could read E's resource through C at that
moment (`app.services.visibility.can_see`): a repair plan's events only while both partners
consent to C, a partner's shared check-in only while it is shared with them, and so on.
Endpoint events (`webhook_endpoint.*`) go to the owning platform only.

An endpoint receives events that occurred after it was registered. While it is disabled, what
it would have received is recorded as `skipped` deliveries, so a replay after re-enabling it
recovers them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.event_catalog import EVENT_TYPES
from app.core.event_marks import events_past, lock_mark, move_mark
from app.models.events import Event
from app.models.webhooks import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookDispatchState,
    WebhookEndpoint,
)
from app.services.visibility import SUBJECTS, Facts, Subject, Viewer, can_see
from app.services.visibility_facts import first_party_clients, load_facts

# Couple ends (and what they end) are dated to the local day, so that nobody learns the time
# of day: such an event counts as happening at the end of its day for a new endpoint.
DAY_DATED_TYPES = frozenset({"couple.ended", "repair_plan.abandoned"})


async def fan_out(session: AsyncSession, now: datetime, limit: int) -> int:
    """Create the deliveries owed for events past the mark; the number of events taken.

    Runs inside the caller's transaction, which must commit for the mark to move."""
    mark = await lock_mark(session, WebhookDispatchState)
    taken = await events_past(session, mark, limit)
    if not taken:
        return 0
    await create_deliveries(session, taken, now)
    move_mark(mark, taken)
    return len(taken)


def audience(event: Event, clients: set[str], first_party: set[str], facts: Facts) -> set[str]:
    """The clients that may receive `event`: for a person's event, those a person who could
    read its resource consented to with the catalog's scope."""
    catalog = EVENT_TYPES.get(event.type)
    if catalog is None:
        return set()
    subject = SUBJECTS.get(event.type, Subject.direct)
    if subject is Subject.private:
        return set()  # private writing never leaves through a webhook, whatever the scope
    if subject is Subject.endpoint:
        return {c for c in clients if can_see(Viewer(c, None, frozenset()), event, facts)}
    people = {event.user_id} if event.user_id else set()
    if event.couple_id:
        people |= facts.ever_members.get(event.couple_id, set())
    allowed: set[str] = set()
    for client in clients:
        for person in people:
            scopes = facts.consents.get((person, client))
            if scopes is None or catalog.scope.value not in scopes:
                continue
            viewer = Viewer(client, person, scopes, first_party=client in first_party)
            if can_see(viewer, event, facts):
                allowed.add(client)
                break
    return allowed


async def create_deliveries(session: AsyncSession, events: Sequence[Event], now: datetime) -> None:
    endpoints = list(await session.scalars(select(WebhookEndpoint)))
    if not endpoints:
        return
    clients = {endpoint.client_id for endpoint in endpoints}
    facts = await load_facts(session, events, clients=clients)
    first_party = await first_party_clients(session, clients)
    rows = []
    for event in events:
        allowed = audience(event, clients, first_party, facts)
        for endpoint in endpoints:
            if endpoint.client_id not in allowed:
                continue
            if endpoint.event_types and event.type not in endpoint.event_types:
                continue
            if endpoint.created_at > _latest_moment(event):
                continue  # an endpoint gets what happened after it was registered
            rows.append(_delivery(endpoint.id, event, now, skipped=not endpoint.enabled))
    if rows:
        # One statement for them all, past the ORM (which would track each row).
        await session.execute(insert(WebhookDelivery), rows)


def _latest_moment(event: Event) -> datetime:
    if event.type in DAY_DATED_TYPES:
        return event.occurred_at + timedelta(days=1)
    return event.occurred_at


def _delivery(
    endpoint_id: uuid.UUID, event: Event, now: datetime, *, skipped: bool
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "endpoint_id": endpoint_id,
        "event_id": event.id,
        "event_type": event.type,
        "status": DeliveryStatus.skipped if skipped else DeliveryStatus.pending,
        "attempts": 0,
        "round_start_attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
