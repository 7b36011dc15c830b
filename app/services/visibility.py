"""The consent rule, decided in one place: may client C, acting for person P, see this now?

A webhook delivery, a sync item or a response reaches an app only if that app, acting for a
person who consented to it with the needed scope, could read the same thing through the API
at that moment. Every event type names the kind of thing it is about (`SUBJECTS`), and each
kind has one rule (`can_see`):

| subject | who sees it |
| --- | --- |
| `person` | the person themself (`user.*`, `consent.revoked`) |
| `couple` | the couple's current members (`couple.created/joined/updated`) |
| `couple_end` | everyone who was a member when it ended (`couple.ended`) |
| `day` | the couple's current members (`prompt.*`, `answer.*`; answers hidden until revealed) |
| `reflection` | whoever can see its target (an answer's day, or a shared check-in) |
| `checkin` | the author, and the partner in the couple it was shared in while that lasts |
| `checkin_gone` | who could see it until this change: the author, the couple's members |
| `repair` | the couple's current members, through a third-party app only while BOTH consent to it |
| `conversation` | as `repair`, with `conversations:read` (both partners' words are in it) |
| `activity` | as `repair`, with `activities:read` (ideas, matches and plans of both partners) |
| `private` | the author alone; a third-party app only with the sensitive scope |
| `endpoint` | the partner platform owning the endpoint, acting for itself |
| `direct` | nobody through fan-out (a test ping goes to the one endpoint tested) |

The weekly ritual (`ritual.*`, `commitment.*`) is a guided conversation: `conversation` too.

The facts a rule needs (memberships, consents, check-ins) are loaded in bulk by
`app.services.visibility_facts`, so the webhook fan-out and the sync feed decide a whole
batch in a few queries; the read paths (`repair_access`, `checkins`) share the pure rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from app.core.event_catalog import EVENT_TYPES
from app.core.security import Scope
from app.models.checkins import CheckIn, Visibility
from app.models.events import Event


class Subject(StrEnum):
    person = "person"
    couple = "couple"
    couple_end = "couple_end"
    day = "day"
    reflection = "reflection"
    checkin = "checkin"
    checkin_gone = "checkin_gone"
    repair = "repair"
    conversation = "conversation"
    activity = "activity"
    private = "private"
    endpoint = "endpoint"
    direct = "direct"


_REPAIR_PREFIXES = ("repair_plan.", "repair_step.", "agreement.", "trust_rating.")
_EXACT: dict[str, Subject] = {
    "consent.revoked": Subject.person,
    "couple.ended": Subject.couple_end,
    "checkin.unshared": Subject.checkin_gone,
    "checkin.deleted": Subject.checkin_gone,
    "webhook.ping": Subject.direct,
}
_PREFIXES: dict[str, Subject] = {
    "user.": Subject.person,
    "couple.": Subject.couple,
    "prompt.": Subject.day,
    "answer.": Subject.day,
    "reflection.": Subject.reflection,
    "checkin.": Subject.checkin,
    "journal_entry.": Subject.private,
    "webhook_endpoint.": Subject.endpoint,
    "conversation.": Subject.conversation,
    "activity.": Subject.activity,
    "ritual.": Subject.conversation,
    "commitment.": Subject.conversation,
    **dict.fromkeys(_REPAIR_PREFIXES, Subject.repair),
}


def subject_of(event_type: str) -> Subject:
    """The kind of thing an event type is about; a type with no rule is seen by nobody."""
    if event_type in _EXACT:
        return _EXACT[event_type]
    for prefix, subject in _PREFIXES.items():
        if event_type.startswith(prefix):
            return subject
    return Subject.direct


SUBJECTS: dict[str, Subject] = {name: subject_of(name) for name in EVENT_TYPES}
"""Every catalog type and the rule that decides who sees it."""

REPAIR_READ: frozenset[str] = frozenset({Scope.repair_read.value})
CONVERSATIONS_READ: frozenset[str] = frozenset({Scope.conversations_read.value})
ACTIVITIES_READ: frozenset[str] = frozenset({Scope.activities_read.value})
COUPLE_WIDE: dict[Subject, frozenset[str]] = {
    Subject.repair: REPAIR_READ,
    Subject.conversation: CONVERSATIONS_READ,
    Subject.activity: ACTIVITIES_READ,
}
"""Things of the whole couple, both partners' words in them: a third-party app sees them only
while both partners consent to it with this scope (`couple_wide_visible`)."""
READ_SCOPES: dict[Subject, frozenset[str]] = {
    Subject.person: frozenset({Scope.profile.value}),
    Subject.couple: frozenset({Scope.couple_read.value}),
    Subject.day: frozenset({Scope.prompts_read.value}),
    Subject.checkin: frozenset({Scope.checkins_read.value}),
    **COUPLE_WIDE,
}
"""What reading the thing through the API takes, beyond the event type's own scope (a day's
answers are read through `GET /v1/couples/me/prompts/{date}`, which takes `prompts:read`)."""
PRIVATE_SCOPE: dict[str, Scope] = {"checkin": Scope.checkins_private, "journal": Scope.journal_read}
"""The sensitive scope a third-party app needs to read a person's private writing."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """A client acting for a person, with the scopes that person granted it (or the token's)."""

    client_id: str
    user_id: uuid.UUID | None
    scopes: frozenset[str]
    first_party: bool = False


@dataclass(frozen=True, slots=True)
class CheckInFacts:
    user_id: uuid.UUID
    couple_id: uuid.UUID | None
    visibility: Visibility


@dataclass
class Facts:
    """What the rules look at, for a batch of events: loaded by `visibility_facts`."""

    active_members: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)
    """Couple id → its current members."""
    ever_members: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)
    """Couple id → everyone who was ever a member (ex-partners included)."""
    consents: dict[tuple[uuid.UUID, str], frozenset[str]] = field(default_factory=dict)
    """(person, client) → the scopes of that person's live consent."""
    checkins: dict[uuid.UUID, CheckInFacts] = field(default_factory=dict)
    checkin_rows: dict[uuid.UUID, CheckIn] = field(default_factory=dict)
    """The same check-ins, loaded whole (the sync feed shows them)."""
    endpoint_owners: dict[str, str] = field(default_factory=dict)
    """Endpoint id (as in the payload) → the client owning it."""

    def active_couple_of(self, user_id: uuid.UUID) -> uuid.UUID | None:
        for couple_id, members in self.active_members.items():
            if user_id in members:
                return couple_id
        return None


def consented_by_both(
    members: Collection[uuid.UUID],
    granted: Mapping[uuid.UUID, Collection[str]],
    needed: Collection[str],
) -> bool:
    """Both partners of a couple hold a live consent with every `needed` scope."""
    return len(members) == 2 and all(
        set(needed) <= set(granted.get(member, ())) for member in members
    )


def may_read_private(viewer: Viewer, author_id: uuid.UUID, kind: str) -> bool:
    """Private writing: its author alone, through a third-party app only with the sensitive
    scope (`checkins:private`, `journal:read`)."""
    if viewer.user_id != author_id:
        return False
    return viewer.first_party or PRIVATE_SCOPE[kind].value in viewer.scopes


def checkin_visible(viewer: Viewer, checkin: CheckInFacts, active_couple: uuid.UUID | None) -> bool:
    """As `GET /v1/checkins/{id}` decides (`services.checkins.visible_to`), plus the sensitive
    scope for a private one: the author's own; a shared one also for the current partner of
    the couple it was written in."""
    if checkin.visibility is Visibility.private:
        return may_read_private(viewer, checkin.user_id, "checkin")
    if viewer.user_id == checkin.user_id:
        return True
    return checkin.couple_id is not None and checkin.couple_id == active_couple


def checkin_visible_now(viewer: Viewer, checkin_id: uuid.UUID, facts: Facts) -> bool:
    checkin = facts.checkins.get(checkin_id)
    if checkin is None or viewer.user_id is None:
        return False
    return checkin_visible(viewer, checkin, facts.active_couple_of(viewer.user_id))


def couple_wide_visible(
    viewer: Viewer, couple_id: uuid.UUID | None, facts: Facts, needed: Collection[str]
) -> bool:
    """As `services.repair_access.resolve_caller` (and `services.conversations`) decide: a
    current member of the couple, through a first-party app, or a third-party one both
    partners consented to with `needed`."""
    if couple_id is None or viewer.user_id is None:
        return False
    members = facts.active_members.get(couple_id, set())
    if viewer.user_id not in members:
        return False
    if viewer.first_party:
        return True
    granted = {member: facts.consents.get((member, viewer.client_id), ()) for member in members}
    return consented_by_both(members, granted, needed)


def _checkin_of(event: Event, facts: Facts, key: str = "checkin_id") -> CheckInFacts | None:
    raw = event.data.get(key)
    return facts.checkins.get(uuid.UUID(str(raw))) if raw else None


def can_see(viewer: Viewer, event: Event, facts: Facts) -> bool:
    """Whether this client, acting for this person, could read what `event` is about now."""
    subject = SUBJECTS.get(event.type, Subject.direct)
    user = viewer.user_id
    if subject is Subject.endpoint:
        owner = facts.endpoint_owners.get(str(event.data.get("endpoint_id")))
        return user is None and owner == viewer.client_id
    if subject is Subject.direct or user is None:
        return False
    if not READ_SCOPES.get(subject, frozenset()) <= viewer.scopes:
        return False
    couple = event.couple_id
    current = couple is not None and user in facts.active_members.get(couple, set())
    if subject is Subject.person:
        return event.user_id == user
    if subject in (Subject.couple, Subject.day):
        return current
    if subject is Subject.couple_end:
        return couple is not None and user in facts.ever_members.get(couple, set())
    if subject is Subject.checkin:
        checkin = _checkin_of(event, facts)
        return checkin is not None and checkin_visible(
            viewer, checkin, facts.active_couple_of(user)
        )
    if subject is Subject.checkin_gone:
        return event.user_id == user or current
    if subject is Subject.reflection:
        if event.data.get("target_type") == "checkin":
            checkin = _checkin_of(event, facts, "target_id")
            return checkin is not None and checkin_visible(
                viewer, checkin, facts.active_couple_of(user)
            )
        return current
    if subject in COUPLE_WIDE:
        return couple_wide_visible(viewer, couple, facts, COUPLE_WIDE[subject])
    if subject is Subject.private:
        return event.user_id is not None and may_read_private(viewer, event.user_id, "journal")
    return False


def follows_in_sync(viewer: Viewer, event: Event, facts: Facts) -> bool:
    """Whether an event inside the person's membership windows appears in their sync feed.

    Things that can stop being visible (a couple, a day, a check-in, a reflection) stay in
    the feed as tombstones once they do, so an app drops its copy; the rest appear only
    while the rule lets the client see them (a repair plan's or a conversation's events
    vanish from a third-party app's feed when a partner disconnects it, and an
    ex-partner's).
    """
    subject = SUBJECTS.get(event.type, Subject.direct)
    if subject in (
        Subject.couple,
        Subject.couple_end,
        Subject.day,
        Subject.checkin,
        Subject.checkin_gone,
        Subject.reflection,
    ):
        return True
    return can_see(viewer, event, facts)
