"""Starting a couple with its first settings: the body of `POST /v1/couples`."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Couple, Event
from tests.conftest import MakeUser

READ, WRITE = "couple:read", "couple:write"


async def test_a_couple_starts_with_the_settings_sent(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    ann = await make_user(timezone="Europe/Paris")
    created = await client.post(
        "/v1/couples",
        json={
            "timezone": "America/Toronto",
            "locale": "fr-ca",
            "relationship_stage": "long_distance",
            "enabled_libraries": ["long-distance", "long-distance"],
            "max_depth": 2,
        },
        headers=ann.headers(READ, WRITE),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["timezone"] == "America/Toronto"
    assert body["locale"] == "fr-CA"
    assert body["relationship_stage"] == "long_distance"
    assert body["enabled_libraries"] == ["long-distance"]
    assert body["max_depth"] == 2
    assert len(body["invite"]["code"]) == 8
    mine = (await client.get("/v1/couples/me", headers=ann.headers(READ))).json()
    assert {k: mine[k] for k in ("timezone", "locale", "max_depth")} == {
        "timezone": "America/Toronto",
        "locale": "fr-CA",
        "max_depth": 2,
    }
    # First settings are part of the creation: no separate `couple.updated` event.
    types = list(await db.scalars(select(Event.type).where(Event.couple_id.is_not(None))))
    assert types == ["couple.created"]


@pytest.mark.parametrize("body", [None, {}, {"timezone": None}])
async def test_without_settings_the_couple_takes_the_creators_zone_and_language(
    client: httpx.AsyncClient, make_user: MakeUser, body: dict[str, object] | None
) -> None:
    ann = await make_user(timezone="Europe/Paris")
    created = await client.post("/v1/couples", json=body, headers=ann.headers(READ, WRITE))
    assert created.status_code == 201, created.text
    assert created.json()["timezone"] == "Europe/Paris"
    assert created.json()["locale"] == "en"
    assert created.json()["max_depth"] == 3


@pytest.mark.parametrize(
    "body",
    [
        {"timzone": "Europe/Paris"},
        {"status": "ended"},
        {"id": "00000000-0000-0000-0000-000000000000"},
        {"timezone": "Nowhere/Land"},
        {"max_depth": 4},
        {"relationship_stage": "married"},
        ["timezone"],
    ],
)
async def test_unknown_or_invalid_settings_are_refused_and_nothing_is_created(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession, body: object
) -> None:
    ann = await make_user()
    refused = await client.post("/v1/couples", json=body, headers=ann.headers(READ, WRITE))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/v1/couples/me", headers=ann.headers(READ))).status_code == 404
    assert await db.scalar(select(func.count()).select_from(Couple)) == 0


async def test_settings_never_reach_a_couple_the_caller_cannot_start(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo = await make_user(), await make_user()
    ours = await client.post("/v1/couples", headers=ann.headers(READ, WRITE))
    assert ours.status_code == 201
    # Already in a couple: refused, and the existing couple keeps its settings.
    again = await client.post(
        "/v1/couples", json={"timezone": "Asia/Tokyo"}, headers=ann.headers(READ, WRITE)
    )
    assert again.status_code == 409
    mine = (await client.get("/v1/couples/me", headers=ann.headers(READ))).json()
    assert mine["timezone"] == "UTC"
    # A token without couple:write, and no token at all, start nothing.
    narrow = await client.post(
        "/v1/couples", json={"timezone": "Asia/Tokyo"}, headers=bo.headers(READ)
    )
    assert narrow.status_code == 403
    anonymous = await client.post("/v1/couples", json={"timezone": "Asia/Tokyo"})
    assert anonymous.status_code == 401
    assert (await client.get("/v1/couples/me", headers=bo.headers(READ))).status_code == 404
