"""Live updates: the sync feed as a Server-Sent Events stream."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from app.core.clock import Now, current_time
from app.core.events import EventPosition
from app.core.live_broker import LiveBroker
from app.core.pagination import MAX_CURSOR_LENGTH, InvalidCursor
from app.core.problems import RateLimited, responses_for
from app.core.tokens import InvalidToken, TokenService
from app.routers.languages import AcceptLanguage
from app.routers.sync_http import AUTH_ERRORS, MEMBER_SCOPE_VALUES, SyncReader, feed_page
from app.routers.sync_http import start_position as cursor_position
from app.schemas.sync import SyncItem
from app.services import live, sync_cursor

router = APIRouter(prefix="/v1/sync", tags=["sync"])

PAGE = 100
"""Events read per trip to the database while catching up."""
RETRY_MILLISECONDS = 3000
"""The reconnection delay the stream suggests to `EventSource`."""

LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        min_length=1,
        max_length=MAX_CURSOR_LENGTH,
        description="The `id` of the last event you received: the stream resumes right "
        "after it. `EventSource` sends it by itself when it reconnects; it wins over `cursor`.",
    ),
]
StreamCursor = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_CURSOR_LENGTH,
        description="A `next_cursor` of `GET /v1/sync`, or an event's `id`: start after it. "
        "Without it (and without `Last-Event-ID`) the stream starts now.",
    ),
]


async def stream_start(
    request: Request,
    me: SyncReader,
    now: Now,
    cursor: StreamCursor = None,
    last_event_id: LastEventId = None,
) -> EventPosition:
    """Checked before the stream opens, so a bad cursor is a problem, not a broken stream."""
    given = last_event_id if last_event_id is not None else cursor
    if given is not None:
        return cursor_position(request, me.user_id, given, now)
    async with request.app.state.reading_sessionmaker() as session:
        return await live.head(session)


async def stream_slot(request: Request, me: SyncReader) -> AsyncIterator[None]:
    """One of the person's few open streams, held until this one closes."""
    slots: live.StreamSlots = request.app.state.live_slots
    with slots.hold(me.user_id, request.app.state.settings.live_streams_per_person):
        yield


def sse(**fields: Any) -> Any:
    """A `ServerSentEvent`, typed as anything: the route's declared item type is the feed's
    item (which the published schema shows as `data`), yet it yields whole events."""
    return ServerSentEvent(**fields)


def _token_check(request: Request) -> Callable[[], bool]:
    tokens: TokenService = request.app.state.tokens
    token = request.headers.get("authorization", "").partition(" ")[2].strip()

    def alive() -> bool:
        try:
            tokens.verify(token)  # in memory: expiry, signing key, revocations
        except InvalidToken:
            return False
        return True

    return alive


@router.get(
    "/stream",
    summary="Follow what changes, live",
    response_class=EventSourceResponse,
    responses=responses_for(
        *AUTH_ERRORS,
        InvalidCursor,
        sync_cursor.SyncCursorExpired,
        live.TooManyStreams,
        RateLimited,
    ),
    openapi_extra={"security": [{"OAuth2": [scope]} for scope in sorted(MEMBER_SCOPE_VALUES)]},
)
async def sync_stream(
    request: Request,
    me: SyncReader,
    start: Annotated[EventPosition, Depends(stream_start)],
    _slot: Annotated[None, Depends(stream_slot)],
    accept_language: AcceptLanguage = None,
) -> AsyncIterable[SyncItem]:
    """The sync feed, live (`text/event-stream`): each event of the stream is one item of
    `GET /v1/sync` as JSON in `data`, with the same visibility for the calling app and its
    scopes, and its `id` is a sync cursor right after that item. Reconnect with
    `Last-Event-ID` (browsers' `EventSource` does it by itself) to resume where the stream
    stopped, with nothing lost or repeated; a cursor from `GET /v1/sync` in `cursor` works
    too. Without either, the stream starts now.

    An event without `data` only moves the cursor past events you may not see. A comment
    (`: heartbeat`) comes every `RAPPORT_LIVE_HEARTBEAT_SECONDS` (15 s by default) when
    nothing else does. The stream ends when the access token expires or is revoked (the app
    disconnected): reconnect with a fresh token and `Last-Event-ID`.

    A person may hold `RAPPORT_LIVE_STREAMS_PER_PERSON` streams at once (5 by default; one
    more is 429). For a closed app, push notifications take over."""
    settings = request.app.state.settings
    secret = settings.secret_key.encode()
    broker: LiveBroker = request.app.state.live_broker
    token_valid = _token_check(request)

    def alive() -> bool:
        return not broker.closing.is_set() and token_valid()

    async def read(mark: EventPosition) -> live.Step:
        now = await current_time(request)
        async with request.app.state.reading_sessionmaker() as session:
            page = await feed_page(
                session, me, mark=mark, limit=PAGE, now=now, accept_language=accept_language
            )
            couples = await live.couples_of(session, me.user_id)
        return live.Step(
            items=[live.Item(item, at) for item, at in page.items],
            last=page.batch.last,
            has_more=page.batch.has_more,
            couple_ids=couples,
        )

    def cursor(at: EventPosition) -> str:
        issued = request.app.state.clock()
        return sync_cursor.encode_cursor(
            secret, me.user_id, sync_cursor.SyncCursor(at, issued_at=issued)
        )

    yield sse(comment="stream open", retry=RETRY_MILLISECONDS)
    with broker.watching(me.user_id) as watch:
        async for sent in live.follow(
            read,
            start=start,
            user_id=me.user_id,
            watch=watch,
            alive=alive,
            heartbeat_seconds=settings.live_heartbeat_seconds,
        ):
            if isinstance(sent, live.Item):
                yield sse(data=sent.data, id=cursor(sent.position))
            elif isinstance(sent, live.Advance):
                yield sse(id=cursor(sent.position))
            else:
                yield sse(comment="heartbeat")
