"""The account mails' outbox: queued as `account_tokens` rows, sent by a scheduled job.

A request only writes a row, in its own transaction; the `send_account_emails` job sends
what committed. A mail is claimed before it is sent (a lease, `FOR UPDATE SKIP LOCKED` on
PostgreSQL) and marked sent right after the server accepted it, so a crash loses nothing
and a retry never follows an accepted send, except when the process dies between the
server's acceptance and that mark: then the same mail (same link, same Message-ID) goes
once more. Superseded, used and expired tokens are never mailed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.email.rendering import render_email
from app.email.senders import EmailNotSent, EmailSender, compose
from app.models.account_tokens import AccountToken, TokenPurpose
from app.models.users import User
from app.services.account_tokens import token_for

log = logging.getLogger("rapport.email")

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
BATCH = 50
KEEP_ENDED = timedelta(days=1)

PAGES = {
    TokenPurpose.reset_password: "/oauth/reset-password",
    TokenPurpose.verify_email: "/oauth/verify-email",
}


@dataclass(frozen=True, slots=True)
class _Due:
    token_id: uuid.UUID
    purpose: TokenPurpose
    to: str
    locale: str


def link_for(settings: Settings, purpose: TokenPurpose, token: str) -> str:
    return f"{settings.public_url}{PAGES[purpose]}?{urlencode({'token': token})}"


async def _claim_due(session: AsyncSession, now: datetime) -> list[_Due]:
    rows = (
        await session.execute(
            select(AccountToken, User.email)
            .join(User, User.id == AccountToken.user_id)
            .where(
                AccountToken.sent_at.is_(None),
                AccountToken.ended_at.is_(None),
                AccountToken.expires_at > now,
                AccountToken.send_attempts < MAX_ATTEMPTS,
                or_(AccountToken.claimed_until.is_(None), AccountToken.claimed_until <= now),
            )
            .order_by(AccountToken.created_at)
            .limit(BATCH)
            .with_for_update(of=AccountToken, skip_locked=True)
        )
    ).all()
    due = []
    for row, email in rows:
        row.send_attempts += 1
        row.claimed_until = now + LEASE * row.send_attempts  # backs off after each failure
        due.append(_Due(row.id, row.purpose, email, row.locale))
    return due


def _message_for(settings: Settings, item: _Due) -> tuple[str, str]:
    link = link_for(settings, item.purpose, token_for(settings.secret_key, item.token_id))
    if item.purpose is TokenPurpose.reset_password:
        minutes = settings.password_reset_ttl_seconds // 60
        mail = render_email("reset_password", item.locale, link=link, minutes=minutes)
    else:
        hours = settings.email_verification_ttl_seconds // 3600
        mail = render_email("verify_email", item.locale, link=link, hours=hours)
    return mail.subject, mail.body


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: EmailSender,
    settings: Settings,
    now: datetime,
) -> int:
    """Send the queued mails; returns how many the server accepted."""
    async with sessionmaker() as session, session.begin():
        due = await _claim_due(session, now)
    host = urlsplit(settings.public_url).hostname or "rapport"
    sent = 0
    for item in due:
        subject, body = _message_for(settings, item)
        message = compose(
            sender=settings.smtp_from,
            to=item.to,
            subject=subject,
            body=body,
            message_id=f"<{item.token_id}@{host}>",
        )
        try:
            await sender.send(message)
        except EmailNotSent as error:
            log.warning("account email not sent, will retry: %s", error)
            continue
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(AccountToken)
                .where(AccountToken.id == item.token_id, AccountToken.sent_at.is_(None))
                .values(sent_at=now, claimed_until=None)
            )
        sent += 1
    return sent


async def sweep_tokens(session: AsyncSession, now: datetime) -> int:
    """Delete tokens that can no longer be used, a day after they ended or expired."""
    result = await session.execute(
        delete(AccountToken).where(
            or_(
                AccountToken.expires_at < now - KEEP_ENDED, AccountToken.ended_at < now - KEEP_ENDED
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
