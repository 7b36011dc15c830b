"""Signing in to the authorization server, and the consents people give clients."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.passwords import Passwords
from app.core.ratelimit import RateLimiter, RateLimitResult
from app.core.scopes import ordered
from app.models.oauth import Consent
from app.models.users import User
from app.services.users import find_user_by_email, normalise_email

SIGN_IN_FAILED = "The email or the password is not correct."


class SignInFailed(Exception):
    """Wrong email or password; deliberately silent about which."""

    def __init__(self) -> None:
        super().__init__(SIGN_IN_FAILED)


class SignInThrottled(Exception):
    def __init__(self, result: RateLimitResult) -> None:
        super().__init__("too many sign-in attempts")
        self.result = result


def _account_key(email: str) -> str:
    # Keyed by the address typed, not by a user id: unknown emails are limited the same way.
    return "account:" + hashlib.sha256(normalise_email(email).encode()).hexdigest()


async def sign_in(
    session: AsyncSession,
    limiter: RateLimiter,
    passwords: Passwords,
    *,
    email: str,
    password: str,
    client_ip: str,
) -> User:
    """Check a password, at most `limiter.limit` failures per window per account and per IP.

    Attempts are counted before the password is checked, so parallel guesses cannot slip
    through between a check and a count; a success then gives its count back.
    """
    ip_key = f"ip:{client_ip}"
    by_ip = await limiter.hit(ip_key)
    if not by_ip.allowed:
        raise SignInThrottled(by_ip)
    account_key = _account_key(email)
    by_account = await limiter.hit(account_key)
    if not by_account.allowed:
        raise SignInThrottled(by_account)
    user = await find_user_by_email(session, email)
    # Without an account the password is checked against a dummy hash: the same time spent.
    if not await passwords.verify(user.password_hash if user else None, password) or user is None:
        raise SignInFailed()
    await limiter.reset(account_key)
    await limiter.refund(ip_key)
    return user


async def consented_scopes(session: AsyncSession, user_id: uuid.UUID, client_id: str) -> set[str]:
    scopes = await session.scalar(
        select(Consent.scopes).where(
            Consent.user_id == user_id, Consent.client_id == client_id, Consent.revoked_at.is_(None)
        )
    )
    return set(scopes or ())


async def remember_consent(
    session: AsyncSession, user_id: uuid.UUID, client_id: str, scopes: list[str]
) -> None:
    """Add the scopes to what the person granted the client (one row per person and client)."""
    for _attempt in range(2):
        consent = await session.scalar(
            select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
        )
        if consent is not None:
            previous = [] if consent.revoked_at is not None else consent.scopes
            consent.scopes = ordered([*previous, *scopes])
            consent.revoked_at = None
            await session.flush()
            return
        try:
            async with session.begin_nested():
                session.add(Consent(user_id=user_id, client_id=client_id, scopes=ordered(scopes)))
        except IntegrityError:  # the same person consented in another tab at the same moment
            continue
        return
