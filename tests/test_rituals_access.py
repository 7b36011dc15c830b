"""Who must not see or change a couple's weekly ritual: a stranger, a member of another
couple, an ex-partner after the couple ended, a token without the scopes, and a third-party
app without both partners' consent; and the consent rule webhooks and the sync feed share."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from app.models import Consent, Event
from app.models.base import utcnow
from app.services.visibility import SUBJECTS, Facts, Subject, Viewer, can_see
from tests.conftest import MakeUser, Person
from tests.conversations_support import THERAPIST, grant, register_therapist
from tests.factories import pair
from tests.rituals_support import (
    COMMITMENTS,
    RITUALS,
    SCHEDULE,
    commit,
    h,
    issue,
    ok,
    schedule,
    start_ritual,
    written_and_finished,
)


async def _ritual(
    client: httpx.AsyncClient, make_user: MakeUser
) -> tuple[Person, Person, dict[str, str]]:
    """A couple whose ritual reached next week's step, with one commitment of Ann's."""
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    ok(await schedule(client, ann), 201)
    rid = (await start_ritual(client, ann))["id"]
    for person in (ann, bo):
        await written_and_finished(client, person, rid, "appreciations", "SECRET thanks")
    await written_and_finished(client, ann, rid, "went_well", "SECRET well")
    ok(await issue(client, ann, rid, skip=True))
    commitment = ok(await commit(client, ann, rid, "SECRET commitment"), 201)
    return ann, bo, {"ritual": rid, "commitment": commitment["id"]}


async def _reads(
    client: httpx.AsyncClient, headers: dict[str, str], ids: dict[str, str]
) -> list[int]:
    return [
        (await client.get(path, headers=headers)).status_code
        for path in (SCHEDULE, RITUALS, f"{RITUALS}/{ids['ritual']}")
    ]


async def _writes(
    client: httpx.AsyncClient, headers: dict[str, str], ids: dict[str, str]
) -> list[int]:
    rid = f"{RITUALS}/{ids['ritual']}"
    attempts = [
        await client.put(
            SCHEDULE, json={"weekday": "monday", "local_time": "07:00"}, headers=headers
        ),
        await client.delete(SCHEDULE, headers=headers),
        await client.post(RITUALS, headers=headers),
        await client.post(
            f"{rid}/entries", json={"step": "went_well", "text": "x"}, headers=headers
        ),
        await client.post(f"{rid}/steps/went_well/finish", headers=headers),
        await client.put(f"{rid}/issue", json={"skip": True}, headers=headers),
        await client.post(f"{rid}/commitments", json={"text": "x"}, headers=headers),
        await client.post(f"{rid}/end", headers=headers),
        await client.put(f"{COMMITMENTS}/{ids['commitment']}/done", headers=headers),
        await client.delete(f"{COMMITMENTS}/{ids['commitment']}/done", headers=headers),
    ]
    return [response.status_code for response in attempts]


async def _unchanged(client: httpx.AsyncClient, ann: Person, ids: dict[str, str]) -> None:
    ritual = ok(await client.get(f"{RITUALS}/{ids['ritual']}", headers=h(ann)))
    assert ritual["status"] == "open" and ritual["my_step"] == "next_week"
    assert [c["done"] for c in ritual["commitments"]] == [False]
    assert len(ritual["entries"]) == 3
    kept = ok(await client.get(SCHEDULE, headers=h(ann)))
    assert (kept["weekday"], kept["local_time"]) == ("sunday", "19:00")


async def test_strangers_and_other_couples_find_nothing(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, _bo, ids = await _ritual(client, make_user)
    stranger = await make_user()
    assert await _reads(client, h(stranger), ids) == [404] * 3
    assert await _writes(client, h(stranger), ids) == [404] * 10
    cy, dee = await make_user(), await make_user()
    await pair(client, cy, dee)
    # Another couple's member: their own (empty) ritual list; ours does not exist for them.
    assert ok(await client.get(RITUALS, headers=h(cy)))["data"] == []
    for path in (f"{RITUALS}/{ids['ritual']}",):
        assert (await client.get(path, headers=h(cy))).json()[
            "type"
        ] == "/problems/ritual-not-found"
    marked = await client.put(f"{COMMITMENTS}/{ids['commitment']}/done", headers=h(cy))
    assert marked.status_code == 404
    assert marked.json()["type"] == "/problems/ritual-commitment-not-found"
    await _unchanged(client, ann, ids)


async def test_tokens_need_the_scopes(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    ann, bo, ids = await _ritual(client, make_user)
    nothing = h(bo, "couple:read", "couple:write", "repair:read", "repair:write")
    assert await _reads(client, nothing, ids) == [403] * 3
    assert await _writes(client, nothing, ids) == [403] * 10
    reading = h(ann, "conversations:read")
    assert await _reads(client, reading, ids) == [200] * 3
    assert await _writes(client, reading, ids) == [403] * 10
    assert (await client.get(RITUALS)).status_code == 401
    await _unchanged(client, ann, ids)


async def test_a_third_party_app_needs_both_partners_consent(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, ids = await _ritual(client, make_user)
    await register_therapist(app)

    def via(person: Person) -> dict[str, str]:
        return h(person, client_id=THERAPIST)

    assert await _reads(client, via(ann), ids) == [404] * 3
    assert await _writes(client, via(ann), ids) == [404] * 10
    hidden = (await client.get(RITUALS, headers=via(ann))).json()
    assert hidden["type"] == "/problems/rituals-not-found"
    await grant(app, ann)
    assert await _reads(client, via(ann), ids) == [404] * 3
    await grant(app, bo, "conversations:read")  # read, not write
    assert await _reads(client, via(ann), ids) == [200] * 3
    assert await _writes(client, via(ann), ids) == [404] * 10  # writing needs both to allow it
    await _unchanged(client, ann, ids)

    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Consent).where(Consent.user_id == bo.id).values(revoked_at=utcnow())
        )
    assert await _reads(client, via(ann), ids) == [404] * 3
    assert (await client.get(RITUALS, headers=h(ann))).status_code == 200


async def test_an_ex_partner_sees_none_of_it(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, ids = await _ritual(client, make_user)
    left = await client.post("/v1/couples/me/leave", headers=bo.headers("couple:write"))
    assert left.status_code in (200, 204), left.text
    for person in (ann, bo):
        assert await _reads(client, h(person), ids) == [404] * 3
        assert await _writes(client, h(person), ids) == [404] * 10
    # A new couple of Bo's does not inherit the old one's ritual either.
    cy = await make_user()
    await pair(client, bo, cy)
    assert ok(await client.get(RITUALS, headers=h(bo)))["data"] == []
    assert (await client.get(f"{RITUALS}/{ids['ritual']}", headers=h(bo))).status_code == 404
    assert (await client.get(SCHEDULE, headers=h(bo))).status_code == 404


def test_webhooks_and_sync_ask_both_partners_consent_with_the_read_scope() -> None:
    ann, bo, couple = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    names = [n for n in SUBJECTS if n.startswith(("ritual.", "commitment."))]
    assert len(names) == 9
    assert {SUBJECTS[name] for name in names} == {Subject.conversation}
    read = frozenset({"conversations:read"})
    facts = Facts(active_members={couple: {ann, bo}}, ever_members={couple: {ann, bo}})
    event = Event(
        type="commitment.done",
        couple_id=couple,
        user_id=bo,
        data={"ritual_id": "x", "commitment_id": "y"},
    )
    third_party = Viewer("talk-space", ann, read)
    assert not can_see(third_party, event, facts)
    facts.consents[(ann, "talk-space")] = read
    assert not can_see(third_party, event, facts)  # only Ann consented
    facts.consents[(bo, "talk-space")] = read
    assert can_see(third_party, event, facts)
    assert can_see(Viewer("rapport-mobile", bo, read, first_party=True), event, facts)
    assert not can_see(Viewer("rapport-mobile", uuid.uuid4(), read, first_party=True), event, facts)
    facts.active_members[couple] = {ann}  # Bo left
    assert not can_see(Viewer("rapport-mobile", bo, read, first_party=True), event, facts)
    assert not can_see(third_party, event, facts)


async def test_the_sync_feed_carries_the_ritual_to_both_partners_and_nobody_else(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann, bo, _ids = await _ritual(client, make_user)
    stranger = await make_user()
    await register_therapist(app)
    await grant(app, ann)

    async def feed(headers: dict[str, str]) -> list[str]:
        response = await client.get("/v1/sync", headers=headers)
        assert response.status_code == 200, response.text
        assert "SECRET" not in response.text  # ids and step names only
        items = response.json()["data"]
        return [
            str(i["type"]) for i in items if str(i["type"]).startswith(("ritual.", "commitment."))
        ]

    expected = [
        "ritual.scheduled",
        "ritual.started",
        *["ritual.step_finished"] * 4,
        "commitment.added",
    ]
    for person in (ann, bo):
        assert await feed(h(person, "conversations:read")) == expected
    assert await feed(h(stranger, "conversations:read")) == []
    assert await feed(h(bo, "couple:read")) == []  # the types need the scope
    assert await feed(h(ann, "conversations:read", client_id=THERAPIST)) == []
    await grant(app, bo, "conversations:read")
    assert await feed(h(ann, "conversations:read", client_id=THERAPIST)) == expected
