"""The consent rule as a property, over random journeys of two partners and a platform.

A test platform (a confidential third-party client with a real webhook receiver) is
connected and disconnected by either partner with random scopes while the partners share
and un-share check-ins, answer the day's prompt, propose, accept and decline repair plans,
rate trust, hold a speaker-listener conversation, add an activity idea and mark it (a match
when both want it, gone when a mark is withdrawn), and end the couple. After every step, with
the dispatcher drained:
rate trust, hold a speaker-listener conversation and a weekly ritual, and end the couple.
After every step, with the dispatcher drained:

- every event delivered in that step is about something the platform can GET right then
  with the delegated token of a person who consented to it (with that consent's scopes);
- every event of that step whose resource the platform can GET that way was delivered.

Events that announce that something stopped being visible (`couple.ended`,
`checkin.unshared`, `checkin.deleted`, `consent.revoked`) have no resource to GET and are
left out of both checks.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.event_catalog import EVENT_TYPES
from app.delivery.dispatcher import Dispatcher
from app.models.answers import DailyPrompt
from app.models.base import utcnow
from app.models.events import Event
from app.models.oauth import Consent
from app.services.visibility import SUBJECTS, Subject
from tests.conftest import MakeUser, Person
from tests.factories import pair, publish_library
from tests.webhooks_support import Receiver, make_partner, running

pytestmark = pytest.mark.slow

GRANTABLE = (
    "couple:read",
    "checkins:read",
    "answers:read",
    "prompts:read",
    "repair:read",
    "conversations:read",
    "activities:read",
)
CLOSING = frozenset(
    {
        "couple.ended",
        "checkin.unshared",
        "checkin.deleted",
        "consent.revoked",
        "activity.idea_removed",
    }
)
EVERYTHING = (
    "couple:read",
    "couple:write",
    "checkins:read",
    "checkins:write",
    "prompts:read",
    "answers:read",
    "answers:write",
    "repair:read",
    "repair:write",
    "conversations:read",
    "conversations:write",
    "activities:read",
    "activities:write",
)
PLANS = "/v1/couples/me/repair-plans"
CONVERSATIONS = "/v1/couples/me/conversations"
IDEAS = "/v1/couples/me/activities/ideas"
MATCHES = "/v1/couples/me/activities/matches"
RITUALS = "/v1/couples/me/rituals"
RITUAL_SCHEDULE = "/v1/couples/me/ritual-schedule"

Step = tuple[str, int, frozenset[str]]
"""(action, which partner: 0 or 1, scopes for a connect)."""

ACTIONS = (
    "connect",
    "disconnect",
    "share",
    "private",
    "unshare",
    "answer",
    "propose",
    "accept",
    "decline",
    "rate",
    "talk",
    "turn",
    "idea",
    "want",
    "withdraw",
    "weekly",
    "ritual_step",
    "end",
)
steps = st.lists(
    st.tuples(
        st.sampled_from(ACTIONS),
        st.integers(0, 1),
        st.frozensets(st.sampled_from(GRANTABLE), min_size=1),
    ),
    min_size=3,
    max_size=12,
)


@dataclass
class Journey:
    client: httpx.AsyncClient
    sessionmaker: async_sessionmaker[AsyncSession]
    platform: str
    people: tuple[Person, Person]
    couple_id: uuid.UUID
    consents: dict[int, frozenset[str]] = field(default_factory=dict)
    shared: dict[int, list[str]] = field(default_factory=dict)
    plan_id: str | None = None
    conversation_id: str | None = None
    idea_id: str | None = None
    ritual_id: str | None = None

    def me(self, who: int) -> dict[str, str]:
        return self.people[who].headers(*EVERYTHING)

    async def act(self, action: str, who: int, scopes: frozenset[str]) -> None:
        person, http = self.people[who], self.client
        response: httpx.Response | None = None
        if action == "connect":
            await self._consent(person, scopes)
            self.consents[who] = scopes
        elif action == "disconnect":
            await self._consent(person, None)
            self.consents.pop(who, None)
        elif action in ("share", "private"):
            visibility = "partner" if action == "share" else "private"
            body = {"mood": 3, "visibility": visibility}
            response = await http.post("/v1/checkins", json=body, headers=self.me(who))
            if response.status_code == 201 and action == "share":
                self.shared.setdefault(who, []).append(response.json()["id"])
        elif action == "unshare" and self.shared.get(who):
            checkin_id = self.shared[who].pop()
            response = await http.patch(
                f"/v1/checkins/{checkin_id}",
                json={"visibility": "private"},
                headers={**self.me(who), "If-Match": "*"},
            )
        elif action == "answer":
            today = await http.get("/v1/couples/me/prompts/today", headers=self.me(who))
            if today.status_code == 200:
                response = await http.put(
                    f"/v1/couples/me/prompts/{today.json()['date']}/answer",
                    json={"text": "what I would say"},
                    headers=self.me(who),
                )
        elif action == "propose":
            body = {"hurt_user_id": str(person.id)}
            response = await http.post(PLANS, json=body, headers=self.me(who))
            if response.status_code == 201:
                self.plan_id = response.json()["id"]
        elif action in ("accept", "decline") and self.plan_id:
            response = await http.post(f"{PLANS}/{self.plan_id}/{action}", headers=self.me(who))
        elif action == "rate" and self.plan_id:
            response = await http.post(
                f"{PLANS}/{self.plan_id}/trust-ratings", json={"score": 4}, headers=self.me(who)
            )
        elif action == "talk":
            response = await http.post(CONVERSATIONS, json={}, headers=self.me(who))
            if response.status_code == 201:
                self.conversation_id = response.json()["id"]
        elif action == "turn" and self.conversation_id:
            # Whatever this partner may do next (a 409 when it is not their turn is fine).
            path = f"{CONVERSATIONS}/{self.conversation_id}"
            seen = await http.get(path, headers=self.me(who))
            moves = seen.json().get("allowed_moves", []) if seen.status_code == 200 else []
            if moves:
                body = {"move": moves[0]}
                if moves[0] in ("share", "paraphrase", "correct", "appreciate"):
                    body["text"] = "what I heard"
                response = await http.post(f"{path}/moves", json=body, headers=self.me(who))
        elif action == "idea":
            response = await http.post(IDEAS, json={"title": "a walk"}, headers=self.me(who))
            if response.status_code == 201:
                self.idea_id = response.json()["id"]
        elif action in ("want", "withdraw") and self.idea_id:
            path = f"{IDEAS}/{self.idea_id}/mark"
            if action == "want":
                response = await http.put(path, json={"mark": "want"}, headers=self.me(who))
            else:
                response = await http.delete(path, headers=self.me(who))
        elif action == "weekly":
            weekly = {"weekday": "sunday", "local_time": "19:00"}
            response = await http.put(RITUAL_SCHEDULE, json=weekly, headers=self.me(who))
            if response.status_code in (200, 201):
                response = await http.post(RITUALS, headers=self.me(who))
                if response.status_code == 201:
                    self.ritual_id = response.json()["id"]
        elif action == "ritual_step" and self.ritual_id:
            response = await self._ritual_step(who)
        elif action == "end":
            response = await http.post("/v1/couples/me/leave", headers=self.me(who))
        if response is not None:
            assert response.status_code < 500, response.text

    async def _ritual_step(self, who: int) -> httpx.Response | None:
        """This partner's current step of the ritual: written, committed to, or skipped."""
        http, path = self.client, f"{RITUALS}/{self.ritual_id}"
        seen = await http.get(path, headers=self.me(who))
        step = seen.json().get("my_step") if seen.status_code == 200 else None
        if step in ("appreciations", "went_well"):
            entry = {"step": step, "text": "thank you"}
            await http.post(f"{path}/entries", json=entry, headers=self.me(who))
        elif step == "issue":
            return await http.put(f"{path}/issue", json={"skip": True}, headers=self.me(who))
        elif step == "next_week":
            commitment = {"text": "a walk"}
            await http.post(f"{path}/commitments", json=commitment, headers=self.me(who))
        else:
            return None
        return await http.post(f"{path}/steps/{step}/finish", headers=self.me(who))

    async def _consent(self, person: Person, scopes: frozenset[str] | None) -> None:
        async with self.sessionmaker() as session, session.begin():
            consent = await session.scalar(
                select(Consent).where(
                    Consent.user_id == person.id, Consent.client_id == self.platform
                )
            )
            if scopes is None:
                if consent is not None:
                    consent.revoked_at = utcnow()
            elif consent is None:
                session.add(
                    Consent(user_id=person.id, client_id=self.platform, scopes=sorted(scopes))
                )
            else:
                consent.scopes, consent.revoked_at = sorted(scopes), None

    async def _path(self, event: Event) -> str | None:
        subject = SUBJECTS[event.type]
        if subject is Subject.couple:
            return "/v1/couples/me"
        if subject is Subject.checkin:
            return f"/v1/checkins/{event.data['checkin_id']}"
        if subject is Subject.repair:
            return f"{PLANS}/{event.data['plan_id']}"
        if subject is Subject.conversation and event.type.startswith(("ritual.", "commitment.")):
            ritual = event.data.get("ritual_id")
            return f"{RITUALS}/{ritual}" if ritual else RITUAL_SCHEDULE
        if subject is Subject.conversation:
            return f"{CONVERSATIONS}/{event.data['conversation_id']}"
        if subject is Subject.activity:
            if "match_id" in event.data and event.type != "activity.unmatched":
                return f"{MATCHES}/{event.data['match_id']}"
            return f"{IDEAS}/{event.data['idea_id']}"  # an unmatched idea is still listed
        if subject is Subject.day:
            async with self.sessionmaker() as session:
                day = await session.get(DailyPrompt, uuid.UUID(event.data["daily_prompt_id"]))
            return f"/v1/couples/me/prompts/{day.local_date}" if day else None
        return None

    async def readable(self, event: Event) -> bool:
        """Whether a consenting person's delegated token can GET what `event` is about."""
        path = await self._path(event)
        assert path is not None, event.type
        needed = EVENT_TYPES[event.type].scope.value
        for who, scopes in self.consents.items():
            if needed not in scopes:
                continue
            token = self.people[who].headers(*scopes, client_id=self.platform)
            response = await self.client.get(path, headers=token)
            assert response.status_code < 500, response.text
            if response.status_code == 200:
                if SUBJECTS[event.type] is Subject.couple:
                    return bool(response.json()["id"] == str(event.couple_id))
                return True
        return False


async def drain(dispatcher: Dispatcher) -> None:
    while await dispatcher.run_once():
        pass


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(journey=steps)
async def test_the_platform_hears_of_exactly_what_a_consenting_person_lets_it_read(
    journey: list[Step],
    client: httpx.AsyncClient,
    dev_app: FastAPI,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
    libraries: None,
) -> None:
    partner = await make_partner(sessionmaker, dev_app)
    ann, bo = await make_user(), await make_user()
    receiver = Receiver()
    async with running(receiver):
        registered = await client.post(
            "/v1/webhooks/endpoints", json={"url": receiver.url}, headers=partner.headers()
        )
        assert registered.status_code == 201, registered.text
        couple = await pair(client, ann, bo)
        state = Journey(
            client, sessionmaker, partner.client_id, (ann, bo), uuid.UUID(str(couple["id"]))
        )
        async with sessionmaker() as session:
            seen = await session.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1))
        await drain(dispatcher)
        for action, who, scopes in journey:
            await state.act(action, who, scopes)
            before = len(receiver.requests)
            await drain(dispatcher)
            async with sessionmaker() as session:
                events = list(
                    await session.scalars(
                        select(Event).where(Event.seq > (seen or 0)).order_by(Event.seq)
                    )
                )
            seen = events[-1].seq if events else seen
            delivered = {json.loads(r.body)["data"]["id"] for r in receiver.requests[before:]}
            ours = [
                e for e in events if e.user_id in (ann.id, bo.id) or e.couple_id == state.couple_id
            ]
            assert delivered <= {str(e.id) for e in ours}
            for event in ours:
                if event.type in CLOSING:
                    continue
                readable = await state.readable(event)
                assert (str(event.id) in delivered) == readable, (action, who, event.type)
        await client.delete(
            f"/v1/webhooks/endpoints/{registered.json()['id']}", headers=partner.headers()
        )
    async with sessionmaker() as session, session.begin():  # the next journey starts clean
        await session.execute(
            update(Consent)
            .where(Consent.client_id == partner.client_id)
            .values(revoked_at=utcnow())
        )


@pytest.fixture
async def libraries(sessionmaker: async_sessionmaker[AsyncSession]) -> Any:
    await publish_library(sessionmaker)
