"""The event types of the guided practices: speaker-listener conversations, time together
and the weekly ritual. Part of the one catalog, `app.core.event_catalog`."""

from __future__ import annotations

from app.core.event_fields import EventType, FieldKind, PayloadField
from app.core.event_fields import id_field as _id
from app.core.security import Scope
from app.models.activities import IdeaSource
from app.models.conversations import Move, Phase
from app.models.rituals import RitualStep

GUIDED_TYPES = (
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
