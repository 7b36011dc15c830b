"""Account recovery and email verification: mailed single-use tokens.

A token is random (an HMAC, under the app's secret key, of its row's random id), stored
only as a SHA-256 hash, short-lived, used once, and superseded by a newer request of the
same kind. Asking for a reset answers the same whether or not the email is registered:
no mail is sent in the request, only an outbox row written (app/services/account_emails.py).
A completed reset ends every sign-in session and refresh token of the person.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import datetime, timedelta

from pydantic import SecretStr, TypeAdapter, ValidationError
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.passwords import Passwords
from app.core.problems import FieldError
from app.core.secrets import token_hash
from app.models.account_tokens import AccountToken, TokenPurpose
from app.models.base import utcnow
from app.models.users import User
from app.schemas.common import NewPassword
from app.services.users import (
    WeakPassword,
    check_password_rules,
    find_user_by_email,
    replace_password,
)

_new_password: TypeAdapter[SecretStr] = TypeAdapter(NewPassword)


class TokenRefused(Exception):
    """Unknown, used, superseded or expired: the pages say the same for each."""


def token_for(secret_key: str, token_id: uuid.UUID) -> str:
    key = hmac.new(secret_key.encode(), b"rapport:account-token", hashlib.sha256).digest()
    digest = hmac.new(key, token_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def issue(
    session: AsyncSession,
    user: User,
    purpose: TokenPurpose,
    *,
    secret_key: str,
    ttl: timedelta,
    now: datetime,
) -> AccountToken:
    """A new token (its mail queued), ending the person's earlier ones of this purpose."""
    await session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose,
            AccountToken.ended_at.is_(None),
        )
        .values(ended_at=now)
    )
    token_id = uuid.uuid4()
    row = AccountToken(
        id=token_id,
        user_id=user.id,
        purpose=purpose,
        token_hash=token_hash(token_for(secret_key, token_id)),
        email_normalized=user.email_normalized,
        locale=user.locale,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    await session.flush()
    return row


def _can_receive(user: User | None) -> bool:
    return user is not None and user.deactivated_at is None and user.erased_at is None


async def request_password_reset(
    session: AsyncSession, email: str, *, secret_key: str, ttl: timedelta, now: datetime
) -> None:
    """Queue a reset mail when the address has an account; do nothing visible otherwise."""
    user = await find_user_by_email(session, email)
    if user is not None and _can_receive(user):
        await issue(
            session, user, TokenPurpose.reset_password, secret_key=secret_key, ttl=ttl, now=now
        )


async def request_verification(
    session: AsyncSession, user: User, *, secret_key: str, ttl: timedelta, now: datetime
) -> bool:
    """Queue a verification mail unless the address is verified already."""
    if user.email_verified_at is not None or not _can_receive(user):
        return False
    await issue(session, user, TokenPurpose.verify_email, secret_key=secret_key, ttl=ttl, now=now)
    return True


async def _live(
    session: AsyncSession, token: str, purpose: TokenPurpose, now: datetime
) -> tuple[AccountToken, User]:
    row = await session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == token_hash(token), AccountToken.purpose == purpose
        )
    )
    if row is None or row.ended_at is not None or row.expires_at <= now:
        raise TokenRefused
    user = await session.get(User, row.user_id)
    if user is None or not _can_receive(user) or user.email_normalized != row.email_normalized:
        raise TokenRefused  # the address changed since: the link proves nothing any more
    return row, user


async def check(session: AsyncSession, token: str, purpose: TokenPurpose, now: datetime) -> None:
    """Raise `TokenRefused` unless the token could be used now (the pages' GET)."""
    await _live(session, token, purpose, now)


async def _claim(session: AsyncSession, row: AccountToken, now: datetime) -> None:
    """End the token, once: of two concurrent uses only one gets past this."""
    result = await session.execute(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        raise TokenRefused


def check_new_password(password: str, email: str, field: str = "password") -> None:
    """The sign-up rules for a new password; raises `WeakPassword` (a 422 problem)."""
    try:
        _new_password.validate_python(password)
    except ValidationError as error:
        detail = error.errors()[0]["msg"].removeprefix("Value error, ")
        raise WeakPassword(
            detail, errors=[FieldError(pointer=f"#/{field}", detail=detail)]
        ) from error
    check_password_rules(password, email, field)


async def reset_password(
    session: AsyncSession, token: str, new_password: str, *, passwords: Passwords, now: datetime
) -> User:
    """Set a new password through a reset token; every session and refresh token ends."""
    row, user = await _live(session, token, TokenPurpose.reset_password, now)
    check_new_password(new_password, user.email)  # before the token is spent
    await _claim(session, row, now)
    await replace_password(session, user, new_password, passwords=passwords)
    user.signed_out_at = user.password_changed_at
    if user.email_verified_at is None:
        user.email_verified_at = user.password_changed_at  # the link reached this address
    await session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.ended_at.is_(None))
        .values(ended_at=now)
    )
    await session.flush()
    return user


async def verify_email(session: AsyncSession, token: str, *, now: datetime) -> User:
    row, user = await _live(session, token, TokenPurpose.verify_email, now)
    await _claim(session, row, now)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    await session.flush()
    return user
