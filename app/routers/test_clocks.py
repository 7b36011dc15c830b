"""Test clocks over HTTP: development and test environments only, never in the schema.

Mounted by `install_test_clocks` outside production only (so production answers 404), and
with `include_in_schema=False` everywhere, so the published openapi.json (generated in the
development environment) never lists them; docs/test-clocks.md describes them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, FastAPI, Request, Response

from app.config import Environment, Settings
from app.core.security import Member, Scope, member
from app.core.tokens import InvalidToken, TokenService
from app.db import SessionDep
from app.models.test_clocks import TestClock
from app.schemas.test_clocks import (
    TestClockAdvance,
    TestClockAttach,
    TestClockCreate,
    TestClockOut,
)
from app.services import test_clocks as service

router = APIRouter(prefix="/v1/test-clocks", tags=["test-clocks"], include_in_schema=False)
Owner = Annotated[Member, member(Scope.couple_write)]
PERSON_PATH = "/v1/me"
"""The person's account, not the couple's life: its deadlines (the erasure's grace period,
exports, the safety exit) always run on the real time, clock or not."""


async def _out(session: SessionDep, clock: TestClock) -> TestClockOut:
    return TestClockOut(
        id=clock.id,
        name=clock.name,
        frozen_time=clock.frozen_time,
        created_at=clock.created_at,
        couples=await service.attached_couples(session, clock.id),
    )


@router.post("", status_code=201, response_model=TestClockOut)
async def test_clocks_create(
    request: Request, response: Response, me: Owner, session: SessionDep, body: TestClockCreate
) -> TestClockOut:
    """Make a clock frozen at `frozen_time`."""
    clock = await service.create_clock(session, me, body.frozen_time, body.name)
    response.headers["Location"] = f"/v1/test-clocks/{clock.id}"
    return await _out(session, clock)


@router.get("/{clock_id}", response_model=TestClockOut)
async def test_clocks_get(clock_id: uuid.UUID, me: Owner, session: SessionDep) -> TestClockOut:
    return await _out(session, await service.get_clock(session, me, clock_id))


@router.post("/{clock_id}/advance", response_model=TestClockOut)
async def test_clocks_advance(
    request: Request,
    clock_id: uuid.UUID,
    me: Owner,
    session: SessionDep,
    body: TestClockAdvance,
) -> TestClockOut:
    """Move the clock forward (never back) to `frozen_time`."""
    clock = await service.advance_clock(session, me, clock_id, body.frozen_time)
    return await _out(session, clock)


@router.delete("/{clock_id}", status_code=204)
async def test_clocks_delete(clock_id: uuid.UUID, me: Owner, session: SessionDep) -> Response:
    await service.delete_clock(session, me, clock_id)
    return Response(status_code=204)


@router.post("/{clock_id}/couples", response_model=TestClockOut)
async def test_clocks_attach(
    request: Request,
    clock_id: uuid.UUID,
    me: Owner,
    session: SessionDep,
    body: TestClockAttach,
) -> TestClockOut:
    """Attach a couple you are in: its members now live at the clock's time."""
    clock = await service.attach_couple(session, me, clock_id, body.couple_id)
    request.app.state.test_clocks_in_use = True
    return await _out(session, clock)


@router.delete("/{clock_id}/couples/{couple_id}", status_code=204)
async def test_clocks_detach(
    clock_id: uuid.UUID, couple_id: uuid.UUID, me: Owner, session: SessionDep
) -> Response:
    await service.detach_couple(session, me, clock_id, couple_id)
    return Response(status_code=204)


async def couple_time(request: Request) -> datetime | None:
    """The frozen time of the caller's couple clock, for `app.core.clock.current_time`.

    Costs nothing until a couple was attached (the `test_clocks_in_use` flag; in development
    it starts unknown and one query settles it); then one query per request that reads the
    time (but under `/v1/me`). The token is verified here: a forged one must not pick
    another couple's time.
    """
    state = request.app.state
    if state.test_clocks_in_use is False:
        return None  # settled: no couple has a clock (the common case, at no cost)
    path = request.url.path
    if path == PERSON_PATH or path.startswith(PERSON_PATH + "/"):
        return None  # the person's own account (closing, exports, safety exit): real time
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    tokens: TokenService = state.tokens
    try:
        claims = tokens.verify(token.strip())
    except InvalidToken:
        return None
    if claims.user_id is None:
        return None
    async with state.reading_sessionmaker() as session:
        if state.test_clocks_in_use is None:
            state.test_clocks_in_use = await service.any_attached(session)
        if not state.test_clocks_in_use:
            return None
        return await service.time_for_person(session, claims.user_id)


def install_test_clocks(app: FastAPI, settings: Settings) -> None:
    """Mount the routes and make `Now` read couple clocks, outside production only."""
    if settings.environment is Environment.production:
        return
    app.include_router(router)
    app.state.test_clocks_in_use = False if settings.environment is Environment.test else None
    app.state.test_clock_reader = couple_time
