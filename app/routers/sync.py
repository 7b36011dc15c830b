"""The sync feed: what changed for you since your last sync, in order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, Security
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Now
from app.core.events import START, EventPosition
from app.core.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT, InvalidCursor
from app.core.problems import InsufficientScope, Unauthorized, responses_for
from app.core.security import MEMBER_SCOPES, Member, current_member
from app.db import SessionDep
from app.models.events import Event
from app.routers.languages import AcceptLanguage, localized
from app.schemas.checkins import CheckInOut
from app.schemas.couples import CoupleOut
from app.schemas.daily import DayOut
from app.schemas.sync import Resource, SyncItem, SyncPage, Tombstone, sync_item
from app.services import answers, sync_cursor
from app.services import sync as service
from app.services.wordings import reader_preferences

router = APIRouter(prefix="/v1/sync", tags=["sync"])
AUTH_ERRORS = (Unauthorized, InsufficientScope)
_MEMBER_SCOPE_VALUES = frozenset(scope.value for scope in MEMBER_SCOPES)


async def any_member_scope(me: Annotated[Member, Security(current_member)]) -> Member:
    """A person's token holding at least one member scope (which ones decides what it sees)."""
    if not me.scopes & _MEMBER_SCOPE_VALUES:
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


@router.get(
    "",
    summary="Sync what changed",
    response_model=SyncPage,
    responses=responses_for(*AUTH_ERRORS, InvalidCursor, sync_cursor.SyncCursorExpired),
    # Alternatives: a token with any one member scope will do.
    openapi_extra={"security": [{"OAuth2": [scope]} for scope in sorted(_MEMBER_SCOPE_VALUES)]},
)
async def sync_feed(
    request: Request,
    me: SyncReader,
    session: SessionDep,
    now: Now,
    limit: Annotated[
        int, Query(ge=1, description=f"At most this many events (1 to {MAX_LIMIT}).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_CURSOR_LENGTH,
            description="The `next_cursor` of your last response; omit it to start from the "
            "beginning.",
        ),
    ] = None,
    *,
    response: Response,
    accept_language: AcceptLanguage = None,
) -> SyncPage:
    """The events you may see, oldest first, each with the changed resource as you see it
    now. Any member scope opens the feed (the token is checked for at least one of them);
    the scopes held decide which event types it carries (`checkin.*` needs `checkins:read`,
    and so on, as in `GET /v1/event-types`).

    You see your own events and your couples' events from when you joined until the couple
    ended, as this app may see them (a third-party app gets a couple's repair-plan events
    only while both partners allow it); never a partner's private check-in. A check-in that
    is no longer visible to you through this app (made private, deleted, or the couple
    ended) comes as a tombstone, `resource: {"deleted": true}`; a `couple.ended` item lists
    in `tombstones` the partner's shared check-ins you no longer see.

    Keep the `next_cursor` of every response, the last page's included, and send it next
    time to get only newer events. A cursor unused for longer than the retention horizon
    (`RAPPORT_SYNC_RETENTION_DAYS`, 90 days by default) answers 410: resync from scratch."""
    settings = request.app.state.settings
    secret = settings.secret_key.encode()
    mark = start_position(request, me.user_id, cursor, now)
    page = await feed_page(
        session,
        me,
        mark=mark,
        limit=min(limit, MAX_LIMIT),
        now=now,
        accept_language=accept_language,
    )
    response.headers.update(page.headers)
    return SyncPage(
        data=[item for item, _ in page.items],
        next_cursor=sync_cursor.encode_cursor(
            secret, me.user_id, sync_cursor.SyncCursor(page.batch.last, issued_at=now)
        ),
        has_more=page.batch.has_more,
    )


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
    headers: dict[str, str]


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
        headers = localized(view.wording.locale for view in views)
    else:
        headers = localized([])
    items = [
        (
            sync_item(event, _resource(event, batch, days), batch.hidden_by(event)),
            EventPosition.of(event),
        )
        for event in batch.events
    ]
    return FeedPage(items=items, batch=batch, headers=headers)
