"""Reading a person's sync feed, and writing the check-ins it carries."""

from __future__ import annotations

from typing import Any

import httpx

from app.core.security import MEMBER_SCOPES
from tests.conftest import Person

SYNC = "/v1/sync"
MEMBER = sorted(scope.value for scope in MEMBER_SCOPES)


def h(person: Person, *scopes: str) -> dict[str, str]:
    return person.headers(*(scopes or MEMBER))


async def checkin(client: httpx.AsyncClient, person: Person, visibility: str, note: str) -> str:
    created = await client.post(
        "/v1/checkins",
        json={"mood": 2, "note": note, "visibility": visibility},
        headers=h(person),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def fetch(
    client: httpx.AsyncClient, person: Person, cursor: str | None = None, limit: int = 100
) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit}
    if cursor:
        params["cursor"] = cursor
    response = await client.get(SYNC, params=params, headers=h(person))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def fetch_all(
    client: httpx.AsyncClient, person: Person, cursor: str | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    while True:
        page = await fetch(client, person, cursor, limit)
        items += page["data"]
        cursor = page["next_cursor"]
        assert cursor
        if not page["has_more"]:
            return items, cursor
