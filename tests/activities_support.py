"""Time together through HTTP: a couple, a library with play prompts (one translated into
German), and helpers to mark, plan and review."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.models import Consent, PromptTranslation, PromptVersion
from app.models.prompts import Category
from app.services.clients import register_client
from tests.conftest import MakeUser, Person
from tests.factories import pair, publish_library

RW = ("activities:read", "activities:write")
IDEAS = "/v1/couples/me/activities/ideas"
MATCHES = "/v1/couples/me/activities/matches"
THERAPIST = "together-space"
GERMAN = "Macht zusammen einen Spaziergang"


def h(person: Person, *scopes: str, client_id: str = "rapport-mobile") -> dict[str, str]:
    return person.headers(*(scopes or RW), client_id=client_id)


@dataclass
class Couple:
    ann: Person
    bo: Person
    couple_id: str
    play: list[uuid.UUID]
    """The curated ideas (play prompts' ids); the first one has a German translation."""


async def couple_with_ideas(app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser) -> Couple:
    library = await publish_library(
        app.state.sessionmaker,
        prompts=[(Category.play, 1), (Category.play, 2), (Category.share, 2)],
    )
    async with app.state.sessionmaker() as session, session.begin():
        versions = list(
            await session.scalars(
                select(PromptVersion)
                .where(
                    PromptVersion.library_id == library.id,
                    PromptVersion.category == Category.play,
                )
                .order_by(PromptVersion.text)
            )
        )
        session.add(
            PromptTranslation(
                prompt_version_id=versions[0].id,
                library_id=library.id,
                locale="de",
                text=GERMAN,
                is_live=True,
            )
        )
    ann, bo = await make_user(display_name="Ann"), await make_user(display_name="Bo")
    couple = await pair(client, ann, bo)
    return Couple(ann, bo, str(couple["id"]), [v.prompt_id for v in versions])


async def send(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Any = None,
    status: int = 200,
) -> Any:
    response = await client.request(method, path, json=body, headers=headers)
    assert response.status_code == status, (method, path, response.text)
    return response.json() if response.content else None


async def mark(
    client: httpx.AsyncClient, person: Person, idea_id: uuid.UUID | str, value: str | None
) -> Any:
    path = f"{IDEAS}/{idea_id}/mark"
    if value is None:
        return await send(client, "DELETE", path, h(person), status=204)
    return await send(client, "PUT", path, h(person), {"mark": value})


async def matches(client: httpx.AsyncClient, person: Person) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await send(client, "GET", MATCHES, h(person)))["data"]
    return found


async def plan(
    client: httpx.AsyncClient, person: Person, match_id: str, day: str | None, status: int = 200
) -> Any:
    path = f"{MATCHES}/{match_id}"
    current = await client.get(path, headers=h(person))
    headers = h(person) | {"If-Match": current.headers["etag"]}
    return await send(client, "PATCH", path, headers, {"planned_for": day}, status=status)


async def register_therapist(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        await register_client(
            session,
            name="Together Space",
            redirect_uris=["https://together.example/callback"],
            scopes=list(RW),
            confidential=True,
            client_id=THERAPIST,
        )


async def grant(app: FastAPI, person: Person, *scopes: str) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        session.add(Consent(user_id=person.id, client_id=THERAPIST, scopes=list(scopes or RW)))
