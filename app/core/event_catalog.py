"""Every event type: its name, what it means, the scope a partner platform needs to receive
it, and the fields of its thin payload.

A delivered or synced event reads `{"type", "timestamp", "data": {"id", "user_id",
"couple_id", ...fields}}`: ids, numbers, flags and short tokens only, never free text.
`append_event` refuses types missing from this catalog, so the catalog, the webhooks section
of the OpenAPI document and `GET /v1/event-types` can never drift from what is written.
"""

from __future__ import annotations

from typing import Any

from app.core.event_fields import EventType, FieldKind, PayloadField
from app.core.event_fields import id_field as _id
from app.core.event_types_guided import GUIDED_TYPES
from app.core.security import Scope

__all__ = ["EVENT_TYPES", "EventType", "FieldKind", "PayloadField", "check_payload", "event_type"]

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
    *GUIDED_TYPES,
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
