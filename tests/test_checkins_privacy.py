"""Who sees a check-in: the privacy matrix over every check-in endpoint.

A private check-in is its author's alone: the partner, another couple, an admin, a client
acting for itself and a token without the scope all learn nothing of it, not even that it
exists. A shared one reaches the partner of the couple it was written in, and nobody else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Event, Role
from tests.conftest import MakeUser, Person
from tests.factories import pair

READ, WRITE = "checkins:read", "checkins:write"
SECRET = "I am scared you will leave like my father did"


@dataclass
class World:
    ann: Person
    bo: Person
    viewers: dict[str, dict[str, str]]
    """Everyone but the author, by role in the matrix, with the headers they call with."""


@pytest.fixture
async def world(client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI) -> World:
    ann, bo = await make_user(display_name="Ann"), await make_user(display_name="Bo")
    await pair(client, ann, bo)
    cy, di = await make_user(), await make_user()
    await pair(client, cy, di)
    admin = await make_user(role=Role.admin)
    client_token, _ = app.state.tokens.issue(
        subject="partner-app", client_id="partner-app", scope="checkins:read journal:read"
    )
    return World(
        ann=ann,
        bo=bo,
        viewers={
            "partner": bo.headers(READ, WRITE),
            "other couple": cy.headers(READ, WRITE),
            "admin": admin.headers("admin:content", "admin:users", READ, WRITE),
            "client": {"Authorization": f"Bearer {client_token}"},
            "no scope": ann.headers("profile", "couple:read"),
        },
    )


async def probe(
    client: httpx.AsyncClient, headers: dict[str, str], checkin_id: str, bodies: list[str]
) -> dict[str, Any]:
    """What one caller gets from each endpoint about one check-in; list endpoints answer
    `seen` or `hidden` when they succeed."""
    path = f"/v1/checkins/{checkin_id}"
    calls: list[tuple[str, str, str, dict[str, Any] | None]] = [
        ("get", "GET", path, None),
        ("list", "GET", "/v1/checkins?limit=100", None),
        ("couple", "GET", "/v1/couples/me/checkins?limit=100", None),
        ("reflections", "GET", f"{path}/reflections", None),
        ("reflect", "POST", f"{path}/reflections", {"kind": "ask", "text": "How was it?"}),
        ("patch", "PATCH", path, {"mood": 1}),
        ("delete", "DELETE", path, None),
    ]
    outcome: dict[str, Any] = {}
    for name, method, url, body in calls:
        response = await client.request(
            method, url, json=body, headers={**headers, "If-Match": "*"}
        )
        bodies.append(response.text)
        if name in ("list", "couple") and response.status_code == 200:
            ids = {item["id"] for item in response.json()["data"]}
            outcome[name] = "seen" if checkin_id in ids else "hidden"
        else:
            outcome[name] = response.status_code
    return outcome


NOBODY = {
    "get": 404,
    "list": "hidden",
    "couple": "hidden",
    "reflections": 404,
    "reflect": 404,
    "patch": 404,
    "delete": 404,
}
NO_ACCESS = dict.fromkeys(NOBODY, 403)
EXPECTED_PRIVATE = {
    "partner": NOBODY,
    "other couple": NOBODY,
    "admin": {**NOBODY, "couple": 404},  # the admin has no couple
    "client": NO_ACCESS,
    "no scope": NO_ACCESS,
}
EXPECTED_SHARED = {
    **EXPECTED_PRIVATE,
    "partner": {**NOBODY, "get": 200, "couple": "seen", "reflections": 200, "reflect": 201},
}


async def write(client: httpx.AsyncClient, ann: Person, visibility: str) -> str:
    created = await client.post(
        "/v1/checkins",
        json={
            "mood": 2,
            "emotions": ["scared.anxious"],
            "needs": ["connection.reassurance"],
            "note": SECRET,
            "request": "hold me tonight",
            "visibility": visibility,
        },
        headers=ann.headers(READ, WRITE),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_a_private_checkin_reaches_nobody_but_its_author(
    client: httpx.AsyncClient, world: World, db: AsyncSession
) -> None:
    checkin_id = await write(client, world.ann, "private")
    bodies: list[str] = []
    seen = {who: await probe(client, h, checkin_id, bodies) for who, h in world.viewers.items()}
    assert seen == EXPECTED_PRIVATE
    assert not [body for body in bodies if SECRET in body or "hold me tonight" in body]

    mine = await client.get(f"/v1/checkins/{checkin_id}", headers=world.ann.headers(READ))
    assert mine.status_code == 200 and mine.json()["note"] == SECRET
    in_couple = await client.get("/v1/couples/me/checkins", headers=world.ann.headers(READ))
    assert [c["id"] for c in in_couple.json()["data"]] == [checkin_id]

    # Nothing in the event feed: no event at all, so no webhook or device learns of it.
    events = list(await db.scalars(select(Event)))
    assert not [e for e in events if e.type.startswith(("checkin.", "reflection."))]
    assert not [e for e in events if checkin_id in str(e.data) or SECRET in str(e.data)]


async def test_a_shared_checkin_reaches_the_partner_alone(
    client: httpx.AsyncClient, world: World, db: AsyncSession
) -> None:
    checkin_id = await write(client, world.ann, "partner")
    bodies: list[str] = []
    seen = {who: await probe(client, h, checkin_id, bodies) for who, h in world.viewers.items()}
    assert seen == EXPECTED_SHARED
    partner_view = await client.get(f"/v1/checkins/{checkin_id}", headers=world.viewers["partner"])
    assert partner_view.json()["note"] == SECRET
    assert partner_view.json()["user_id"] == str(world.ann.id)

    events = list(await db.scalars(select(Event).order_by(Event.seq)))
    shared = [e for e in events if e.type.startswith(("checkin.", "reflection."))]
    assert [e.type for e in shared] == ["checkin.shared", "reflection.created"]
    assert shared[0].data == {"checkin_id": checkin_id}
    assert shared[0].user_id == world.ann.id
    for event in events:
        assert SECRET not in str(event.data) and "How was it" not in str(event.data)


async def test_no_admin_operation_reaches_checkins_or_the_journal(app: FastAPI) -> None:
    paths = [path for path in app.openapi()["paths"] if path.startswith("/v1/admin")]
    assert paths  # the admin API exists …
    assert not [p for p in paths if "checkin" in p or "journal" in p]  # … and stays out


async def test_a_couple_that_ended_no_longer_shares(
    client: httpx.AsyncClient, world: World
) -> None:
    checkin_id = await write(client, world.ann, "partner")
    bo = world.viewers["partner"]
    assert (await client.get(f"/v1/checkins/{checkin_id}", headers=bo)).status_code == 200
    left = await client.post("/v1/couples/me/leave", headers=world.bo.headers("couple:write"))
    assert left.status_code == 204
    gone = await client.get(f"/v1/checkins/{checkin_id}", headers=bo)
    assert gone.status_code == 404 and SECRET not in gone.text
    mine = await client.get(f"/v1/checkins/{checkin_id}", headers=world.ann.headers(READ))
    assert mine.status_code == 200
    # Sharing again is refused: that couple is over.
    etag = mine.headers["etag"]
    private = await client.patch(
        f"/v1/checkins/{checkin_id}",
        json={"visibility": "private"},
        headers={**world.ann.headers(WRITE), "If-Match": etag},
    )
    assert private.status_code == 200
    again = await client.patch(
        f"/v1/checkins/{checkin_id}",
        json={"visibility": "partner"},
        headers={**world.ann.headers(WRITE), "If-Match": private.headers["etag"]},
    )
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/checkin-not-shareable"
