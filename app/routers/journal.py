"""The private journal: only its author ever reads it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator

from app.core.clock import Now
from app.core.etag import check_if_match, private_created_response, resource_response
from app.core.pagination import Page, PageParams
from app.core.problems import (
    InsufficientScope,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unauthorized,
    UnprocessableContent,
    responses_for,
)
from app.core.security import Actor, Scope, require
from app.db import SessionDep
from app.models.journal import JournalEntry
from app.routers.checkins import Since, Until, check_range
from app.schemas.checkins import storable
from app.schemas.journal import (
    EmotionTrend,
    JournalEntryIn,
    JournalEntryOut,
    JournalEntryUpdate,
    PatternsOut,
    PatternTag,
    TagCount,
    TagTrend,
)
from app.schemas.journal import Trend as TrendName
from app.services import journal as service
from app.services.journal import Trend
from app.services.vocabularies import UnknownTerms

router = APIRouter(prefix="/v1/journal", tags=["journal"])
AUTH_ERRORS = (Unauthorized, InsufficientScope)
Reader = Annotated[Actor, require(Scope.journal_read)]
Writer = Annotated[Actor, require(Scope.journal_write)]
MIN_WINDOW_DAYS, MAX_WINDOW_DAYS = 7, 365


def _window_days(value: str) -> str:
    if not MIN_WINDOW_DAYS <= int(value[:-1]) <= MAX_WINDOW_DAYS:
        raise ValueError(f"must be between {MIN_WINDOW_DAYS}d and {MAX_WINDOW_DAYS}d")
    return value


def _prefix(value: str | None) -> str | None:
    return " ".join(storable(value).split()).lower() if value is not None else None


WindowParam = Annotated[
    str,
    Query(
        pattern=r"^\d+d$",
        max_length=8,
        description=f"A number of days and `d`, from {MIN_WINDOW_DAYS}d to {MAX_WINDOW_DAYS}d.",
        examples=["90d"],
    ),
    AfterValidator(_window_days),
]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)  # one zone, one serialisation, one ETag


def entry_out(entry: JournalEntry) -> JournalEntryOut:
    return JournalEntryOut(
        id=entry.id,
        body=entry.body,
        pattern_tags=entry.pattern_tags,
        emotions=entry.emotions,
        local_date=entry.local_date,
        created_at=_utc(entry.created_at),
        updated_at=_utc(entry.updated_at),
    )


def _trend(item: Trend) -> TrendName:
    if item.count > item.previous_count:
        return TrendName.up
    if item.count < item.previous_count:
        return TrendName.down
    return TrendName.steady


@router.post(
    "",
    summary="Write a journal entry",
    status_code=201,
    response_model=JournalEntryOut,
    responses=responses_for(*AUTH_ERRORS, NotFound, UnknownTerms, UnprocessableContent),
)
async def journal_create(
    request: Request, data: JournalEntryIn, actor: Writer, session: SessionDep, now: Now
) -> Response:
    """Private writing to notice your own patterns. Tag the patterns in your own words and
    name emotions from the vocabulary; nobody else, your partner included, can read it."""
    entry = await service.create_entry(session, actor.require_user(), data, now)
    return private_created_response(request, entry_out(entry), f"/v1/journal/{entry.id}")


@router.get(
    "",
    summary="List my journal entries",
    response_model=Page[JournalEntryOut],
    responses=responses_for(*AUTH_ERRORS, UnprocessableContent),
)
async def journal_list(
    actor: Reader,
    session: SessionDep,
    params: PageParams,
    tag: Annotated[PatternTag | None, Query(description="Only entries with this tag.")] = None,
    since: Since = None,
    until: Until = None,
) -> Page[JournalEntryOut]:
    """Your entries, newest first."""
    check_range(since, until)
    window = await service.list_entries(
        session, actor.require_user(), params, tag=tag, since=since, until=until
    )
    return Page.of(window, entry_out)


@router.get(
    "/tags",
    summary="List my journal tags",
    response_model=list[TagCount],
    responses=responses_for(*AUTH_ERRORS, UnprocessableContent),
)
async def journal_tags_list(
    actor: Reader,
    session: SessionDep,
    prefix: Annotated[
        str | None,
        Query(max_length=40, description="Only tags starting with this text."),
        AfterValidator(_prefix),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="How many tags at most.")] = 50,
) -> list[TagCount]:
    """The tags you have used, most used first, with how many entries carry each: for
    autocomplete, so that a pattern keeps one name."""
    counts = await service.list_tags(session, actor.require_user(), prefix=prefix, limit=limit)
    return [TagCount(tag=c.value, count=c.count, last_used=c.last_used) for c in counts]


@router.get(
    "/patterns",
    summary="Notice my patterns",
    response_model=PatternsOut,
    responses=responses_for(*AUTH_ERRORS, NotFound, UnprocessableContent),
)
async def journal_patterns_get(
    actor: Reader,
    session: SessionDep,
    now: Now,
    window: WindowParam = "90d",
    limit: Annotated[int, Query(ge=1, le=50, description="How many tags and emotions.")] = 10,
) -> PatternsOut:
    """Your most frequent tags and emotions over the window ending today, each with its count
    in the window just before and whether it went up, down or stayed steady."""
    days = int(window[:-1])
    found = await service.patterns(session, actor.require_user(), days, now, limit=limit)
    return PatternsOut(
        window_days=days,
        start=found.start,
        end=found.end,
        previous_start=found.previous_start,
        previous_end=found.previous_end,
        entries=found.entries,
        previous_entries=found.previous_entries,
        tags=[
            TagTrend(tag=t.value, count=t.count, previous_count=t.previous_count, trend=_trend(t))
            for t in found.tags
        ],
        emotions=[
            EmotionTrend(
                emotion=t.value, count=t.count, previous_count=t.previous_count, trend=_trend(t)
            )
            for t in found.emotions
        ],
    )


@router.get(
    "/{entry_id}",
    summary="Get a journal entry",
    response_model=JournalEntryOut,
    responses=responses_for(*AUTH_ERRORS, service.JournalEntryNotFound),
)
async def journal_get(
    request: Request, entry_id: uuid.UUID, actor: Reader, session: SessionDep
) -> Response:
    entry = await service.get_entry(session, actor.require_user(), entry_id)
    return resource_response(request, entry_out(entry))


@router.patch(
    "/{entry_id}",
    summary="Change a journal entry",
    response_model=JournalEntryOut,
    responses=responses_for(
        *AUTH_ERRORS,
        service.JournalEntryNotFound,
        PreconditionFailed,
        PreconditionRequired,
        UnknownTerms,
        UnprocessableContent,
    ),
)
async def journal_update(
    request: Request,
    entry_id: uuid.UUID,
    data: JournalEntryUpdate,
    actor: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """`If-Match` is required, so an edit made on another device is never overwritten."""
    entry = await service.get_entry(session, actor.require_user(), entry_id)
    check_if_match(request, entry_out(entry), required=True)
    entry = await service.update_entry(session, entry, data, now)
    return resource_response(request, entry_out(entry))


@router.delete(
    "/{entry_id}",
    summary="Delete a journal entry",
    status_code=204,
    responses=responses_for(*AUTH_ERRORS, service.JournalEntryNotFound, PreconditionFailed),
)
async def journal_delete(
    request: Request, entry_id: uuid.UUID, actor: Writer, session: SessionDep
) -> Response:
    """Delete an entry for good. `If-Match` is optional here (412 when stale)."""
    entry = await service.get_entry(session, actor.require_user(), entry_id)
    check_if_match(request, entry_out(entry))
    await service.delete_entry(session, entry)
    return Response(status_code=204)
