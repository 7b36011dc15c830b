"""Deciding who gets a push, and recording it: one `PushDelivery` per (device, key).

Lock screens are public, so a push carries neutral text and ids only (`MESSAGES`): never an
answer, a note, a journal word, a repair detail or a feeling. Nobody gets a push about
their own action, about a couple they left (an ex-partner), of a kind they turned off, or
on another person's device. Quiet hours delay news (a partner's answer, a shared check-in)
until they end, and drop reminders (today's prompt, a repair step due), which also stop at
the person's weekly cap, and appointments (the weekly ritual is due), which do not count
toward it. Each decision is written in the transaction that makes it, keyed
(`event:<id>`, `daily_prompt:<date>`, ...) and unique per device, so that a rerun or a
restart finds the key and sends nothing twice; sending happens after commit
(`notifications_send`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.languages import language_of
from app.models.couples import Couple, CoupleMember, CoupleStatus
from app.models.push import DeliveryState, Device, NotificationKind, PushDelivery
from app.push.base import PushMessage
from app.services import notification_settings
from app.services.notifications_time import quiet_until


@dataclass(frozen=True, slots=True)
class Text:
    title: str
    body: str


MESSAGES: dict[str, dict[NotificationKind, Text]] = {
    "en": {
        NotificationKind.daily_prompt: Text("Rapport", "Today's prompt is ready."),
        NotificationKind.partner_answered: Text("Rapport", "Your partner answered today's prompt."),
        NotificationKind.answers_revealed: Text(
            "Rapport", "Your partner answered too: your answers are revealed."
        ),
        NotificationKind.checkin_shared: Text(
            "Rapport", "Your partner shared a check-in with you."
        ),
        NotificationKind.repair_step_due: Text(
            "Rapport", "A step of your repair plan is due today."
        ),
        NotificationKind.conversation_turn: Text("Rapport", "It's your turn in your conversation."),
        NotificationKind.weekly_ritual: Text("Rapport", "Your weekly check-in is due."),
    },
    "de": {
        NotificationKind.daily_prompt: Text("Rapport", "Die Frage des Tages ist da."),
        NotificationKind.partner_answered: Text(
            "Rapport", "Dein Gegenüber hat die Frage des Tages beantwortet."
        ),
        NotificationKind.answers_revealed: Text(
            "Rapport", "Ihr habt beide geantwortet: Eure Antworten sind sichtbar."
        ),
        NotificationKind.checkin_shared: Text(
            "Rapport", "Dein Gegenüber hat einen Check-in mit dir geteilt."
        ),
        NotificationKind.repair_step_due: Text(
            "Rapport", "Heute steht ein Schritt eures Reparaturplans an."
        ),
        NotificationKind.conversation_turn: Text(
            "Rapport", "In eurem Gespräch bist du an der Reihe."
        ),
        NotificationKind.weekly_ritual: Text("Rapport", "Zeit für euren wöchentlichen Check-in."),
    },
    "es": {
        NotificationKind.daily_prompt: Text("Rapport", "La pregunta de hoy ya está lista."),
        NotificationKind.partner_answered: Text(
            "Rapport", "Tu pareja respondió la pregunta de hoy."
        ),
        NotificationKind.answers_revealed: Text(
            "Rapport", "Tu pareja también respondió: ya pueden ver sus respuestas."
        ),
        NotificationKind.checkin_shared: Text(
            "Rapport", "Tu pareja compartió un check-in contigo."
        ),
        NotificationKind.repair_step_due: Text(
            "Rapport", "Hoy toca un paso de su plan de reparación."
        ),
        NotificationKind.conversation_turn: Text("Rapport", "Te toca en su conversación."),
        NotificationKind.weekly_ritual: Text("Rapport", "Es hora de su check-in semanal."),
    },
}
"""Neutral texts by language; a language not here reads English."""
REMINDERS = frozenset({NotificationKind.daily_prompt, NotificationKind.repair_step_due})
"""Nudges: dropped in quiet hours, and counted against the weekly cap."""
APPOINTMENTS = frozenset({NotificationKind.weekly_ritual})
"""At a time the couple chose: dropped in quiet hours (too late to help once they end), but
neither stopped by nor counted against the weekly cap (daily prompts would fill it)."""
CAP_WINDOW = timedelta(days=7)


def message_for(
    kind: NotificationKind, data: dict[str, str], key: str, locale: str | None = None
) -> PushMessage:
    """The push for `kind` in the language of `locale` (the device's, else its owner's)."""
    text = MESSAGES.get(language_of(locale or "en"), MESSAGES["en"])[kind]
    return PushMessage(
        title=text.title,
        body=text.body,
        data={"kind": kind.value, **data},
        collapse_id=key,
        urgent=kind not in REMINDERS | APPOINTMENTS,
    )


async def active_partner(
    session: AsyncSession, couple_id: uuid.UUID | None, author_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The author's partner while both are still in the (active) couple; else nobody."""
    if couple_id is None or author_id is None:
        return None
    members = set(
        await session.scalars(
            select(CoupleMember.active_user_id)
            .join(Couple, Couple.id == CoupleMember.couple_id)
            .where(
                CoupleMember.couple_id == couple_id,
                CoupleMember.active_user_id.is_not(None),
                Couple.status == CoupleStatus.active,
            )
        )
    )
    if author_id not in members:
        return None
    others = [member for member in members if member is not None and member != author_id]
    return others[0] if others else None


async def already_decided(session: AsyncSession, user_id: uuid.UUID, key: str) -> bool:
    found = await session.scalar(
        select(PushDelivery.id).where(PushDelivery.user_id == user_id, PushDelivery.key == key)
    )
    return found is not None


async def _reminders_this_week(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    return int(
        await session.scalar(
            select(func.count(func.distinct(PushDelivery.key))).where(
                PushDelivery.user_id == user_id,
                PushDelivery.kind.in_(list(REMINDERS)),
                PushDelivery.created_at > now - CAP_WINDOW,
            )
        )
        or 0
    )


@dataclass(frozen=True, slots=True)
class Moment:
    """When a push is decided: `rules` is the time its rules read (a test clock's, for a
    couple attached to one), `real` the time it is sent on."""

    rules: datetime
    real: datetime


async def queue(
    session: AsyncSession,
    user_id: uuid.UUID,
    kind: NotificationKind,
    key: str,
    data: dict[str, str],
    at: datetime | Moment,
) -> int:
    """Record the push `key` for each of the person's devices, unless they must not get it;
    the number of deliveries recorded (0 when refused, or decided before)."""
    moment = at if isinstance(at, Moment) else Moment(rules=at, real=at)
    now = moment.rules
    choice = await notification_settings.load(session, user_id)
    if not notification_settings.is_on(choice.settings, kind):
        return 0
    if await already_decided(session, user_id, key):
        return 0
    send_at = now
    quiet_end = quiet_until(
        now, choice.settings.quiet_hours_start, choice.settings.quiet_hours_end, choice.zone
    )
    if kind in REMINDERS | APPOINTMENTS and quiet_end is not None:
        return 0
    if kind in REMINDERS:
        if await _reminders_this_week(session, user_id, now) >= choice.settings.weekly_nudge_cap:
            return 0
    elif quiet_end is not None:
        send_at = quiet_end
    devices = list(await session.scalars(select(Device.id).where(Device.user_id == user_id)))
    recorded = 0
    for device_id in devices:
        try:
            async with session.begin_nested():
                session.add(
                    PushDelivery(
                        device_id=device_id,
                        user_id=user_id,
                        key=key,
                        kind=kind,
                        data=data,
                        state=DeliveryState.pending,
                        next_attempt_at=moment.real + (send_at - now),
                        created_at=now,
                    )
                )
                await session.flush()
            recorded += 1
        except IntegrityError:
            continue  # decided already, by a run that raced this one
    return recorded
