"""Answers to a day's prompt, reflections on them, and my answers."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from app.models.answers import Answer, Reflection, ReflectionKind
from app.schemas.catalog import PromptCard
from app.schemas.common import UtcDateTime

if TYPE_CHECKING:  # services import schemas; schemas only name the services' views
    from app.services.answers import AnswerView
    from app.services.my_answers import MyAnswer


class ReflectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ReflectionKind = Field(
        description="`reflect`: say back what you heard; `appreciate`: thank them; "
        "`ask`: a curious question. Never a fix or a critique."
    )
    text: str = Field(min_length=1, max_length=1000)


class ReflectionOut(BaseModel):
    id: uuid.UUID
    answer_id: uuid.UUID
    author_id: uuid.UUID
    kind: ReflectionKind
    text: str
    created_at: UtcDateTime

    @classmethod
    def of(cls, reflection: Reflection) -> ReflectionOut:
        return cls(
            id=reflection.id,
            answer_id=reflection.target_id,
            author_id=reflection.author_id,
            kind=reflection.kind,
            text=reflection.text,
            created_at=reflection.created_at,
        )


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)


class AnswerOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    text: str
    created_at: UtcDateTime
    updated_at: UtcDateTime
    revealed_at: UtcDateTime | None
    reflections: list[ReflectionOut] = Field(default_factory=list)

    @classmethod
    def of(cls, answer: Answer, reflections: list[Reflection] | None = None) -> AnswerOut:
        return cls(
            id=answer.id,
            user_id=answer.user_id,
            text=answer.text,
            created_at=answer.created_at,
            updated_at=answer.updated_at,
            revealed_at=answer.revealed_at,
            reflections=[ReflectionOut.of(r) for r in reflections or []],
        )

    @classmethod
    def of_view(cls, view: AnswerView | None) -> AnswerOut | None:
        return None if view is None else cls.of(view.answer, view.reflections)


class MyAnswerOut(BaseModel):
    """One of my answers, with the prompt answered and my partner's answer once revealed."""

    date: date
    couple_id: uuid.UUID
    prompt: PromptCard
    answer: AnswerOut
    partner_answer: AnswerOut | None

    @classmethod
    def of(cls, item: MyAnswer) -> MyAnswerOut:
        return cls(
            date=item.day.local_date,
            couple_id=item.day.couple_id,
            prompt=PromptCard.of(item.version, item.wording),
            answer=AnswerOut.of(item.answer),
            partner_answer=AnswerOut.of(item.partner_answer) if item.partner_answer else None,
        )
