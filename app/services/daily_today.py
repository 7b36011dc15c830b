"""Today's day as the caller sees it: the home screen, read on every opening of the app.

The same decisions as `daily.get_day` then `answers.day_as_seen_by` (which stay the rules'
one statement, and serve the first look of the day), taken on the columns of one hot read
(`HotReader`: on PostgreSQL the driver's own `fetch`, no session, no ORM): the couple, joined
to the days of the three dates some time zone may be on now, their prompt versions, answers
and (for a caller who may read answers) the reflections under the answers of a revealed day.
Only the texts the response shows are opened, with the data keys the process holds: never the
partner's answer before the reveal, nor the neighbouring day's answers. A session is opened
only when needed: a data key to read, a translation to look up, the first look of the day.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Select, Text, and_, bindparam, cast, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.hot_reads import HotQuery, HotReader
from app.core.languages import Preferences, language_of
from app.core.sealed_today import Sealed, open_all, open_cached
from app.core.security import Member, Scope
from app.models.answers import Answer, DailyPrompt, Reflection, ReflectionKind
from app.models.couples import Couple, CoupleMember
from app.models.prompts import Category, PromptKind, PromptTranslation, PromptVersion
from app.models.users import User
from app.schemas.answers import AnswerOut, ReflectionOut
from app.schemas.catalog import PromptCard
from app.schemas.daily import DayOut
from app.services import answers, daily
from app.services.couples import NoCouple
from app.services.wordings import Wording

_AROUND_TODAY = {"day_before": -1, "utc_day": 0, "day_after": 1}
_C, _M, _D = Couple.__table__.c, CoupleMember.__table__.c, DailyPrompt.__table__.c
_V, _A, _R = PromptVersion.__table__.c, Answer.__table__.c, Reflection.__table__.c
_U = User.__table__.c
_COLUMNS = (
    _C.id.label("couple_id"),
    _C.timezone,
    _D.id.label("day_id"),
    _D.local_date,
    _D.swapped_at,
    _D.revealed_at,
    _V.id.label("version_id"),
    _V.prompt_id,
    _V.text.label("prompt_text"),
    _V.category,
    _V.depth,
    _V.kind,
    _V.listener_guidance,
    cast(_V.tags, Text).label("tags"),  # decoded once, for the day shown: not on every row
    _V.locale,
    _A.id.label("answer_id"),
    _A.user_id,
    _A.text.label("answer_text"),
    _A.created_at.label("answer_created_at"),
    _A.updated_at.label("answer_updated_at"),
    _A.revealed_at.label("answer_revealed_at"),
)
_REFLECTION_COLUMNS = (
    _R.id.label("reflection_id"),
    _R.author_id,
    _R.kind.label("reflection_kind"),
    _R.text.label("reflection_text"),
    _R.created_at.label("reflection_created_at"),
)


@functools.cache
def _query(with_reflections: bool) -> HotQuery:
    return HotQuery(_statement(with_reflections))


def _statement(with_reflections: bool) -> Select[Any]:
    """Built once per shape, its values bound; one row per answer and reflection."""
    dates = [bindparam(name, type_=Date()) for name in _AROUND_TODAY]
    reader_locale = select(_U.locale).where(_U.id == bindparam("user_id")).scalar_subquery()
    statement = (
        select(*_COLUMNS, reader_locale.label("reader_locale"))
        .select_from(Couple.__table__)
        .join(CoupleMember.__table__, _M.couple_id == _C.id)
        .outerjoin(DailyPrompt.__table__, and_(_D.couple_id == _C.id, _D.local_date.in_(dates)))
        .outerjoin(PromptVersion.__table__, _V.id == _D.prompt_version_id)
        .outerjoin(Answer.__table__, _A.daily_prompt_id == _D.id)
        .where(_M.active_user_id == bindparam("user_id"))
        .order_by(_A.created_at, _A.id)
    )
    if not with_reflections:
        return statement
    return (
        statement.add_columns(*_REFLECTION_COLUMNS)
        .outerjoin(
            Reflection.__table__,
            and_(
                _D.revealed_at.is_not(None),
                _R.target_type == literal_column("'answer'"),  # a hot query binds only named values
                _R.target_id == _A.id,
            ),
        )
        .order_by(_R.created_at, _R.id)
    )


def _utc(moment: datetime | None) -> datetime | None:
    # What `UtcDateTime` validation does; the models below are built without validation.
    return None if moment is None else moment.astimezone(UTC)


Columns = Mapping[str, Any]


class _Reading:
    """The reading session of one request, opened on first use."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    async def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._sessions()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def _wording(reading: _Reading, day: Columns, wanted: Preferences) -> Wording:
    """`wordings.wordings` for the one version: no query when it is in the first language
    the reader wants (or they want none)."""
    translations: dict[str, PromptTranslation] = {}
    locale: str = day["locale"]
    if wanted.first is not None and language_of(locale) != wanted.first:
        session = await reading.session()
        rows = await session.scalars(
            select(PromptTranslation).where(
                PromptTranslation.prompt_version_id == day["version_id"],
                PromptTranslation.is_live.is_(True),
                PromptTranslation.locale.in_(set(wanted.languages)),
            )
        )
        translations = {row.locale: row for row in rows}
    _, chosen, fallback = wanted.choose(locale, translations)
    if chosen is None:
        return Wording(day["prompt_text"], day["listener_guidance"], locale, fallback)
    return Wording(chosen.text, chosen.listener_guidance, chosen.locale, fallback)


class _Answer:
    """One answer's row and the rows of the reflections under it."""

    __slots__ = ("id", "reflections", "row", "user_id")

    def __init__(self, row: Columns) -> None:
        self.row = row
        self.id: uuid.UUID = row["answer_id"]
        self.user_id: uuid.UUID = row["user_id"]
        self.reflections: list[Columns] = []


def _grouped(rows: Sequence[Columns], *, with_reflections: bool) -> list[_Answer]:
    found: list[_Answer] = []
    for row in rows:
        if row["answer_id"] is None:
            continue
        if not found or found[-1].id != row["answer_id"]:
            found.append(_Answer(row))
        if with_reflections and row["reflection_id"] is not None:
            found[-1].reflections.append(row)
    return found


async def _shown(reading: _Reading, shown: list[_Answer | None]) -> list[AnswerOut | None]:
    """The answers the caller may read, their texts and their reflections' opened at once."""
    sealed: list[Sealed] = []
    for answer in shown:
        if answer is None:
            continue
        sealed.append((Answer, "text", answer.id, answer.row["answer_text"]))
        for r in answer.reflections:
            sealed.append((Reflection, "text", r["reflection_id"], r["reflection_text"]))
    opened = open_cached(sealed)
    if opened is None:
        opened = await open_all(await reading.session(), sealed)
    texts = iter(opened)
    result: list[AnswerOut | None] = []
    for answer in shown:
        if answer is None:
            result.append(None)
            continue
        row = answer.row
        text = next(texts)
        reflections = [
            ReflectionOut.model_construct(
                id=r["reflection_id"],
                answer_id=answer.id,
                author_id=r["author_id"],
                kind=ReflectionKind(r["reflection_kind"]),
                text=next(texts),
                created_at=r["reflection_created_at"].astimezone(UTC),
            )
            for r in answer.reflections
        ]
        result.append(
            AnswerOut.model_construct(
                id=answer.id,
                user_id=answer.user_id,
                text=text,
                created_at=row["answer_created_at"].astimezone(UTC),
                updated_at=row["answer_updated_at"].astimezone(UTC),
                revealed_at=_utc(row["answer_revealed_at"]),
                reflections=reflections,
            )
        )
    return result


async def today_as_seen_by(
    reader: HotReader,
    reading: async_sessionmaker[AsyncSession],
    writing: async_sessionmaker[AsyncSession],
    member: Member,
    now: datetime,
    accept_language: str | None,
) -> tuple[DayOut, str]:
    """Today's day as `member` may see it, and the language of its prompt's words.

    One hot read when today's prompt is already chosen; the first look of the day chooses it
    in a transaction of its own (`writing`, `daily.today`), committed before this returns.
    Whatever else is read is read in one session (`reading`: no transaction)."""
    session = _Reading(reading)
    try:
        return await _today(reader, session, writing, member, now, accept_language)
    finally:
        await session.close()


async def _today(
    reader: HotReader,
    reading: _Reading,
    writing: async_sessionmaker[AsyncSession],
    member: Member,
    now: datetime,
    accept_language: str | None,
) -> tuple[DayOut, str]:
    with_reflections = member.has(Scope.answers_read)
    utc_today = now.astimezone(UTC).date()
    params: dict[str, Any] = {"user_id": member.user_id}
    for name, offset in _AROUND_TODAY.items():
        params[name] = utc_today + timedelta(days=offset)
    rows = await reader.all(_query(with_reflections), **params)
    if not rows:
        raise NoCouple("Create a couple or join one with your partner's invite code.")
    first = rows[0]
    wanted = Preferences.of(accept_language, first["reader_locale"])
    today = now.astimezone(ZoneInfo(first["timezone"])).date()
    todays = [row for row in rows if row["day_id"] is not None and row["local_date"] == today]
    if not todays:
        session = await reading.session()
        return await _first_look(session, writing, member, first["couple_id"], now, wanted)
    day = todays[0]
    found = _grouped(todays, with_reflections=with_reflections)
    mine = next((a for a in found if a.user_id == member.user_id), None)
    theirs = next((a for a in found if a.user_id != member.user_id), None)
    revealed = day["revealed_at"] is not None
    is_open = today - timedelta(days=daily.ANSWER_GRACE_DAYS) <= day["local_date"] <= today
    # As in `answers.days_as_seen_by`: answers only with `answers:read`, and the partner's
    # words only once both answered (answer-then-reveal).
    my_answer, partner_answer = (
        await _shown(reading, [mine, theirs if revealed else None])
        if with_reflections
        else (None, None)
    )
    wording = await _wording(reading, day, wanted)
    prompt = PromptCard.model_construct(
        prompt_id=day["prompt_id"],
        version_id=day["version_id"],
        text=wording.text,
        category=Category(day["category"]),
        depth=day["depth"],
        kind=PromptKind(day["kind"]),
        listener_guidance=wording.listener_guidance,
        tags=json.loads(day["tags"]),
        locale=wording.locale,
        fallback=wording.fallback,
    )
    out = DayOut.model_construct(
        date=day["local_date"],
        state=answers.day_state(revealed, is_open, mine is not None, theirs is not None),
        prompt=prompt,
        swapped=day["swapped_at"] is not None,
        can_swap=is_open and day["swapped_at"] is None and not found,
        my_answer=my_answer,
        partner_answered=theirs is not None,
        partner_answer=partner_answer,
        revealed_at=_utc(day["revealed_at"]),
    )
    return out, wording.locale


async def _first_look(
    session: AsyncSession,
    writing: async_sessionmaker[AsyncSession],
    member: Member,
    couple_id: uuid.UUID,
    now: datetime,
    wanted: Preferences,
) -> tuple[DayOut, str]:
    couple = await session.get_one(Couple, couple_id)
    # Hands the reading connection back (nothing to commit; its objects stay loaded) before
    # the writing session takes one: a request holding two could wait on a full pool for ever.
    await session.commit()
    async with writing() as writer, writer.begin():
        day = await daily.today(writer, couple, now)
    view = await answers.day_as_seen_by(session, member, couple, day, now, wanted)
    return DayOut.of(view), view.wording.locale
