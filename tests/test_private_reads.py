"""Private writing through apps: who reads journal entries and private check-ins, and the log.

A third-party app reads its person's private check-ins only with `checkins:private` and the
journal only with `journal:read`, and every such read lands in the person's access log (one
row per read, never the text). Rapport's own apps read the author's private writing without
the sensitive scopes, unlogged. The partner, an ex-partner, a partner platform acting for
itself and an admin never read it, whatever their scopes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Role
from app.models.access_log import AccessLogEntry
from app.services.clients import register_client
from tests.conftest import MakeUser, Person
from tests.factories import pair
from tests.oauth.flow import PRIVATE_REDIRECT, exchange, obtain_code

CHECKINS = ("checkins:read", "checkins:write")
JOURNAL = ("journal:read", "journal:write")
EVERYTHING = ("profile", *CHECKINS, "checkins:private", *JOURNAL)
PRIVATE_NOTE = "I keep thinking I am too much for anyone"
SHARED_NOTE = "Tired but glad we talked"
JOURNAL_BODY = "When Bo goes quiet I assume the worst, like at home growing up"
THIRD_PARTY, OTHER_FIRST_PARTY = "closer-together", "rapport-web"


@dataclass
class World:
    ann: Person
    bo: Person
    private_id: str
    shared_id: str
    entry_id: str


@pytest.fixture
async def apps(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session, session.begin():
        for client_id, first_party in ((THIRD_PARTY, False), (OTHER_FIRST_PARTY, True)):
            await register_client(
                session,
                name=client_id.replace("-", " ").title(),
                redirect_uris=[PRIVATE_REDIRECT],
                scopes=list(EVERYTHING),
                confidential=False,
                first_party=first_party,
                client_id=client_id,
            )


async def _checkin(client: httpx.AsyncClient, person: Person, note: str, visibility: str) -> str:
    created = await client.post(
        "/v1/checkins",
        json={"mood": 2, "emotions": ["sad.lonely"], "note": note, "visibility": visibility},
        headers=person.headers(*CHECKINS),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


@pytest.fixture
async def world(client: httpx.AsyncClient, make_user: MakeUser, apps: None) -> World:
    ann, bo = await make_user(display_name="Ann"), await make_user(display_name="Bo")
    await pair(client, ann, bo)
    private_id = await _checkin(client, ann, PRIVATE_NOTE, "private")
    shared_id = await _checkin(client, ann, SHARED_NOTE, "partner")
    entry = await client.post(
        "/v1/journal",
        json={"body": JOURNAL_BODY, "pattern_tags": ["assuming the worst"]},
        headers=ann.headers(*JOURNAL),
    )
    assert entry.status_code == 201, entry.text
    return World(ann, bo, private_id, shared_id, str(entry.json()["id"]))


def _ids(response: httpx.Response) -> set[str] | int:
    if response.status_code != 200:
        return response.status_code
    return {item["id"] for item in response.json()["data"]}


async def look(
    client: httpx.AsyncClient, world: World, headers: dict[str, str], bodies: list[str]
) -> dict[str, Any]:
    """What a caller reaches of Ann's writing: ids in lists, status codes of single reads."""
    calls = {
        "checkins": "/v1/checkins",
        "couple": "/v1/couples/me/checkins",
        "private": f"/v1/checkins/{world.private_id}",
        "shared": f"/v1/checkins/{world.shared_id}",
        "journal": "/v1/journal",
        "entry": f"/v1/journal/{world.entry_id}",
        "tags": "/v1/journal/tags",
    }
    seen: dict[str, Any] = {}
    for name, url in calls.items():
        response = await client.get(url, headers=headers)
        bodies.append(response.text)
        seen[name] = (
            _ids(response) if name in ("checkins", "couple", "journal") else (response.status_code)
        )
    return seen


async def _log(db: AsyncSession, person: Person) -> list[AccessLogEntry]:
    await db.rollback()
    return list(
        await db.scalars(
            select(AccessLogEntry)
            .where(AccessLogEntry.user_id == person.id)
            .order_by(AccessLogEntry.occurred_at, AccessLogEntry.id)
        )
    )


async def test_a_third_party_app_without_the_sensitive_scopes_reads_no_private_writing(
    client: httpx.AsyncClient, world: World, db: AsyncSession
) -> None:
    headers = world.ann.headers("profile", *CHECKINS, "journal:write", client_id=THIRD_PARTY)
    bodies: list[str] = []
    seen = await look(client, world, headers, bodies)
    assert seen == {
        "checkins": {world.shared_id},
        "couple": {world.shared_id},
        "private": 404,
        "shared": 200,
        "journal": 403,
        "entry": 403,
        "tags": 403,
    }
    assert not [body for body in bodies if PRIVATE_NOTE in body or JOURNAL_BODY in body]
    # Nor can it change, delete or reflect on what it cannot read (a change shows the item).
    private = f"/v1/checkins/{world.private_id}"
    patch_headers = {**headers, "If-Match": "*"}
    patched = await client.patch(private, json={}, headers=patch_headers)
    assert patched.status_code == 404 and PRIVATE_NOTE not in patched.text
    assert (await client.delete(private, headers=patch_headers)).status_code == 404
    assert (await client.get(f"{private}/reflections", headers=headers)).status_code == 404
    entry = f"/v1/journal/{world.entry_id}"
    peeked = await client.patch(entry, json={}, headers=patch_headers)
    assert peeked.status_code == 404 and JOURNAL_BODY not in peeked.text
    assert (await client.delete(entry, headers=patch_headers)).status_code == 404
    # Writing stays open: a mood tracker may record a private check-in it then cannot read.
    written = await client.post(
        "/v1/checkins", json={"mood": 4, "visibility": "private"}, headers=headers
    )
    assert written.status_code == 201
    assert (await client.get(written.headers["location"], headers=headers)).status_code == 404
    assert await _log(db, world.ann) == []


async def test_a_third_party_app_with_the_sensitive_scopes_reads_and_is_logged(
    client: httpx.AsyncClient, world: World, db: AsyncSession
) -> None:
    headers = world.ann.headers(*EVERYTHING, client_id=THIRD_PARTY)
    bodies: list[str] = []
    seen = await look(client, world, headers, bodies)
    both = {world.private_id, world.shared_id}
    assert seen == {
        "checkins": both,
        "couple": both,
        "private": 200,
        "shared": 200,
        "journal": {world.entry_id},
        "entry": 200,
        "tags": 200,
    }
    assert any(PRIVATE_NOTE in body for body in bodies)
    log = await _log(db, world.ann)
    # One row per read, counting the private items only; reading a shared one is not logged.
    assert [(row.operation, row.kind.value, row.items) for row in log] == [
        ("checkins_list", "checkin", 1),
        ("checkins_list_couple", "checkin", 1),
        ("checkins_get", "checkin", 1),
        ("journal_list", "journal_entry", 1),
        ("journal_get", "journal_entry", 1),
        ("journal_tags_list", "journal_entry", 1),
    ]
    assert {row.client_id for row in log} == {THIRD_PARTY}
    stored = " ".join(f"{row.operation} {row.client_id} {row.kind}" for row in log)
    assert PRIVATE_NOTE not in stored and "assuming" not in stored


async def test_rapports_own_apps_read_the_authors_private_writing_unlogged(
    client: httpx.AsyncClient, world: World, db: AsyncSession
) -> None:
    both = {world.private_id, world.shared_id}
    for client_id in ("rapport-mobile", OTHER_FIRST_PARTY):
        # No checkins:private needed: the person is reading their own words.
        headers = world.ann.headers("checkins:read", "journal:read", client_id=client_id)
        seen = await look(client, world, headers, [])
        assert seen["checkins"] == both and seen["couple"] == both
        assert seen["private"] == 200 and seen["entry"] == 200
        assert seen["journal"] == {world.entry_id}
    assert await _log(db, world.ann) == []


@pytest.mark.parametrize("client_id", ["rapport-mobile", THIRD_PARTY])
async def test_the_partner_never_reads_private_writing_whatever_the_app(
    client: httpx.AsyncClient, world: World, db: AsyncSession, client_id: str
) -> None:
    headers = world.bo.headers(*EVERYTHING, client_id=client_id)
    bodies: list[str] = []
    seen = await look(client, world, headers, bodies)
    assert seen["checkins"] == set()  # Bo's own: none
    assert seen["couple"] == {world.shared_id}
    assert seen["private"] == 404 and seen["shared"] == 200
    assert seen["journal"] == set() and seen["entry"] == 404
    assert not [body for body in bodies if PRIVATE_NOTE in body or JOURNAL_BODY in body]
    assert await _log(db, world.ann) == []  # nothing of Ann's was read


async def test_an_ex_partner_reads_nothing_of_it(
    client: httpx.AsyncClient, world: World, db: AsyncSession
) -> None:
    left = await client.post("/v1/couples/me/leave", headers=world.bo.headers("couple:write"))
    assert left.status_code == 204
    headers = world.bo.headers(*EVERYTHING, client_id=THIRD_PARTY)
    bodies: list[str] = []
    seen = await look(client, world, headers, bodies)
    assert seen["private"] == 404 and seen["shared"] == 404 and seen["entry"] == 404
    assert seen["couple"] == 404 and seen["checkins"] == set() and seen["journal"] == set()
    assert not [b for b in bodies if PRIVATE_NOTE in b or SHARED_NOTE in b or JOURNAL_BODY in b]


async def test_a_platform_token_and_an_admin_read_none_of_it(
    client: httpx.AsyncClient, world: World, make_user: MakeUser, app: Any, db: AsyncSession
) -> None:
    platform, _ = app.state.tokens.issue(
        subject=THIRD_PARTY, client_id=THIRD_PARTY, scope=" ".join(EVERYTHING)
    )
    platform_seen = await look(client, world, {"Authorization": f"Bearer {platform}"}, [])
    assert set(platform_seen.values()) == {403}  # it acts for nobody
    admin = await make_user(role=Role.admin)
    bodies: list[str] = []
    admin_headers = admin.headers("admin:users", "admin:content", *EVERYTHING)
    seen = await look(client, world, admin_headers, bodies)
    assert seen["private"] == 404 and seen["shared"] == 404 and seen["entry"] == 404
    assert seen["checkins"] == set() and seen["journal"] == set()
    for path in ("/v1/admin/clients", "/v1/audit"):
        bodies.append((await client.get(path, headers=admin_headers)).text)
    assert not [b for b in bodies if PRIVATE_NOTE in b or SHARED_NOTE in b or JOURNAL_BODY in b]
    assert await _log(db, world.ann) == []


async def test_a_long_list_is_one_log_row_and_the_log_pages(
    client: httpx.AsyncClient, world: World, db: AsyncSession
) -> None:
    for n in range(3):
        await _checkin(client, world.ann, f"private {n}", "private")
    headers = world.ann.headers(*EVERYTHING, client_id=THIRD_PARTY)
    listed = await client.get("/v1/checkins?limit=10", headers=headers)
    assert len(listed.json()["data"]) == 5
    await client.get(f"/v1/checkins/{world.private_id}", headers=headers)
    await client.get("/v1/journal", headers=headers)
    rows = await _log(db, world.ann)
    assert [(row.operation, row.items) for row in rows] == [
        ("checkins_list", 4),
        ("checkins_get", 1),
        ("journal_list", 1),
    ]

    mine = world.ann.headers("profile")
    first = await client.get("/v1/me/access-log?limit=2", headers=mine)
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["has_more"] is True
    assert [e["operation"] for e in page["data"]] == ["journal_list", "checkins_get"]
    assert page["data"][0] | {"id": None, "occurred_at": None} == {
        "id": None,
        "client_id": THIRD_PARTY,
        "client_name": "Closer Together",
        "kind": "journal_entry",
        "items": 1,
        "operation": "journal_list",
        "occurred_at": None,
    }
    rest = await client.get(f"/v1/me/access-log?limit=2&cursor={page['next_cursor']}", headers=mine)
    assert [e["operation"] for e in rest.json()["data"]] == ["checkins_list"]
    assert rest.json()["has_more"] is False
    # Bo's log is his own: empty.
    bos = await client.get("/v1/me/access-log", headers=world.bo.headers("profile"))
    assert bos.json()["data"] == []


async def test_connected_apps_show_sensitive_scopes_and_the_last_private_read(
    client: httpx.AsyncClient, world: World, db: AsyncSession
) -> None:
    ann = world.ann
    grant = await obtain_code(
        client, THIRD_PARTY, ann.user.email, ann.password, scope=" ".join(EVERYTHING)
    )
    tokens = await exchange(client, grant, THIRD_PARTY)
    assert tokens.status_code == 200, tokens.text
    access = {"Authorization": f"Bearer {tokens.json()['access_token']}"}

    async def connected() -> dict[str, Any]:
        listed = await client.get("/v1/me/connected-apps", headers=ann.headers("profile"))
        assert listed.status_code == 200, listed.text
        (item,) = [a for a in listed.json()["data"] if a["client_id"] == THIRD_PARTY]
        return item  # type: ignore[no-any-return]

    before = await connected()
    assert before["sensitive_scopes"] == ["checkins:private", "journal:read"]
    assert before["private_read_at"] is None
    shared_only = await client.get(f"/v1/checkins/{world.shared_id}", headers=access)
    assert shared_only.status_code == 200
    assert (await connected())["private_read_at"] is None  # nothing private was read
    read = await client.get(f"/v1/journal/{world.entry_id}", headers=access)
    assert read.status_code == 200
    (row,) = await _log(db, ann)
    after = await connected()
    assert after["private_read_at"] is not None
    assert after["private_read_at"].startswith(row.occurred_at.strftime("%Y-%m-%dT%H:%M:%S"))


async def test_patterns_are_a_logged_read_and_logging_costs_no_query_per_item(
    client: httpx.AsyncClient, world: World, db: AsyncSession, count_queries: Any
) -> None:
    headers = world.ann.headers(*EVERYTHING, client_id=THIRD_PARTY)
    patterns = await client.get("/v1/journal/patterns", headers=headers)
    assert patterns.status_code == 200, patterns.text
    with count_queries() as one:
        await client.get("/v1/checkins", headers=headers)
    for n in range(4):
        await _checkin(client, world.ann, f"private {n}", "private")
    with count_queries() as five:
        listed = await client.get("/v1/checkins", headers=headers)
    assert len(listed.json()["data"]) == 6
    assert five.count == one.count  # one first-party lookup, one log row, whatever the length
    rows = await _log(db, world.ann)
    assert [(row.operation, row.items) for row in rows] == [
        ("journal_patterns_get", 1),
        ("checkins_list", 1),
        ("checkins_list", 5),
    ]
