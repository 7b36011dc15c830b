"""The sync feed: what changed for you since your last sync, in order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.core.clock import Now
from app.core.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT, InvalidCursor
from app.core.problems import responses_for
from app.db import SessionDep
from app.routers.languages import AcceptLanguage, localized
from app.routers.sync_http import (
    AUTH_ERRORS,
    MEMBER_SCOPE_VALUES,
    SyncReader,
    feed_page,
    start_position,
)
from app.schemas.sync import SyncPage
from app.services import sync_cursor

router = APIRouter(prefix="/v1/sync", tags=["sync"])


@router.get(
    "",
    summary="Sync what changed",
    response_model=SyncPage,
    responses=responses_for(*AUTH_ERRORS, InvalidCursor, sync_cursor.SyncCursorExpired),
    # Alternatives: a token with any one member scope will do.
    openapi_extra={"security": [{"OAuth2": [scope]} for scope in sorted(MEMBER_SCOPE_VALUES)]},
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
    response.headers.update(localized(page.locales))
    return SyncPage(
        data=[item for item, _ in page.items],
        next_cursor=sync_cursor.encode_cursor(
            secret, me.user_id, sync_cursor.SyncCursor(page.batch.last, issued_at=now)
        ),
        has_more=page.batch.has_more,
    )
