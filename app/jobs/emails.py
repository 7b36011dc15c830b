"""Email jobs: send the queued account mails; forget tokens that can no longer be used."""

from __future__ import annotations

from app.email.senders import create_sender
from app.jobs.context import JobContext
from app.services.account_emails import deliver_due, sweep_tokens


async def send_account_emails(context: JobContext) -> int:
    """Idempotent: a mail marked sent is never sent again; a claimed one waits its lease."""
    sender = create_sender(context.settings)
    return await deliver_due(context.sessionmaker, sender, context.settings, context.now())


async def sweep_account_tokens(context: JobContext) -> int:
    async with context.sessionmaker() as session, session.begin():
        return await sweep_tokens(session, context.now())
