"""What of a day each partner may see, asked of the answers service directly (no HTTP).

The service is the one place that decides it: the partner's answer text never leaves it
before the reveal, and no answer leaves it for a token without `answers:read`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.pagination import PageQuery
from app.core.problems import InsufficientScope
from app.core.security import Member, Scope
from app.models.couples import Couple
from app.schemas.answers import MyAnswerOut
from app.schemas.daily import DayOut
from app.services import answers, daily, my_answers
from app.services.couples import create_couple, join_couple, require_couple
from tests.conftest import MakeUser, Person
from tests.factories import publish_library

NOW = datetime(2026, 4, 1, 9, tzinfo=UTC)
SECRET = "what I have never said out loud"
EVERYTHING = (Scope.prompts_read, Scope.answers_read, Scope.answers_write)
WITHOUT_ANSWERS_READ = (Scope.prompts_read, Scope.answers_write)


def as_member(person: Person, scopes: Iterable[Scope] = EVERYTHING) -> Member:
    return Member(
        user_id=person.id,
        client_id="rapport-mobile",
        scopes=frozenset(scope.value for scope in scopes),
    )


Sessions = async_sessionmaker[AsyncSession]


@asynccontextmanager
async def transaction(sessionmaker: Sessions) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session, session.begin():
        yield session


async def seen_today(sessionmaker: Sessions, reader: Member) -> answers.DayView:
    async with transaction(sessionmaker) as session:
        couple = await require_couple(session, reader.user_id)
        day = await daily.today(session, couple, NOW)
        (view,) = await answers.days_as_seen_by(session, reader, couple, [day], NOW)
        return view


async def submit(sessionmaker: Sessions, writer: Member, text: str) -> answers.DayView:
    async with transaction(sessionmaker) as session:
        couple = await require_couple(session, writer.user_id)
        day = await daily.today(session, couple, NOW)
        return await answers.submit_answer(session, writer, couple, day.daily.local_date, text, NOW)


def assert_shows_no_answer_text(view: answers.DayView, text: str) -> None:
    assert view.partner_answer is None
    assert view.my_answer is None or view.my_answer.answer.text != text
    assert text not in DayOut.of(view).model_dump_json()


@pytest.fixture
async def couple(make_user: MakeUser, sessionmaker: Sessions) -> tuple[Person, Person]:
    await publish_library(sessionmaker)
    ann, bo = await make_user(display_name="Ann"), await make_user(display_name="Bo")
    async with transaction(sessionmaker) as session:
        secret_key = ann.app.state.settings.secret_key
        _, _, code = await create_couple(session, ann.member(), secret_key=secret_key)
        await join_couple(session, bo.member(), code, secret_key=secret_key)
    return ann, bo


async def test_the_partners_answer_stays_in_the_service_until_the_reveal(
    couple: tuple[Person, Person], sessionmaker: Sessions
) -> None:
    ann, bo = couple
    mine = await submit(sessionmaker, as_member(ann), SECRET)
    assert mine.my_answer is not None and mine.my_answer.answer.text == SECRET
    assert mine.state.value == "waiting_for_partner"

    for scopes in (EVERYTHING, WITHOUT_ANSWERS_READ):
        early = await seen_today(sessionmaker, as_member(bo, scopes))
        assert early.partner_answered is True
        assert early.state.value == "waiting_for_you"
        assert_shows_no_answer_text(early, SECRET)

    assert mine.my_answer is not None
    async with transaction(sessionmaker) as session:
        with pytest.raises(answers.AnswerNotFound):
            await answers.list_reflections(session, as_member(bo), mine.my_answer.answer.id)
        bo_answers = await my_answers.my_answers(session, as_member(bo), PageQuery())
        assert bo_answers.items == []
        ann_answers = await my_answers.my_answers(session, as_member(ann), PageQuery())
        assert [item.partner_answer for item in ann_answers.items] == [None]


async def test_no_answer_leaves_the_service_without_answers_read(
    couple: tuple[Person, Person], sessionmaker: Sessions
) -> None:
    ann, bo = couple
    await submit(sessionmaker, as_member(ann), SECRET)
    # Answering with a token that may write but not read shows no answer, not even one's own.
    revealed = await submit(sessionmaker, as_member(bo, WITHOUT_ANSWERS_READ), "mine too")
    assert revealed.state.value == "revealed"
    assert revealed.my_answer is None and revealed.partner_answer is None
    assert_shows_no_answer_text(revealed, SECRET)
    assert_shows_no_answer_text(revealed, "mine too")

    narrow = as_member(bo, WITHOUT_ANSWERS_READ)
    assert_shows_no_answer_text(await seen_today(sessionmaker, narrow), SECRET)

    # With the scope, once both answered, each sees the other's words.
    both = await seen_today(sessionmaker, as_member(bo))
    assert both.partner_answer is not None and both.partner_answer.answer.text == SECRET
    assert both.my_answer is not None and both.my_answer.answer.text == "mine too"

    async with transaction(sessionmaker) as session:
        with pytest.raises(InsufficientScope):
            await my_answers.my_answers(session, narrow, PageQuery())
        with pytest.raises(InsufficientScope):
            await answers.list_reflections(session, narrow, both.partner_answer.answer.id)
        page = await my_answers.my_answers(session, as_member(bo), PageQuery())
        shaped = [MyAnswerOut.of(item) for item in page.items]
        assert [(m.answer.text, m.partner_answer and m.partner_answer.text) for m in shaped] == [
            ("mine too", SECRET)
        ]


async def test_a_day_of_another_couple_is_refused(
    couple: tuple[Person, Person], make_user: MakeUser, sessionmaker: Sessions
) -> None:
    ann, _ = couple
    await submit(sessionmaker, as_member(ann), SECRET)
    stranger = await make_user()
    async with transaction(sessionmaker) as session:
        ours = await require_couple(session, ann.id)
        day = await daily.today(session, ours, NOW)
        theirs = Couple(id=uuid.uuid4(), created_by=stranger.id, timezone="UTC", locale="en")
        with pytest.raises(ValueError, match="one couple"):
            await answers.days_as_seen_by(session, as_member(stranger), theirs, [day], NOW)
