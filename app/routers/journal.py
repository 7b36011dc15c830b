"""The private journal: only its author ever reads it (through a third-party app, with
`journal:read`, every read logged)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator

from app.core.clock import Now
from app.core.dates import LocalDates
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
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.routers.private_http import JournalReadSession
from app.schemas.checkins import storable
from app.schemas.journal import (
    JournalEntryIn,
    JournalEntryOut,
    JournalEntryUpdate,
    PatternsOut,
    PatternTag,
    TagCount,
)
from app.services import journal as service
from app.services.vocabularies import UnknownTerms

router = APIRouter(prefix="/v1/journal", tags=["journal"])
AUTH_ERRORS = (Unauthorized, InsufficientScope)
Reader = Annotated[Member, member(Scope.journal_read)]
Writer = Annotated[Member, member(Scope.journal_write)]
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
        pattern=r"^0*([7-9]|[1-9][0-9]|[12][0-9]{2}|3[0-5][0-9]|36[0-5])d$",
        max_length=8,
        description=f"A number of days and `d`, from {MIN_WINDOW_DAYS}d to {MAX_WINDOW_DAYS}d.",
        examples=["90d"],
    ),
    AfterValidator(_window_days),
]


@router.post(
    "",
    summary="Write a journal entry",
    status_code=201,
    response_model=JournalEntryOut,
    responses=responses_for(*AUTH_ERRORS, NotFound, UnknownTerms, UnprocessableContent),
)
async def journal_create(
    request: Request, data: JournalEntryIn, me: Writer, session: SessionDep, now: Now
) -> Response:
    """Private writing to notice your own patterns. Tag the patterns in your own words and
    name emotions from the vocabulary; nobody else, your partner included, can read it."""
    entry = await service.create_entry(session, me, data, now)
    body = JournalEntryOut.model_validate(entry)
    return private_created_response(request, body, f"/v1/journal/{entry.id}")


@router.get(
    "",
    summary="List my journal entries",
    response_model=Page[JournalEntryOut],
    responses=responses_for(*AUTH_ERRORS, UnprocessableContent),
)
async def journal_list(
    me: Reader,
    dates: LocalDates,
    session: JournalReadSession,
    params: PageParams,
    tag: Annotated[PatternTag | None, Query(description="Only entries with this tag.")] = None,
) -> Page[JournalEntryOut]:
    """Your entries, newest first. A third-party app's reads of your journal are listed in
    your access log."""
    window = await service.list_entries(
        session, me, params, tag=tag, since=dates.since, until=dates.until
    )
    return Page.of(window, JournalEntryOut.model_validate)


@router.get(
    "/tags",
    summary="List my journal tags",
    response_model=list[TagCount],
    responses=responses_for(*AUTH_ERRORS, UnprocessableContent),
)
async def journal_tags_list(
    me: Reader,
    session: JournalReadSession,
    prefix: Annotated[
        str | None,
        Query(max_length=40, description="Only tags starting with this text."),
        AfterValidator(_prefix),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="How many tags at most.")] = 50,
) -> list[TagCount]:
    """The tags you have used, most used first, with how many entries carry each: for
    autocomplete, so that a pattern keeps one name."""
    counts = await service.list_tags(session, me, prefix=prefix, limit=limit)
    return [TagCount.from_count(counted) for counted in counts]


@router.get(
    "/patterns",
    summary="Notice my patterns",
    response_model=PatternsOut,
    responses=responses_for(*AUTH_ERRORS, NotFound, UnprocessableContent),
)
async def journal_patterns_get(
    me: Reader,
    session: JournalReadSession,
    now: Now,
    window: WindowParam = "90d",
    limit: Annotated[int, Query(ge=1, le=50, description="How many tags and emotions.")] = 10,
) -> PatternsOut:
    """Your most frequent tags and emotions over the window ending today, each with its count
    in the window just before and whether it went up, down or stayed steady."""
    found = await service.patterns(session, me, int(window[:-1]), now, limit=limit)
    return PatternsOut.from_patterns(found)


@router.get(
    "/{entry_id:uuid}",
    summary="Get a journal entry",
    description=(
        "One of the caller's journal entries. Private writing: visible to its author alone, and "
        "answered `Cache-Control: no-store`."
    ),
    response_model=JournalEntryOut,
    responses=responses_for(*AUTH_ERRORS, service.JournalEntryNotFound),
)
async def journal_get(
    request: Request, entry_id: uuid.UUID, me: Reader, session: JournalReadSession
) -> Response:
    entry = await service.get_entry(session, me, entry_id)
    return resource_response(request, JournalEntryOut.model_validate(entry))


@router.patch(
    "/{entry_id:uuid}",
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
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """`If-Match` is required, so an edit made on another device is never overwritten."""
    entry = await service.get_entry_to_change(session, me, entry_id)
    check_if_match(request, JournalEntryOut.model_validate(entry), required=True)
    entry = await service.update_entry(session, entry, data, now)
    return resource_response(request, JournalEntryOut.model_validate(entry))


@router.delete(
    "/{entry_id:uuid}",
    summary="Delete a journal entry",
    status_code=204,
    responses=responses_for(*AUTH_ERRORS, service.JournalEntryNotFound, PreconditionFailed),
)
async def journal_delete(
    request: Request, entry_id: uuid.UUID, me: Writer, session: SessionDep
) -> Response:
    """Delete an entry for good. `If-Match` is optional here (412 when stale)."""
    entry = await service.get_entry_to_change(session, me, entry_id)
    check_if_match(request, JournalEntryOut.model_validate(entry))
    await service.delete_entry(session, entry)
    return Response(status_code=204)
