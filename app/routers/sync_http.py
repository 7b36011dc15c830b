"""What the sync feed and its live stream share: who may read them, where a cursor points,
and a page of items as the caller sees them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Request, Security
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events import START, EventPosition
from app.core.problems import InsufficientScope, Unauthorized
from app.core.security import MEMBER_SCOPES, Member, member_guard
from app.models.events import Event
from app.schemas.checkins import CheckInOut
from app.schemas.couples import CoupleOut
from app.schemas.daily import DayOut
from app.schemas.sync import Resource, SyncItem, Tombstone, sync_item
from app.services import answers, sync_cursor
from app.services import sync as service
from app.services.wordings import reader_preferences

AUTH_ERRORS = (Unauthorized, InsufficientScope)
MEMBER_SCOPE_VALUES = frozenset(scope.value for scope in MEMBER_SCOPES)


async def any_member_scope(me: Annotated[Member, Security(member_guard)]) -> Member:
    """A person's token holding at least one member scope (which ones decides what it sees)."""
    if not me.scopes & MEMBER_SCOPE_VALUES:
        raise InsufficientScope(
            "The sync feed needs at least one member scope, e.g. couple:read.",
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
        )
    return me


SyncReader = Annotated[Member, Security(any_member_scope)]


def _resource(event: Event, batch: service.SyncBatch, days: dict[uuid.UUID, DayOut]) -> Resource:
    if "daily_prompt_id" in event.data:
        return days.get(uuid.UUID(event.data["daily_prompt_id"]), Tombstone())
    if event.type.startswith("checkin."):
        checkin = batch.checkins.get(uuid.UUID(event.data["checkin_id"]))
        return CheckInOut.model_validate(checkin) if checkin is not None else Tombstone()
    if event.type.startswith("couple.") and event.couple_id is not None:
        view = batch.couples.get(event.couple_id)
        return CoupleOut.from_view(view) if view is not None else Tombstone()
    return None


def start_position(
    request: Request, user_id: uuid.UUID, cursor: str | None, now: datetime
) -> EventPosition:
    """Where a cursor points, refused when tampered with (400) or stale (410); the feed's
    start without one."""
    if cursor is None:
        return START
    settings = request.app.state.settings
    position = sync_cursor.decode_cursor(settings.secret_key.encode(), user_id, cursor)
    sync_cursor.check_fresh(position, now, settings.sync_retention_days)
    return position.position


@dataclass
class FeedPage:
    items: list[tuple[SyncItem, EventPosition]]
    """Each item, with its event's position: the cursor after it."""
    batch: service.SyncBatch
    locales: list[str]
    """The languages of the page's texts (each day's wording says its own, too)."""


async def feed_page(
    session: AsyncSession,
    me: Member,
    *,
    mark: EventPosition,
    limit: int,
    now: datetime,
    accept_language: str | None,
) -> FeedPage:
    """One page of the feed after `mark`, each event with the resource as the caller sees it
    now (`GET /v1/sync`'s items, and `GET /v1/sync/stream`'s events)."""
    batch = await service.read_feed(session, me, mark=mark, limit=limit)
    days: dict[uuid.UUID, DayOut] = {}
    couple = batch.current_couple
    if couple is not None and batch.days:
        wanted = await reader_preferences(session, me.user_id, accept_language)
        views = await answers.days_as_seen_by(
            session, me, couple, list(batch.days.values()), now, wanted
        )
        days = {key: DayOut.of(view) for key, view in zip(batch.days, views, strict=True)}
        locales = [view.wording.locale for view in views]
    else:
        locales = []
    items = [
        (
            sync_item(event, _resource(event, batch, days), batch.hidden_by(event)),
            EventPosition.of(event),
        )
        for event in batch.events
    ]
    return FeedPage(items=items, batch=batch, locales=locales)
