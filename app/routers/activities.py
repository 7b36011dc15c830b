"""Time together: a shared list of activity ideas (curated `play` prompts and the couple's
own), each partner's private marks, matches when both want the same idea, plans for a
local date, and how it went.

A third-party app reaches a couple's activities only while both partners have allowed it
`activities:read`; otherwise they answer 404 to it. A partner's mark is never shown to the
other partner, through any app.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response

from app.core.clock import Now
from app.core.etag import check_if_match, resource_response
from app.core.languages import Preferences
from app.core.pagination import Page, PageParams
from app.core.problems import (
    InsufficientScope,
    PreconditionFailed,
    PreconditionRequired,
    Unauthorized,
    UnprocessableContent,
    responses_for,
)
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.routers.languages import AcceptLanguage, localized
from app.schemas.activities import IdeaCreate, IdeaOut, MarkIn, MatchOut, PlanIn, ReviewIn
from app.services import activities as ideas
from app.services import activity_matches as matches
from app.services.couples import NoCouple
from app.services.wordings import reader_preferences

router = APIRouter(prefix="/v1", tags=["activities"])
IDEAS = "/couples/me/activities/ideas"
MATCHES = "/couples/me/activities/matches"
Reader = Annotated[Member, member(Scope.activities_read)]
Writer = Annotated[Member, member(Scope.activities_write)]
COUPLE_ERRORS = (Unauthorized, InsufficientScope, NoCouple, ideas.ActivitiesHidden)
IDEA_ERRORS = (*COUPLE_ERRORS, ideas.IdeaNotFound)
MATCH_ERRORS = (*COUPLE_ERRORS, matches.MatchNotFound)


def _languages(*views: ideas.IdeaView | None) -> dict[str, str]:
    return localized(view.locale for view in views if view is not None and view.locale)


@router.get(
    IDEAS,
    summary="List our activity ideas",
    response_model=Page[IdeaOut],
    responses=responses_for(*COUPLE_ERRORS, UnprocessableContent),
)
async def activity_ideas_list(
    me: Reader,
    session: SessionDep,
    params: PageParams,
    response: Response,
    accept_language: AcceptLanguage = None,
) -> Page[IdeaOut]:
    """Your couple's own ideas, newest first, then the curated ones (the `play` prompts of
    the libraries you draw from, in your language), each with your own mark."""
    wanted = await reader_preferences(session, me.user_id, accept_language)
    views, window = await ideas.list_ideas(session, me, params, wanted)
    response.headers.update(_languages(*views))
    return Page[IdeaOut](
        data=[IdeaOut.of(view) for view in views],
        next_cursor=window.next_cursor,
        has_more=window.has_more,
    )


@router.post(
    IDEAS,
    summary="Add an activity idea of our own",
    status_code=201,
    response_model=IdeaOut,
    responses=responses_for(*COUPLE_ERRORS, UnprocessableContent),
)
async def activity_ideas_create(
    request: Request, data: IdeaCreate, me: Writer, session: SessionDep, now: Now
) -> Response:
    """Both partners see it; either can mark it. Only you can remove it later."""
    view = await ideas.add_idea(session, me, data.title, data.note, now)
    return resource_response(
        request,
        IdeaOut.of(view),
        status_code=201,
        headers={"Location": f"/v1{IDEAS}/{view.id}"},
    )


@router.get(
    IDEAS + "/{idea_id}",
    summary="Get an activity idea",
    response_model=IdeaOut,
    responses=responses_for(*IDEA_ERRORS),
)
async def activity_ideas_get(
    request: Request,
    idea_id: uuid.UUID,
    me: Reader,
    session: SessionDep,
    accept_language: AcceptLanguage = None,
) -> Response:
    """The idea with your own mark, and its match if you both want it."""
    wanted = await reader_preferences(session, me.user_id, accept_language)
    view = await ideas.get_idea(session, me, idea_id, wanted)
    return resource_response(request, IdeaOut.of(view), headers=_languages(view))


@router.delete(
    IDEAS + "/{idea_id}",
    summary="Remove an activity idea of our own",
    status_code=204,
    responses=responses_for(*IDEA_ERRORS, ideas.NotYourIdea, ideas.IdeaPlanned),
)
async def activity_ideas_delete(idea_id: uuid.UUID, me: Writer, session: SessionDep) -> Response:
    """The partner who added it removes it, with every mark on it; not while it is
    planned."""
    await ideas.remove_idea(session, me, idea_id)
    return Response(status_code=204)


@router.put(
    IDEAS + "/{idea_id}/mark",
    summary="Mark an activity idea",
    response_model=IdeaOut,
    responses=responses_for(*IDEA_ERRORS, UnprocessableContent),
)
async def activity_marks_put(
    request: Request,
    idea_id: uuid.UUID,
    data: MarkIn,
    me: Writer,
    session: SessionDep,
    now: Now,
    accept_language: AcceptLanguage = None,
) -> Response:
    """`want` or `not_now`, changeable. Your partner never sees your mark; when you both want
    the idea, it becomes a match for both of you. A match not planned yet goes away when
    either of you stops wanting it."""
    wanted = await reader_preferences(session, me.user_id, accept_language)
    view = await ideas.set_mark(session, me, idea_id, data.mark, now, wanted)
    return resource_response(request, IdeaOut.of(view), headers=_languages(view))


@router.delete(
    IDEAS + "/{idea_id}/mark",
    summary="Withdraw my mark on an activity idea",
    status_code=204,
    responses=responses_for(*IDEA_ERRORS),
)
async def activity_marks_delete(
    idea_id: uuid.UUID, me: Writer, session: SessionDep, now: Now
) -> Response:
    """As if you had never marked it (also when you had not); a match not planned yet goes
    away."""
    await ideas.set_mark(session, me, idea_id, None, now, Preferences())
    return Response(status_code=204)


@router.get(
    MATCHES,
    summary="List our matches",
    response_model=Page[MatchOut],
    responses=responses_for(*COUPLE_ERRORS, UnprocessableContent),
)
async def activity_matches_list(
    me: Reader,
    session: SessionDep,
    params: PageParams,
    now: Now,
    response: Response,
    accept_language: AcceptLanguage = None,
) -> Page[MatchOut]:
    """The ideas you both want, newest match first, with their plans and reviews."""
    wanted = await reader_preferences(session, me.user_id, accept_language)
    views, window = await matches.list_matches(session, me, params, wanted, now)
    response.headers.update(_languages(*(view.idea for view in views)))
    return Page[MatchOut](
        data=[MatchOut.of(view, me.user_id) for view in views],
        next_cursor=window.next_cursor,
        has_more=window.has_more,
    )


@router.get(
    MATCHES + "/{match_id}",
    summary="Get a match",
    response_model=MatchOut,
    responses=responses_for(*MATCH_ERRORS),
)
async def activity_matches_get(
    request: Request,
    match_id: uuid.UUID,
    me: Reader,
    session: SessionDep,
    now: Now,
    accept_language: AcceptLanguage = None,
) -> Response:
    """An idea both partners want: its plan, if any, and how it went once both said so (the
    partner's review shows only once yours is in)."""
    wanted = await reader_preferences(session, me.user_id, accept_language)
    view = await matches.get_match(session, me, match_id, wanted, now)
    return resource_response(request, MatchOut.of(view, me.user_id), headers=_languages(view.idea))


@router.patch(
    MATCHES + "/{match_id}",
    summary="Plan a match",
    response_model=MatchOut,
    responses=responses_for(
        *MATCH_ERRORS,
        matches.PlanLocked,
        PreconditionFailed,
        PreconditionRequired,
        UnprocessableContent,
    ),
)
async def activity_matches_plan(
    request: Request,
    match_id: uuid.UUID,
    data: PlanIn,
    me: Writer,
    session: SessionDep,
    now: Now,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Set `planned_for` to a local date (your couple's timezone), today or later; move it,
    or clear it with null, until one of you said how it went. `If-Match` is required: your
    partner may have planned it meanwhile."""
    wanted = await reader_preferences(session, me.user_id, accept_language)

    def if_match(current: matches.MatchView) -> None:
        check_if_match(request, MatchOut.of(current, me.user_id), required=True)

    view = await matches.plan(session, me, match_id, data.planned_for, wanted, now, guard=if_match)
    return resource_response(request, MatchOut.of(view, me.user_id), headers=_languages(view.idea))


@router.post(
    MATCHES + "/{match_id}/reviews",
    summary="Say how a planned activity went",
    status_code=201,
    response_model=MatchOut,
    responses=responses_for(*MATCH_ERRORS, matches.ReviewRefused, UnprocessableContent),
)
async def activity_reviews_create(
    request: Request,
    match_id: uuid.UUID,
    data: ReviewIn,
    me: Writer,
    session: SessionDep,
    now: Now,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Once each, from the planned date on: a rating of 1 to 5 and, if you like, a note.
    Your partner's review shows once you both said yours; the plan is `done` then."""
    wanted = await reader_preferences(session, me.user_id, accept_language)
    view = await matches.review(session, me, match_id, data.rating, data.note, wanted, now)
    return resource_response(
        request,
        MatchOut.of(view, me.user_id),
        status_code=201,
        headers={"Location": f"/v1{MATCHES}/{match_id}", **_languages(view.idea)},
    )
