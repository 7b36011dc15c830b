"""Speaker-listener conversations through HTTP: starting one, moving, reading."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from app.models import Consent
from app.services.clients import register_client
from tests.conftest import Person

RW = ("conversations:read", "conversations:write")
CONVERSATIONS = "/v1/couples/me/conversations"
THERAPIST = "talk-space"


def h(person: Person, *scopes: str, client_id: str = "rapport-mobile") -> dict[str, str]:
    return person.headers(*(scopes or RW), client_id=client_id)


async def start(client: httpx.AsyncClient, person: Person, **body: Any) -> dict[str, Any]:
    response = await client.post(CONVERSATIONS, json=body, headers=h(person))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def act(
    client: httpx.AsyncClient,
    person: Person,
    conversation_id: str,
    move: str,
    text: str | None = None,
    **headers: str,
) -> httpx.Response:
    body: dict[str, Any] = {"move": move} | ({"text": text} if text is not None else {})
    return await client.post(
        f"{CONVERSATIONS}/{conversation_id}/moves", json=body, headers=h(person) | headers
    )


async def moved(
    client: httpx.AsyncClient,
    person: Person,
    conversation_id: str,
    move: str,
    text: str | None = None,
) -> dict[str, Any]:
    response = await act(client, person, conversation_id, move, text)
    assert response.status_code == 200, (move, response.text)
    return response.json()  # type: ignore[no-any-return]


async def refused(
    client: httpx.AsyncClient,
    person: Person,
    conversation_id: str,
    move: str,
    text: str | None = None,
) -> dict[str, Any]:
    response = await act(client, person, conversation_id, move, text)
    assert response.status_code == 409, (move, response.text)
    problem = response.json()
    assert problem["type"] == "/problems/conversation-move-out-of-order"
    assert response.headers["content-type"].startswith("application/problem+json")
    return problem  # type: ignore[no-any-return]


async def register_therapist(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        await register_client(
            session,
            name="Talk Space",
            redirect_uris=["https://talk.example/callback"],
            scopes=list(RW),
            confidential=True,
            client_id=THERAPIST,
        )


async def grant(app: FastAPI, person: Person, *scopes: str) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        session.add(Consent(user_id=person.id, client_id=THERAPIST, scopes=list(scopes or RW)))
