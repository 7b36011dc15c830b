"""Writing a person's export archive: one JSON document, item by item, in flat memory.

Each section is read page by page with keyset pagination (the services' own list functions
where there is one, so the archive shows what the API shows), serialised one item at a time
and handed to a sink (the encrypted file writer); the session forgets every page's rows
before the next, so neither the rows nor the document ever sit in memory whole. Free text is
read through the ORM models only, like every other read.

What a person's archive holds, and what it never holds, is decided here: see docs/export.md.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.pagination import PageQuery, Window
from app.core.security import MEMBER_SCOPES, Member
from app.models.answers import Answer, Reflection
from app.models.checkins import CheckIn
from app.models.couples import Couple, CoupleMember
from app.models.repair import (
    RepairAgreement,
    RepairAgreementVersion,
    RepairPlan,
    RepairSignature,
    RepairStep,
    TrustRating,
)
from app.models.users import User
from app.schemas import exports_archive as schema
from app.schemas.common import UtcDateTime
from app.services import access_log, checkins, connected_apps, journal, my_answers
from app.services.clients import FIRST_PARTY_CLIENT_ID
from app.services.exports_activities import write_activities
from app.services.exports_conversations import write_conversations
from app.services.exports_rituals import write_rituals
from app.services.exports_stream import Sink, in_couple_now, pages, rows, write_list

_MOMENT: TypeAdapter[datetime] = TypeAdapter(UtcDateTime)


def owner(user_id: uuid.UUID) -> Member:
    """The person reading their own data through Rapport's own app: what the export sees."""
    return Member(
        user_id=user_id,
        client_id=FIRST_PARTY_CLIENT_ID,
        scopes=frozenset(scope.value for scope in MEMBER_SCOPES),
    )


class ArchiveWriter:
    """Writes `{"a": ..., "b": [item, item], ...}` to a sink, one piece at a time."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self._first_field = True

    def _key(self, name: str) -> None:
        self.sink.write((b"{" if self._first_field else b",") + json.dumps(name).encode() + b":")
        self._first_field = False

    def value(self, name: str, value: Any) -> None:
        self._key(name)
        self.sink.write(json.dumps(value).encode())

    def raw(self, name: str, data: bytes) -> None:
        self._key(name)
        self.sink.write(data)

    def model(self, name: str, model: BaseModel) -> None:
        self._key(name)
        self.sink.write(model.model_dump_json().encode())

    async def items(self, name: str, models: AsyncIterator[BaseModel]) -> None:
        self._key(name)
        await write_list(self.sink, models)

    def close(self) -> None:
        self.sink.write(b"}" if not self._first_field else b"{}")


async def write_archive(
    session: AsyncSession, sink: Sink, user_id: uuid.UUID, export_id: uuid.UUID, now: datetime
) -> None:
    """The whole archive of `user_id`, in `ExportArchive`'s field order."""
    me = owner(user_id)
    user = await session.get(User, user_id)
    if user is None:
        raise LookupError("the person is gone")
    out = ArchiveWriter(sink)
    out.value("format", schema.ARCHIVE_FORMAT)
    out.value("schema_version", schema.ARCHIVE_VERSION)
    out.value("export_id", str(export_id))
    out.raw("generated_at", _MOMENT.dump_json(now))
    out.model("profile", schema.ArchiveProfile.model_validate(user))
    session.expunge_all()
    await out.items("couples", _couples(session, user_id))
    await out.items("answers", _answers(session, me))
    await out.items("checkins", _own_checkins(session, me))
    await out.items("partner_checkins", _partner_checkins(session, user_id))
    await out.items("journal_entries", _journal(session, me))
    await out.items("reflections", _reflections(session, user_id))
    out.raw("repair_plans", b"")
    await _repair_plans(session, sink, user_id)
    out.raw("conversations", b"")
    await write_conversations(session, sink, user_id)
    out.raw("activities", b"")
    await write_activities(session, sink, user_id)
    out.raw("rituals", b"")
    await write_rituals(session, sink, user_id)
    await out.items("connected_apps", _connected_apps(session, me))
    await out.items("access_log", _access_log(session, me))
    out.close()


async def _couples(session: AsyncSession, user_id: uuid.UUID) -> AsyncIterator[BaseModel]:
    statement = select(CoupleMember).where(CoupleMember.user_id == user_id)
    async for membership in rows(session, statement, (CoupleMember.joined_at, CoupleMember.id)):
        couple = await session.get(Couple, membership.couple_id)
        if couple is None:
            continue
        mate = await session.scalar(
            select(User)
            .join(CoupleMember, CoupleMember.user_id == User.id)
            .where(CoupleMember.couple_id == couple.id, User.id != user_id)
        )
        yield schema.ArchiveCouple(
            couple_id=couple.id,
            status=couple.status,
            timezone=couple.timezone,
            locale=couple.locale,
            relationship_stage=couple.relationship_stage,
            created_at=couple.created_at,
            joined_at=membership.joined_at,
            ended_at=couple.ended_at,
            partner_id=mate.id if mate else None,
            partner_display_name=mate.display_name if mate else None,
        )


async def _answers(session: AsyncSession, me: Member) -> AsyncIterator[BaseModel]:
    async def fetch(params: PageQuery) -> Window[my_answers.MyAnswer]:
        return await my_answers.my_answers(session, me, params)

    async for item in pages(session, fetch):
        answer, version, theirs = item.answer, item.version, item.partner_answer
        yield schema.ArchiveAnswer(
            id=answer.id,
            couple_id=answer.couple_id,
            local_date=item.day.local_date,
            prompt=schema.ArchivePrompt(
                id=version.id,
                prompt_id=version.prompt_id,
                text=version.text,
                category=version.category.value,
                depth=version.depth,
            ),
            text=answer.text,
            created_at=answer.created_at,
            updated_at=answer.updated_at,
            revealed_at=answer.revealed_at,
            partner_answer=schema.ArchivePartnerAnswer.model_validate(theirs) if theirs else None,
        )


async def _own_checkins(session: AsyncSession, me: Member) -> AsyncIterator[BaseModel]:
    async def fetch(params: PageQuery) -> Window[CheckIn]:
        return await checkins.list_mine(session, me, params)

    async for checkin in pages(session, fetch):
        yield schema.ArchiveCheckIn.model_validate(checkin)


async def _partner_checkins(session: AsyncSession, user_id: uuid.UUID) -> AsyncIterator[BaseModel]:
    """What the API shows the person of others' check-ins: their current partner's shared
    ones, in the current couple (the service's own rule, `checkins.visible_to`)."""
    statement = select(CheckIn).where(checkins.visible_to(user_id), CheckIn.user_id != user_id)
    async for checkin in rows(session, statement, (CheckIn.created_at, CheckIn.id)):
        yield schema.ArchiveCheckIn.model_validate(checkin)


async def _journal(session: AsyncSession, me: Member) -> AsyncIterator[BaseModel]:
    async def fetch(params: PageQuery) -> Window[Any]:
        return await journal.list_entries(session, me, params)

    async for entry in pages(session, fetch):
        yield schema.ArchiveJournalEntry.model_validate(entry)


async def _reflections(session: AsyncSession, user_id: uuid.UUID) -> AsyncIterator[BaseModel]:
    """The person's reflections, and the partner's on the person's answers and check-ins."""
    mine_answered = select(Answer.id).where(Answer.user_id == user_id)
    mine_checked = select(CheckIn.id).where(CheckIn.user_id == user_id)
    statement = select(Reflection).where(
        or_(
            Reflection.author_id == user_id,
            and_(Reflection.target_type == "answer", Reflection.target_id.in_(mine_answered)),
            and_(Reflection.target_type == "checkin", Reflection.target_id.in_(mine_checked)),
        )
    )
    async for reflection in rows(session, statement, (Reflection.created_at, Reflection.id)):
        yield schema.ArchiveReflection.model_validate(
            _With(reflection, by_me=reflection.author_id == user_id)
        )


class _With:
    """A row seen with a few more attributes, for `model_validate(..., from_attributes)`."""

    def __init__(self, row: Any, **extra: Any) -> None:
        self._row = row
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        if name in self._extra:
            return self._extra[name]
        return getattr(self._row, name)


async def _repair_plans(session: AsyncSession, sink: Sink, user_id: uuid.UUID) -> None:
    """Plans of every couple the person was in; each written with its lists streamed."""
    my_couples = select(CoupleMember.couple_id).where(CoupleMember.user_id == user_id)
    statement = select(RepairPlan).where(RepairPlan.couple_id.in_(my_couples))
    sink.write(b"[")
    first = True
    async for plan in rows(session, statement, (RepairPlan.created_at, RepairPlan.id)):
        current = await in_couple_now(session, user_id, plan.couple_id)
        header = schema.ArchiveRepairPlan.model_validate(
            _With(
                plan,
                decline_note=plan.decline_note if plan.declined_by == user_id else None,
                steps=[],
                agreements=[],
                trust_ratings=[],
            )
        )
        text = header.model_dump_json(exclude={"steps", "agreements", "trust_ratings"})
        sink.write((b"" if first else b",") + text[:-1].encode() + b',"steps":')
        first = False
        await write_list(sink, _steps(session, plan.id, user_id, everyone=current))
        sink.write(b',"agreements":')
        await write_list(sink, _agreements(session, plan.id, user_id))
        sink.write(b',"trust_ratings":')
        ratings = select(TrustRating).where(
            TrustRating.plan_id == plan.id, TrustRating.user_id == user_id
        )
        await write_list(
            sink,
            _validated(
                schema.ArchiveTrustRating,
                rows(session, ratings, (TrustRating.recorded_at, TrustRating.id)),
            ),
        )
        sink.write(b"}")
    sink.write(b"]")


async def _validated(
    model: type[BaseModel], source: AsyncIterator[Any]
) -> AsyncIterator[BaseModel]:
    async for row in source:
        yield model.model_validate(row)


def _steps(
    session: AsyncSession, plan_id: uuid.UUID, user_id: uuid.UUID, *, everyone: bool
) -> AsyncIterator[BaseModel]:
    """Every step while the couple lasts (both partners see them all); of a couple that
    ended, the steps the person wrote."""
    statement = select(RepairStep).where(RepairStep.plan_id == plan_id)
    if not everyone:
        statement = statement.where(RepairStep.created_by == user_id)
    return _validated(
        schema.ArchiveRepairStep, rows(session, statement, (RepairStep.position, RepairStep.id))
    )


async def _agreements(
    session: AsyncSession, plan_id: uuid.UUID, user_id: uuid.UUID
) -> AsyncIterator[BaseModel]:
    """Each agreement with the versions the person proposed or signed."""
    statement = select(RepairAgreement).where(RepairAgreement.plan_id == plan_id)
    async for agreement in rows(session, statement, (RepairAgreement.position, RepairAgreement.id)):
        signed = aliased(RepairSignature)
        versions = await session.execute(
            select(RepairAgreementVersion, signed.signed_at)
            .outerjoin(
                signed,
                and_(signed.version_id == RepairAgreementVersion.id, signed.user_id == user_id),
            )
            .where(
                RepairAgreementVersion.agreement_id == agreement.id,
                or_(RepairAgreementVersion.proposed_by == user_id, signed.signed_at.is_not(None)),
            )
            .order_by(RepairAgreementVersion.number)
        )
        yield schema.ArchiveAgreement(
            id=agreement.id,
            phase=agreement.phase,
            position=agreement.position,
            versions=[
                schema.ArchiveAgreementVersion.model_validate(
                    _With(version, signed_by_me_at=signed_at)
                )
                for version, signed_at in versions
            ],
        )


async def _connected_apps(session: AsyncSession, me: Member) -> AsyncIterator[BaseModel]:
    for app in await connected_apps.list_connected_apps(session, me):
        yield schema.ArchiveConnectedApp.model_validate(app)


async def _access_log(session: AsyncSession, me: Member) -> AsyncIterator[BaseModel]:
    async def fetch(params: PageQuery) -> Window[access_log.AccessLogView]:
        return await access_log.list_entries(session, me, params)

    async for entry in pages(session, fetch):
        yield schema.ArchiveAccessLogEntry.model_validate(entry)
