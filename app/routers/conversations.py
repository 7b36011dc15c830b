"""Speaker-listener conversations: one partner holds the floor and shares, the other
paraphrases before responding, the speaker confirms or corrects; then the floor can pass.

A third-party app reaches a couple's conversations only while both partners have allowed it
`conversations:read`; otherwise they answer 404 to it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.core.clock import Now
from app.core.etag import resource_response
from app.core.pagination import Page, PageParams
from app.core.problems import InsufficientScope, Unauthorized, UnprocessableContent, responses_for
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.schemas.conversations import (
    ConversationCreate,
    ConversationOut,
    ConversationSummary,
    MoveIn,
    TurnOut,
)
from app.services import conversations as service
from app.services.couples import NoCouple
from app.services.library_prompts import PromptNotFound

router = APIRouter(prefix="/v1", tags=["conversations"])
CONVERSATIONS = "/couples/me/conversations"
Reader = Annotated[Member, member(Scope.conversations_read)]
Writer = Annotated[Member, member(Scope.conversations_write)]
COUPLE_ERRORS = (Unauthorized, InsufficientScope, NoCouple, service.ConversationsHidden)
ONE_ERRORS = (*COUPLE_ERRORS, service.ConversationNotFound)


@router.post(
    CONVERSATIONS,
    summary="Start a speaker-listener conversation",
    status_code=201,
    response_model=ConversationOut,
    responses=responses_for(
        *COUPLE_ERRORS, service.PartnerMissing, PromptNotFound, UnprocessableContent
    ),
)
async def conversations_create(
    request: Request, data: ConversationCreate, me: Writer, session: SessionDep, now: Now
) -> Response:
    """On a topic of your own or from a published prompt. You hold the floor first unless
    `first_speaker` is `partner`; the speaker begins with a `share`."""
    view = await service.start(session, me, data, now)
    location = f"/v1{CONVERSATIONS}/{view.conversation.id}"
    return resource_response(
        request, ConversationOut.from_view(view), status_code=201, headers={"Location": location}
    )


@router.get(
    CONVERSATIONS,
    summary="List my couple's conversations",
    response_model=Page[ConversationSummary],
    responses=responses_for(*COUPLE_ERRORS, UnprocessableContent),
)
async def conversations_list(
    me: Reader, session: SessionDep, params: PageParams
) -> Page[ConversationSummary]:
    """Newest first, ended ones included; the turns are in each conversation."""
    window = await service.list_conversations(session, me, params)
    return Page[ConversationSummary].of(window, ConversationSummary.from_conversation)


@router.get(
    CONVERSATIONS + "/{conversation_id}",
    summary="Get a conversation",
    response_model=ConversationOut,
    responses=responses_for(*ONE_ERRORS),
)
async def conversations_get(
    request: Request, conversation_id: uuid.UUID, me: Reader, session: SessionDep
) -> Response:
    """The conversation with every turn so far, and the moves you can make now."""
    view = await service.get_conversation(session, me, conversation_id)
    return resource_response(request, ConversationOut.from_view(view))


@router.get(
    CONVERSATIONS + "/{conversation_id}/turns",
    summary="List a conversation's turns",
    response_model=Page[TurnOut],
    responses=responses_for(*ONE_ERRORS, UnprocessableContent),
)
async def conversations_turns(
    conversation_id: uuid.UUID,
    me: Reader,
    session: SessionDep,
    params: PageParams,
    after_seq: Annotated[
        int,
        Query(
            ge=0,
            le=2**31 - 1,
            description="Only the turns after this `seq`: the last one you hold.",
        ),
    ] = 0,
) -> Page[TurnOut]:
    """The turns in order, a page at a time. To follow a conversation as it goes, pass the
    `seq` of the last turn you hold as `after_seq`."""
    window = await service.list_turns(session, me, conversation_id, params, after_seq=after_seq)
    return Page[TurnOut].of(window, TurnOut.model_validate)


@router.post(
    CONVERSATIONS + "/{conversation_id}/moves",
    summary="Make a move in a conversation",
    response_model=ConversationOut,
    responses=responses_for(*ONE_ERRORS, service.MoveOutOfOrder, UnprocessableContent),
)
async def conversations_move(
    request: Request,
    conversation_id: uuid.UUID,
    data: MoveIn,
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """The speaker `share`s; the listener `paraphrase`s what they heard; the speaker
    `confirm`s it or `correct`s it (the listener paraphrases again); once confirmed, the
    speaker shares more or passes the floor (`pass_floor`: the roles swap). Either partner
    can `pause`, `resume` and `end` at any time; once it ended, each can `appreciate` the
    other once. After 300 moves a conversation can only `end` (start a new one to go on). A
    move out of turn answers `409` naming `expected_moves`, and changes nothing."""
    view = await service.make_move(session, me, conversation_id, data, now)
    return resource_response(request, ConversationOut.from_view(view))
