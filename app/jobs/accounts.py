"""Account jobs: erasure once the grace period of a deleted account is over."""

from __future__ import annotations

from app.jobs.context import JobContext
from app.services.erasure import erase_due_accounts


async def erase_accounts_past_grace(context: JobContext) -> int:
    """One transaction per run: `erase_due_accounts` skips accounts already erased."""
    async with context.sessionmaker() as session, session.begin():
        return await erase_due_accounts(session, context.now())
