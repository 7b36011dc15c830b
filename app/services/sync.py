"""The sync feed: the events a person may see, in the order readers walk them, with what
changed.

Who sees what, decided inside the query, then by the consent rule (`app.services.visibility`)
for the calling client, as the rest of the API decides it:
- events about the person themself (`user_id` is theirs);
- events of a couple they are or were in, only from their joining (`couple.created` or
  `couple.joined` with their id) up to the couple's end (`couple.ended`), both included:
  nothing from before they joined nor after the couple ended;
- only types whose catalog scope the token holds (a token without `checkins:read` never
  sees `checkin.*`);
- a repair plan's or a conversation's events only while the client may read them (a
  third-party app: while both partners consent to it), so an ex-partner's feed loses them.
A partner's private check-in emits no event at all. A check-in event whose check-in is not
visible to the caller through this client now (unshared, deleted, the couple ended, or the
caller's own private one read by a third-party app without `checkins:private`) is kept as a
tombstone: the ids only, and `resource: {"deleted": true}`, so an app drops its copy. A
`couple.ended` item lists, in `tombstones`, the partner's shared check-ins the end hid.

The cursor (`app.services.sync_cursor`) is the position of the last event served. Only
settled events are served, in `(xid, seq)` order (`app.core.events`), so walking upwards
never passes over an event that commits later.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, false, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.event_catalog import EVENT_TYPES
from app.core.events import EventPosition, after, position, settled
from app.core.security import Member
from app.models.answers import DailyPrompt
from app.models.base import utcnow
from app.models.checkins import CheckIn, Visibility
from app.models.couples import Couple, CoupleMember, CoupleStatus, Invite
from app.models.events import Event
from app.models.users import User
from app.services import daily
from app.services.clients import is_first_party
from app.services.couples import CoupleView
from app.services.visibility import (
    COUPLE_WIDE,
    SUBJECTS,
    Viewer,
    checkin_visible_now,
    follows_in_sync,
)
from app.services.visibility_facts import load_facts

_STARTS = ("couple.created", "couple.joined")
_END = "couple.ended"


@dataclass
class SyncBatch:
    events: list[Event]
    has_more: bool
    last: EventPosition
    """The position of the last event scanned: the next cursor's."""
    checkins: dict[uuid.UUID, CheckIn] = field(default_factory=dict)
    """The check-ins of this page's `checkin.*` events that are visible to the caller now."""
    couples: dict[uuid.UUID, CoupleView] = field(default_factory=dict)
    days: dict[uuid.UUID, daily.Day] = field(default_factory=dict)
    """The days (by daily prompt id) of this page's events, if of the caller's current couple."""
    current_couple: Couple | None = None
    """The caller's active couple, loaded when `days` is not empty."""
    tombstones: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    """Ended couple id → the partner's shared check-ins its end hid from the caller."""

    def hidden_by(self, event: Event) -> list[uuid.UUID]:
        """The check-ins `event` hid from the caller: on `couple.ended`, the partner's shared
        ones."""
        if event.type != _END or event.couple_id is None:
            return []
        return self.tombstones.get(event.couple_id, [])


async def _visibility(session: AsyncSession, user_id: uuid.UUID) -> ColumnElement[bool]:
    """Events the person may see: their own, and their couples' while they were members."""
    rows = await session.execute(
        select(Event.couple_id, Event.type, Event.user_id, Event.xid, Event.seq).where(
            Event.couple_id.in_(
                select(CoupleMember.couple_id).where(CoupleMember.user_id == user_id)
            ),
            Event.type.in_((*_STARTS, _END)),
        )
    )
    starts: dict[uuid.UUID, EventPosition] = {}
    ends: dict[uuid.UUID, EventPosition] = {}
    for couple_id, type_, who, xid, seq in rows:
        if couple_id is None:
            continue
        at = EventPosition(xid, seq)
        if type_ == _END:
            ends[couple_id] = min(at, ends.get(couple_id, at))
        elif who == user_id:
            starts[couple_id] = min(at, starts.get(couple_id, at))
    windows = []
    for couple_id, start in starts.items():
        window = [Event.couple_id == couple_id, position() >= tuple_(*start)]
        if couple_id in ends:
            window.append(position() <= tuple_(*ends[couple_id]))
        windows.append(and_(*window))
    return or_(Event.user_id == user_id, *windows)


async def _couple_views(
    session: AsyncSession, couple_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, CoupleView]:
    """The couples as `GET /v1/couples/me` shows them, in three queries whatever their number."""
    ids = set(couple_ids)
    if not ids:
        return {}
    couples = (await session.scalars(select(Couple).where(Couple.id.in_(ids)))).all()
    views = {
        couple.id: CoupleView(couple=couple, members=[], pending_invite=None) for couple in couples
    }
    members = await session.execute(
        select(CoupleMember, User.display_name)
        .join(User, User.id == CoupleMember.user_id)
        .where(CoupleMember.couple_id.in_(ids))
        .order_by(CoupleMember.joined_at)
    )
    for member, name in members:
        views[member.couple_id].members.append((member, name))
    waiting = [
        view.couple.id
        for view in views.values()
        if view.couple.status is CoupleStatus.active and len(view.members) < 2
    ]
    if waiting:
        invites = await session.scalars(
            select(Invite)
            .where(
                Invite.couple_id.in_(waiting),
                Invite.used_at.is_(None),
                Invite.revoked_at.is_(None),
                Invite.expires_at > utcnow(),
            )
            .order_by(Invite.created_at)
        )
        for invite in invites:  # the newest wins
            views[invite.couple_id].pending_invite = invite
    return views


async def _load_days(
    session: AsyncSession, user_id: uuid.UUID, daily_ids: set[uuid.UUID], batch: SyncBatch
) -> None:
    """Days are read through the caller's current couple, as `GET /v1/couples/me/prompts/…`
    does: a day of an ended couple is no longer visible (a tombstone)."""
    couple = await session.scalar(
        select(Couple)
        .join(CoupleMember, CoupleMember.couple_id == Couple.id)
        .where(CoupleMember.active_user_id == user_id)
    )
    if couple is None:
        return
    dailies = list(
        await session.scalars(
            select(DailyPrompt).where(
                DailyPrompt.id.in_(daily_ids), DailyPrompt.couple_id == couple.id
            )
        )
    )
    batch.current_couple = couple
    batch.days = {day.daily.id: day for day in await daily._days_for(session, dailies)}


async def _ended_tombstones(
    session: AsyncSession, user_id: uuid.UUID, events: list[Event]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """For each `couple.ended` of the page: the partner's shared check-ins of that couple,
    which the person stopped seeing when it ended."""
    ended = {e.couple_id for e in events if e.type == _END and e.couple_id is not None}
    if not ended:
        return {}
    gone: dict[uuid.UUID, list[uuid.UUID]] = {}
    rows = await session.execute(
        select(CheckIn.couple_id, CheckIn.id)
        .where(
            CheckIn.couple_id.in_(ended),
            CheckIn.visibility == Visibility.partner,
            CheckIn.user_id != user_id,
        )
        .order_by(CheckIn.created_at, CheckIn.id)
    )
    for couple_id, checkin_id in rows:
        if couple_id is not None:
            gone.setdefault(couple_id, []).append(checkin_id)
    return gone


async def read_feed(
    session: AsyncSession, me: Member, *, mark: EventPosition, limit: int
) -> SyncBatch:
    """One page of the person's feed: settled events after `mark`, at most `limit`, as the
    consent rule lets the calling client see them (`app.services.visibility`)."""
    user_id = me.user_id
    types = [name for name, event in EVENT_TYPES.items() if event.scope.value in me.scopes]
    visible = await _visibility(session, user_id) if types else false()
    scanned = list(
        (
            await session.scalars(
                select(Event)
                .where(after(mark), settled(session), Event.type.in_(types), visible)
                .order_by(Event.xid, Event.seq)
                .limit(limit + 1)
            )
        ).all()
    )
    has_more = len(scanned) > limit
    scanned = scanned[:limit]
    first_party = await is_first_party(session, me.client_id)
    viewer = Viewer(me.client_id, user_id, me.scopes, first_party=first_party)
    needs_consents = not first_party and any(SUBJECTS.get(e.type) in COUPLE_WIDE for e in scanned)
    facts = await load_facts(
        session, scanned, clients=[me.client_id] if needs_consents else [], people=[user_id]
    )
    events = [event for event in scanned if follows_in_sync(viewer, event, facts)]
    batch = SyncBatch(
        events=events,
        has_more=has_more,
        last=EventPosition.of(scanned[-1]) if scanned else mark,
    )
    batch.checkins = {
        checkin_id: checkin
        for checkin_id, checkin in facts.checkin_rows.items()
        if checkin_visible_now(viewer, checkin_id, facts)
    }
    batch.tombstones = await _ended_tombstones(session, user_id, events)
    daily_ids = {
        uuid.UUID(event.data["daily_prompt_id"])
        for event in events
        if "daily_prompt_id" in event.data
    }
    if daily_ids:
        await _load_days(session, user_id, daily_ids, batch)
    batch.couples = await _couple_views(
        session,
        {e.couple_id for e in events if e.type.startswith("couple.") and e.couple_id is not None},
    )
    return batch
