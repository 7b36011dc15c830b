"""Repair plans through HTTP: proposing, moving, reading, and the couple that does it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, update

from app.models import Consent
from app.models.base import utcnow
from app.services.clients import register_client
from app.services.repair_catalog import seed_templates
from tests.conftest import MakeUser, Person
from tests.factories import pair

RW = ("repair:read", "repair:write")
PLANS = "/v1/couples/me/repair-plans"


def h(person: Person, *scopes: str) -> dict[str, str]:
    return person.headers(*(scopes or RW))


@pytest.fixture
async def couple(client: httpx.AsyncClient, make_user: MakeUser) -> tuple[Person, Person]:
    ann, bo = await make_user(display_name="Ann"), await make_user(display_name="Bo")
    await pair(client, ann, bo)
    return ann, bo


@pytest.fixture
async def templates(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        await seed_templates(session)


async def propose(client: httpx.AsyncClient, proposer: Person, **body: Any) -> dict[str, Any]:
    if not body.get("mutual"):
        body.setdefault("hurt_user_id", str(proposer.id))
    response = await client.post(PLANS, json=body, headers=h(proposer))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def act(
    client: httpx.AsyncClient, person: Person, plan_id: str, move: str, **body: Any
) -> httpx.Response:
    return await client.post(f"{PLANS}/{plan_id}/{move}", json=body or None, headers=h(person))


async def moved(
    client: httpx.AsyncClient, person: Person, plan_id: str, move: str, **body: Any
) -> dict[str, Any]:
    response = await act(client, person, plan_id, move, **body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def active_plan(
    client: httpx.AsyncClient, ann: Person, bo: Person, **body: Any
) -> dict[str, Any]:
    plan = await propose(client, ann, **body)
    return await moved(client, bo, plan["id"], "accept")


async def get_plan(client: httpx.AsyncClient, person: Person, plan_id: str) -> dict[str, Any]:
    response = await client.get(f"{PLANS}/{plan_id}", headers=h(person))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def refused(
    client: httpx.AsyncClient, person: Person, plan_id: str, move: str
) -> dict[str, Any]:
    response = await act(client, person, plan_id, move)
    assert response.status_code == 409, (move, response.text)
    problem = response.json()
    assert problem["type"] == "/problems/repair-plan-illegal-transition"
    return problem  # type: ignore[no-any-return]


THERAPIST = "therapy-space"


async def register_therapist(app: FastAPI, client_id: str = THERAPIST, **flags: bool) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        await register_client(
            session,
            name="Therapy Space",
            redirect_uris=["https://therapy.example/callback"],
            scopes=["repair:read", "repair:write"],
            confidential=True,
            client_id=client_id,
            **flags,
        )


async def grant(app: FastAPI, person: Person, *scopes: str) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        session.add(
            Consent(user_id=person.id, client_id=THERAPIST, scopes=list(scopes or ["repair:read"]))
        )


async def change_consent(app: FastAPI, person: Person, *, drop: bool = False) -> None:
    where = (Consent.user_id == person.id, Consent.client_id == THERAPIST)
    async with app.state.sessionmaker() as session, session.begin():
        if drop:
            await session.execute(delete(Consent).where(*where))
        else:
            await session.execute(update(Consent).where(*where).values(revoked_at=utcnow()))
