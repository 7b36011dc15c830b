"""The person's access log: when third-party apps read their private writing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from app.core.pagination import Page, PageParams
from app.core.problems import InsufficientScope, Unauthorized, UnprocessableContent, responses_for
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.schemas.access_log import AccessLogEntryOut
from app.services import access_log as service

router = APIRouter(prefix="/v1", tags=["me"])


@router.get(
    "/me/access-log",
    summary="List reads of my private writing",
    response_model=Page[AccessLogEntryOut],
    responses=responses_for(Unauthorized, InsufficientScope, UnprocessableContent),
)
async def me_access_log_list(
    me: Annotated[Member, member(Scope.profile)], session: SessionDep, params: PageParams
) -> Page[AccessLogEntryOut]:
    """Every time a third-party app read your journal or your private check-ins, newest
    first: which app, what kind, how many items, when. Reads through Rapport's own apps are
    you reading your own words and are not listed."""
    window = await service.list_entries(session, me, params)
    return Page.of(window, AccessLogEntryOut.model_validate)
