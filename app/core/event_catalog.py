"""Every event type: its name, what it means, the scope a partner platform needs to receive
it, and the fields of its thin payload.

A delivered or synced event reads `{"type", "timestamp", "data": {"id", "user_id",
"couple_id", ...fields}}`: ids, numbers, flags and short tokens only, never free text.
`append_event` refuses types missing from this catalog, so the catalog, the webhooks section
of the OpenAPI document and `GET /v1/event-types` can never drift from what is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.security import Scope


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    description: str
    scope: Scope
    """A partner platform receives this type only with this scope granted."""
    fields: tuple[str, ...] = ()
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
        ("client_id",),
    ),
    EventType("couple.created", "A person started a couple.", Scope.couple_read),
    EventType("couple.joined", "The second partner joined the couple.", Scope.couple_read),
    EventType("couple.updated", "The couple's settings changed.", Scope.couple_read),
    EventType(
        "couple.ended",
        "A partner left: the couple ended for both. No reason is ever attached; the time is "
        "the start of the couple's local day (`ended_on`), never the moment.",
        Scope.couple_read,
        ("ended_on",),
    ),
    EventType(
        "prompt.assigned",
        "The couple's prompt of the day was chosen (or swapped).",
        Scope.prompts_read,
        ("daily_prompt_id", "prompt_id", "swapped"),
    ),
    EventType(
        "answer.submitted",
        "A partner answered the day's prompt (the answer stays hidden until both answered).",
        Scope.answers_read,
        ("daily_prompt_id", "answer_id"),
    ),
    EventType(
        "answer.revealed",
        "Both partners answered: the day's answers were revealed to both.",
        Scope.answers_read,
        ("daily_prompt_id",),
    ),
    EventType(
        "reflection.created",
        "A partner reflected on something the other shared (an answer or a check-in).",
        Scope.answers_read,
        ("reflection_id", "target_type", "target_id"),
    ),
    EventType(
        "checkin.shared",
        "A check-in was shared with the partner. Private check-ins emit nothing.",
        Scope.checkins_read,
        ("checkin_id",),
    ),
    EventType(
        "checkin.unshared",
        "A shared check-in was made private again.",
        Scope.checkins_read,
        ("checkin_id",),
    ),
    EventType(
        "checkin.updated", "A shared check-in was edited.", Scope.checkins_read, ("checkin_id",)
    ),
    EventType(
        "checkin.deleted", "A shared check-in was deleted.", Scope.checkins_read, ("checkin_id",)
    ),
    *(
        EventType(
            f"repair_plan.{move}",
            f"A repair plan was {text}.",
            Scope.repair_read,
            ("plan_id", "template_id") if move == "proposed" else ("plan_id",),
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
        ("plan_id", "phase_index"),
    ),
    EventType(
        "repair_plan.signed_off",
        "A partner signed off a move that needs both (`advance`, `complete`): the other "
        "partner's sign-off makes it.",
        Scope.repair_read,
        ("plan_id", "move"),
    ),
    EventType(
        "repair_step.completed",
        "A step of a repair plan was completed.",
        Scope.repair_read,
        ("plan_id", "step_id"),
    ),
    EventType(
        "agreement.signed",
        "A partner signed a version of an agreement; `in_force` once both signed it.",
        Scope.repair_read,
        ("plan_id", "agreement_id", "version", "in_force"),
    ),
    EventType(
        "trust_rating.recorded",
        "A partner recorded how safe and trusting they feel.",
        Scope.repair_read,
        ("plan_id", "trust_rating_id"),
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
        ("endpoint_id", "reason"),
    ),
)

EVENT_TYPES: dict[str, EventType] = {event.name: event for event in _TYPES}


def event_type(name: str) -> EventType:
    try:
        return EVENT_TYPES[name]
    except KeyError:
        raise ValueError(f"event type {name!r} is not in app/core/event_catalog.py") from None
