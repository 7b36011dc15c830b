"""Speaker-listener conversations: starting one, making a move, and reading them."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, model_validator

from app.models.conversations import Conversation, ConversationTurn, Move, Phase
from app.schemas.checkins import storable
from app.schemas.common import UtcDateTime
from app.services.conversation_rules import MAX_TEXT, TEXT_MOVES

if TYPE_CHECKING:
    from app.services.conversations import ConversationView

_TEXT_MOVE_NAMES: list[JsonValue] = [move.value for move in sorted(TEXT_MOVES)]
TEXT_MOVES_HELP = ", ".join(f"`{move.value}`" for move in sorted(TEXT_MOVES))

TurnText = Annotated[
    str,
    Field(min_length=1, max_length=MAX_TEXT, description=f"1 to {MAX_TEXT} characters."),
    AfterValidator(storable),
]
Topic = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(storable)]


class FirstSpeaker(StrEnum):
    me = "me"
    partner = "partner"


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    topic: Topic | None = Field(default=None, description="What you want to talk about.")
    prompt_id: uuid.UUID | None = Field(
        default=None, description="A published prompt the conversation starts from."
    )
    first_speaker: FirstSpeaker = Field(
        default=FirstSpeaker.me, description="Who holds the floor first: you, unless you say."
    )


class MoveIn(BaseModel):
    # Text goes with the moves that carry words, and with no other (said as if/then/else,
    # as the other conditional bodies are, so a schema-valid request is accepted).
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "if": {"properties": {"move": {"enum": _TEXT_MOVE_NAMES}}, "required": ["move"]},
            "then": {"properties": {"text": {"type": "string"}}, "required": ["text"]},
            "else": {"properties": {"text": {"type": "null"}}},
        },
    )

    move: Move = Field(description="The move you make; `allowed_moves` lists yours now.")
    text: TurnText | None = Field(
        default=None,
        description=f"Your words: required with {TEXT_MOVES_HELP}, absent with the others.",
    )

    @model_validator(mode="after")
    def _text_fits_the_move(self) -> Self:
        if self.move in TEXT_MOVES and self.text is None:
            raise ValueError(f"`{self.move.value}` needs your words in `text`")
        if self.move not in TEXT_MOVES and self.text is not None:
            raise ValueError(f"`{self.move.value}` carries no `text`")
        return self


class TurnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    seq: int = Field(description="The turn's number in the conversation, from 1.")
    author_id: uuid.UUID
    move: Move
    text: str | None
    created_at: UtcDateTime


class ConversationSummary(BaseModel):
    id: uuid.UUID
    topic: str | None
    prompt_id: uuid.UUID | None
    started_by: uuid.UUID | None
    phase: Phase
    speaker_id: uuid.UUID = Field(description="Who holds the floor.")
    listener_id: uuid.UUID
    paused: bool
    ended: bool
    ended_at: UtcDateTime | None
    appreciated_by: list[uuid.UUID] = Field(
        description="The partners who appreciated the other since it ended."
    )
    turn_count: int
    created_at: UtcDateTime
    updated_at: UtcDateTime

    @classmethod
    def from_conversation(cls, conversation: Conversation) -> Self:
        return cls(
            id=conversation.id,
            topic=conversation.topic,
            prompt_id=conversation.prompt_id,
            started_by=conversation.started_by,
            phase=conversation.phase,
            speaker_id=conversation.speaker_id,
            listener_id=conversation.listener_id,
            paused=conversation.paused,
            ended=conversation.ended_at is not None,
            ended_at=conversation.ended_at,
            appreciated_by=[uuid.UUID(value) for value in conversation.appreciated_by],
            turn_count=conversation.last_seq,
            created_at=conversation.created_at,
            updated_at=conversation.updated_at,
        )


class ConversationOut(ConversationSummary):
    turns: list[TurnOut] = Field(description="Every move made, in order.")
    allowed_moves: list[Move] = Field(description="The moves you can make now.")

    @classmethod
    def from_view(cls, view: ConversationView) -> Self:
        summary = ConversationSummary.from_conversation(view.conversation)
        return cls(
            **summary.model_dump(),
            turns=[_turn(turn) for turn in view.turns],
            allowed_moves=view.allowed_moves,
        )


def _turn(turn: ConversationTurn) -> TurnOut:
    return TurnOut.model_validate(turn)
