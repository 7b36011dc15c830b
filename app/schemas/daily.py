"""The daily prompt as a couple sees it."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel

from app.schemas.answers import AnswerOut
from app.schemas.catalog import PromptCard
from app.schemas.common import UtcDateTime

if TYPE_CHECKING:  # services import schemas; schemas only name the services' views
    from app.services.answers import DayView


class DayState(StrEnum):
    open = "open"
    waiting_for_partner = "waiting_for_partner"
    waiting_for_you = "waiting_for_you"
    revealed = "revealed"
    closed = "closed"


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
    revealed_at: UtcDateTime | None

    @classmethod
    def of(cls, view: DayView) -> DayOut:
        """Shapes what the service decided this caller may see, and nothing else."""
        return cls(
            date=view.day.local_date,
            state=view.state,
            prompt=PromptCard.of(view.prompt, view.wording),
            swapped=view.day.swapped_at is not None,
            can_swap=view.can_swap,
            my_answer=AnswerOut.of_view(view.my_answer),
            partner_answered=view.partner_answered,
            partner_answer=AnswerOut.of_view(view.partner_answer),
            revealed_at=view.day.revealed_at,
        )
