"""Every event type: its name, what it means, the scope a partner platform needs to receive
it, and the fields of its thin payload.

A delivered or synced event reads `{"type", "timestamp", "data": {"id", "user_id",
"couple_id", ...fields}}`: ids, numbers, flags and short tokens only, never free text.
`append_event` refuses types missing from this catalog, so the catalog, the webhooks section
of the OpenAPI document and `GET /v1/event-types` can never drift from what is written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from app.core.security import Scope
from app.models.activities import IdeaSource
from app.models.conversations import Move, Phase
from app.models.rituals import RitualStep


class FieldKind(StrEnum):
    id = "id"
    integer = "integer"
    flag = "flag"
    date = "date"
    word = "word"
    """A short machine word: one of `PayloadField.choices`, or any short token without them."""


@dataclass(frozen=True, slots=True)
class PayloadField:
    name: str
    kind: FieldKind
    description: str
    choices: tuple[str, ...] = ()
    nullable: bool = False

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        if self.kind is FieldKind.id:
            return isinstance(value, uuid.UUID)
        if self.kind is FieldKind.integer:
            return isinstance(value, int) and not isinstance(value, bool)
        if self.kind is FieldKind.flag:
            return isinstance(value, bool)
        if self.kind is FieldKind.date:
            return isinstance(value, str) and _is_iso_date(value)
        return isinstance(value, str) and (not self.choices or value in self.choices)


def _is_iso_date(value: str) -> bool:
    try:
        return date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def _id(name: str) -> PayloadField:
    return PayloadField(name, FieldKind.id, f"The id of the {name.removesuffix('_id')}.")


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    description: str
    scope: Scope
    """A partner platform receives this type only with this scope granted."""
    fields: tuple[PayloadField, ...] = ()
    """The payload's `data` keys beyond `id`, `user_id` and `couple_id`."""


_TYPES = (
    EventType("user.created", "A person created an account.", Scope.profile),
    EventType("user.updated", "A person changed their profile.", Scope.profile),
    EventType("user.password_changed", "A person changed their password.", Scope.profile),
    EventType(
        "user.deleted",
        "A person deleted their account: it is closed now and erased after a grace period. "
        "Delete what you hold about them.",
        Scope.profile,
    ),
    EventType(
        "consent.revoked",
        "A person disconnected an app: its consent and refresh tokens were revoked.",
        Scope.couple_read,
        (PayloadField("client_id", FieldKind.word, "The OAuth client's id."),),
    ),
    EventType("couple.created", "A person started a couple.", Scope.couple_read),
    EventType("couple.joined", "The second partner joined the couple.", Scope.couple_read),
    EventType("couple.updated", "The couple's settings changed.", Scope.couple_read),
    EventType(
        "couple.ended",
        "A partner left: the couple ended for both. No reason is ever attached; the time is "
        "the start of the couple's local day (`ended_on`), never the moment.",
        Scope.couple_read,
        (
            PayloadField(
                "ended_on", FieldKind.date, "The couple's local date when it ended (ISO 8601)."
            ),
        ),
    ),
    EventType(
        "prompt.assigned",
        "The couple's prompt of the day was chosen (or swapped).",
        Scope.prompts_read,
        (
            _id("daily_prompt_id"),
            _id("prompt_id"),
            PayloadField(
                "swapped", FieldKind.flag, "Whether it replaced an earlier prompt of the same day."
            ),
        ),
    ),
    EventType(
        "answer.submitted",
        "A partner answered the day's prompt (the answer stays hidden until both answered).",
        Scope.answers_read,
        (_id("daily_prompt_id"), _id("answer_id")),
    ),
    EventType(
        "answer.revealed",
        "Both partners answered: the day's answers were revealed to both.",
        Scope.answers_read,
        (_id("daily_prompt_id"),),
    ),
    EventType(
        "reflection.created",
        "A partner reflected on something the other shared (an answer or a check-in).",
        Scope.answers_read,
        (
            _id("reflection_id"),
            PayloadField(
                "target_type", FieldKind.word, "What was reflected on.", ("answer", "checkin")
            ),
            _id("target_id"),
        ),
    ),
    EventType(
        "checkin.shared",
        "A check-in was shared with the partner. Private check-ins emit nothing.",
        Scope.checkins_read,
        (_id("checkin_id"),),
    ),
    EventType(
        "checkin.unshared",
        "A shared check-in was made private again.",
        Scope.checkins_read,
        (_id("checkin_id"),),
    ),
    EventType(
        "checkin.updated",
        "A shared check-in was edited.",
        Scope.checkins_read,
        (_id("checkin_id"),),
    ),
    EventType(
        "checkin.deleted",
        "A shared check-in was deleted.",
        Scope.checkins_read,
        (_id("checkin_id"),),
    ),
    *(
        EventType(
            f"repair_plan.{move}",
            f"A repair plan was {text}.",
            Scope.repair_read,
            (
                _id("plan_id"),
                PayloadField(
                    "template_id",
                    FieldKind.id,
                    "The template the plan follows; null for a plan written by the couple.",
                    nullable=True,
                ),
            )
            if move == "proposed"
            else (_id("plan_id"),),
        )
        for move, text in (
            ("proposed", "proposed by a partner"),
            ("accepted", "accepted by the other partner: it is active"),
            ("declined", "declined by the other partner"),
            ("paused", "paused"),
            ("resumed", "resumed"),
            ("completed", "completed with both partners' sign-off"),
            ("abandoned", "ended by a partner (or by the couple ending)"),
        )
    ),
    EventType(
        "repair_plan.phase_advanced",
        "A repair plan moved to its next phase with both partners' sign-off.",
        Scope.repair_read,
        (
            _id("plan_id"),
            PayloadField("phase_index", FieldKind.integer, "The phase the plan entered (0-based)."),
        ),
    ),
    EventType(
        "repair_plan.signed_off",
        "A partner signed off a move that needs both (`advance`, `complete`): the other "
        "partner's sign-off makes it.",
        Scope.repair_read,
        (
            _id("plan_id"),
            PayloadField("move", FieldKind.word, "The move signed off.", ("advance", "complete")),
        ),
    ),
    EventType(
        "repair_step.completed",
        "A step of a repair plan was completed.",
        Scope.repair_read,
        (_id("plan_id"), _id("step_id")),
    ),
    EventType(
        "agreement.signed",
        "A partner signed a version of an agreement; `in_force` once both signed it.",
        Scope.repair_read,
        (
            _id("plan_id"),
            _id("agreement_id"),
            PayloadField("version", FieldKind.integer, "The agreement's version number."),
            PayloadField("in_force", FieldKind.flag, "Whether both partners signed this version."),
        ),
    ),
    EventType(
        "trust_rating.recorded",
        "A partner recorded how safe and trusting they feel.",
        Scope.repair_read,
        (_id("plan_id"), _id("trust_rating_id")),
    ),
    EventType(
        "conversation.started",
        "A partner started a speaker-listener conversation.",
        Scope.conversations_read,
        (
            _id("conversation_id"),
            PayloadField(
                "prompt_id",
                FieldKind.id,
                "The prompt it started from; null for a topic of the couple's own.",
                nullable=True,
            ),
        ),
    ),
    EventType(
        "conversation.moved",
        "A partner made a move in a conversation (a turn, a pause, an appreciation...); "
        "read the words through the API.",
        Scope.conversations_read,
        (
            _id("conversation_id"),
            PayloadField("seq", FieldKind.integer, "The turn's number (from 1)."),
            PayloadField("move", FieldKind.word, "The move made.", tuple(m.value for m in Move)),
            PayloadField(
                "phase", FieldKind.word, "The phase it led to.", tuple(p.value for p in Phase)
            ),
        ),
    ),
    EventType(
        "conversation.ended",
        "A partner ended a conversation; each partner may still appreciate the other once.",
        Scope.conversations_read,
        (
            _id("conversation_id"),
            PayloadField("seq", FieldKind.integer, "The turn's number (from 1)."),
        ),
    ),
    EventType(
        "activity.idea_added",
        "A partner added an activity idea of the couple's own; read its words through the API.",
        Scope.activities_read,
        (_id("idea_id"),),
    ),
    EventType(
        "activity.idea_removed",
        "A partner removed an activity idea they had added.",
        Scope.activities_read,
        (_id("idea_id"),),
    ),
    EventType(
        "activity.matched",
        "Both partners want the same activity idea. Marks themselves are private: no event "
        "carries one, and this one does not say whose mark made the match.",
        Scope.activities_read,
        (
            _id("match_id"),
            PayloadField("idea_id", FieldKind.id, "The idea: a prompt's id or an own idea's."),
            PayloadField(
                "source",
                FieldKind.word,
                "Where the idea comes from.",
                tuple(s.value for s in IdeaSource),
            ),
        ),
    ),
    EventType(
        "activity.unmatched",
        "A match went away before it was planned: one of the partners no longer wants it (not "
        "said which, nor whether they chose `not_now` or withdrew their mark).",
        Scope.activities_read,
        (
            _id("match_id"),
            PayloadField("idea_id", FieldKind.id, "The idea: a prompt's id or an own idea's."),
        ),
    ),
    EventType(
        "activity.planned",
        "A partner planned a match for a local date (or changed or cleared the date).",
        Scope.activities_read,
        (
            _id("match_id"),
            PayloadField(
                "planned_for",
                FieldKind.date,
                "The local date planned; null once the plan was cleared.",
                nullable=True,
            ),
        ),
    ),
    EventType(
        "activity.completed",
        "Both partners said how a planned activity went; read the reviews through the API.",
        Scope.activities_read,
        (_id("match_id"),),
    ),
    EventType(
        "webhook.ping",
        "A test delivery asked for through the API; sent only to the endpoint tested.",
        Scope.webhooks_manage,
    ),
    EventType(
        "webhook_endpoint.disabled",
        "A webhook endpoint was disabled after failing deliveries (or answering 410 Gone).",
        Scope.webhooks_manage,
        (
            _id("endpoint_id"),
            PayloadField(
                "reason",
                FieldKind.word,
                "Why: `failing` (deliveries failed for days) or `gone` (it answered 410).",
                ("failing", "gone"),
            ),
        ),
    ),
    EventType(
        "ritual.scheduled",
        "A partner set or changed the couple's weekly ritual schedule; read it through the API.",
        Scope.conversations_read,
    ),
    EventType(
        "ritual.unscheduled",
        "A partner stopped the couple's weekly ritual: no reminders, no new ritual.",
        Scope.conversations_read,
    ),
    EventType(
        "ritual.started",
        "A partner started this week's ritual.",
        Scope.conversations_read,
        (
            _id("ritual_id"),
            PayloadField("week_of", FieldKind.date, "The scheduled local date its week starts."),
        ),
    ),
    EventType(
        "ritual.step_finished",
        "A partner finished a step of the ritual (the issue: for both partners).",
        Scope.conversations_read,
        (
            _id("ritual_id"),
            PayloadField(
                "step", FieldKind.word, "The step finished.", tuple(s.value for s in RitualStep)
            ),
            PayloadField(
                "conversation_id",
                FieldKind.id,
                "The conversation linked as the issue; null otherwise (or skipped).",
                nullable=True,
            ),
        ),
    ),
    EventType(
        "ritual.completed",
        "Both partners finished every step of the ritual.",
        Scope.conversations_read,
        (_id("ritual_id"),),
    ),
    EventType(
        "ritual.ended",
        "A partner ended the ritual before both finished.",
        Scope.conversations_read,
        (_id("ritual_id"),),
    ),
    EventType(
        "commitment.added",
        "A partner committed to something for next week in the ritual; read it through the API.",
        Scope.conversations_read,
        (_id("ritual_id"), _id("commitment_id")),
    ),
    EventType(
        "commitment.done",
        "A partner marked their commitment done.",
        Scope.conversations_read,
        (_id("ritual_id"), _id("commitment_id")),
    ),
    EventType(
        "commitment.undone",
        "A partner marked their commitment not done after all.",
        Scope.conversations_read,
        (_id("ritual_id"), _id("commitment_id")),
    ),
)

EVENT_TYPES: dict[str, EventType] = {event.name: event for event in _TYPES}


def check_payload(event: EventType, data: dict[str, Any]) -> None:
    """Refuse a payload whose keys or values differ from what the catalog publishes."""
    expected = {field.name: field for field in event.fields}
    if set(data) != set(expected):
        raise ValueError(
            f"{event.name} carries {sorted(data)}; the catalog publishes {sorted(expected)}"
        )
    for name, value in data.items():
        if not expected[name].accepts(value):
            raise ValueError(f"{event.name}.{name} = {value!r} is not a {expected[name].kind}")


def event_type(name: str) -> EventType:
    try:
        return EVENT_TYPES[name]
    except KeyError:
        raise ValueError(f"event type {name!r} is not in app/core/event_catalog.py") from None
