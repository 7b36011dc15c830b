"""The daily prompt as a couple sees it, answers, and reflections."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.models.answers import ReflectionKind
from app.models.prompts import Category, PromptKind


class PromptCard(BaseModel):
    """One prompt, at the exact version that was given (and answered)."""

    prompt_id: uuid.UUID
    version_id: uuid.UUID
    text: str
    category: Category
    depth: int = Field(ge=1, le=3)
    kind: PromptKind
    listener_guidance: str | None
    tags: list[str]


class DayState(StrEnum):
    open = "open"
    waiting_for_partner = "waiting_for_partner"
    waiting_for_you = "waiting_for_you"
    revealed = "revealed"
    closed = "closed"


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
    created_at: datetime


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)


class AnswerOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    text: str
    created_at: datetime
    updated_at: datetime
    revealed_at: datetime | None
    reflections: list[ReflectionOut] = Field(default_factory=list)


class DayOut(BaseModel):
    """A day's prompt and, with `answers:read`, where the answers stand.

    The partner's answer appears only once both have answered; until then
    `partner_answered` tells, neutrally, whether they have.
    """

    date: date
    state: DayState
    prompt: PromptCard
    swapped: bool
    can_swap: bool
    my_answer: AnswerOut | None
    partner_answered: bool
    partner_answer: AnswerOut | None
    revealed_at: datetime | None


class MyAnswerOut(BaseModel):
    """One of my answers, with the prompt answered and my partner's answer once revealed."""

    date: date
    couple_id: uuid.UUID
    prompt: PromptCard
    answer: AnswerOut
    partner_answer: AnswerOut | None
