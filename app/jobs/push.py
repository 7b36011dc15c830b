"""Push jobs: queue what events and local reminder times call for, then send it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.config import Environment
from app.jobs.batches import delete_in_batches
from app.jobs.context import JobContext
from app.models.push import PushDelivery
from app.push.senders import senders_for
from app.services.notifications_daily import queue_daily_reminders
from app.services.notifications_events import push_events
from app.services.notifications_ritual import queue_ritual_reminders
from app.services.notifications_send import send_due

KEEP = timedelta(days=30)


async def push_notifications(context: JobContext) -> int:
    """Read new events into pushes (each batch its own transaction), then send what is due."""
    queued = 0
    while True:
        async with context.sessionmaker() as session, session.begin():
            taken = await push_events(session, context.now(), context.batch_size)
        queued += taken
        if taken < context.batch_size:
            break
    sent = await send_due(context.sessionmaker, senders_for(context.settings), context.now())
    return queued + sent


async def daily_reminders(context: JobContext) -> int:
    """Queue the reminders whose local time has come (the daily ones, and the weekly
    ritual's), then send what is due."""
    clocks = context.settings.environment is not Environment.production
    async with context.sessionmaker() as session, session.begin():
        queued = await queue_daily_reminders(session, context.now(), clocks=clocks)
        queued += await queue_ritual_reminders(session, context.now(), clocks=clocks)
    sent = await send_due(context.sessionmaker, senders_for(context.settings), context.now())
    return queued + sent


async def sweep_push_deliveries(context: JobContext) -> int:
    """Push deliveries decided more than `KEEP` ago (the weekly cap looks back seven days)."""
    due = select(PushDelivery.id).where(PushDelivery.created_at < context.now() - KEEP)
    return await delete_in_batches(context, PushDelivery, PushDelivery.id, due)
