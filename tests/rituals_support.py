"""The weekly ritual through HTTP: scheduling, starting, writing, finishing, committing; and
the couple's test clock, which the ritual's "now" reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from tests.conftest import Person

RW = ("conversations:read", "conversations:write")
SCHEDULE = "/v1/couples/me/ritual-schedule"
RITUALS = "/v1/couples/me/rituals"
COMMITMENTS = "/v1/couples/me/ritual-commitments"
CLOCKS = "/v1/test-clocks"
CLOCK_SCOPES = ("couple:read", "couple:write")


def h(person: Person, *scopes: str, client_id: str = "rapport-mobile") -> dict[str, str]:
    return person.headers(*(scopes or RW), client_id=client_id)


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}", body
    return body


async def schedule(
    client: httpx.AsyncClient, person: Person, weekday: str = "sunday", at: str = "19:00"
) -> httpx.Response:
    return await client.put(
        SCHEDULE, json={"weekday": weekday, "local_time": at}, headers=h(person)
    )


async def start_ritual(client: httpx.AsyncClient, person: Person) -> dict[str, Any]:
    return ok(await client.post(RITUALS, headers=h(person)), 201)


async def write(
    client: httpx.AsyncClient, person: Person, ritual_id: str, step: str, text: str
) -> httpx.Response:
    return await client.post(
        f"{RITUALS}/{ritual_id}/entries", json={"step": step, "text": text}, headers=h(person)
    )


async def finish(
    client: httpx.AsyncClient, person: Person, ritual_id: str, step: str
) -> httpx.Response:
    return await client.post(f"{RITUALS}/{ritual_id}/steps/{step}/finish", headers=h(person))


async def issue(
    client: httpx.AsyncClient, person: Person, ritual_id: str, **body: Any
) -> httpx.Response:
    return await client.put(f"{RITUALS}/{ritual_id}/issue", json=body, headers=h(person))


async def commit(
    client: httpx.AsyncClient, person: Person, ritual_id: str, text: str
) -> httpx.Response:
    return await client.post(
        f"{RITUALS}/{ritual_id}/commitments", json={"text": text}, headers=h(person)
    )


async def mark(
    client: httpx.AsyncClient, person: Person, commitment_id: str, done: bool = True
) -> httpx.Response:
    path = f"{COMMITMENTS}/{commitment_id}/done"
    if done:
        return await client.put(path, headers=h(person))
    return await client.delete(path, headers=h(person))


async def written_and_finished(
    client: httpx.AsyncClient, person: Person, ritual_id: str, step: str, text: str
) -> dict[str, Any]:
    ok(await write(client, person, ritual_id, step, text))
    return ok(await finish(client, person, ritual_id, step))


async def couple_clock(
    client: httpx.AsyncClient, owner: Person, couple_id: str, at: datetime
) -> str:
    """A test clock at `at`, with the owner's couple attached: its id."""
    headers = owner.headers(*CLOCK_SCOPES)
    made = ok(await client.post(CLOCKS, json={"frozen_time": at.isoformat()}, headers=headers), 201)
    clock = str(made["id"])
    attached = await client.post(
        f"{CLOCKS}/{clock}/couples", json={"couple_id": couple_id}, headers=headers
    )
    ok(attached)
    return clock


async def advance(client: httpx.AsyncClient, owner: Person, clock: str, at: datetime) -> None:
    moved = await client.post(
        f"{CLOCKS}/{clock}/advance",
        json={"frozen_time": at.isoformat()},
        headers=owner.headers(*CLOCK_SCOPES),
    )
    ok(moved)
