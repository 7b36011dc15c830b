"""Who a verified Apple or Google identity is in Rapport. Synchronous (a `Session`), so that
the token-exchange grant (inside authlib, on the greenlet bridge) and the sign-in pages (via
`AsyncSession.run_sync`) share one set of rules:

- a linked (provider, subject) is its person, whatever email the token now carries;
- an unlinked subject whose email no account uses gets a new account (no password; signing in
  is through the provider until the person sets one);
- an unlinked subject whose email an account already uses is never linked silently: the
  person proves they hold that account (its password, once), then the link is made.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.oidc import VerifiedIdentity
from app.core import live_broker
from app.core.event_catalog import check_payload, event_type
from app.models.base import utcnow
from app.models.events import Event
from app.models.federation import FederatedIdentity, FederationReplay
from app.models.users import User

NO_PASSWORD = "!federated"  # noqa: S105 - not a hash: no password ever verifies against it
REPLAY_MARGIN = timedelta(minutes=10)
DEFAULT_TIMEZONE = "UTC"
DEFAULT_LOCALE = "en"


@dataclass(frozen=True, slots=True)
class Resolved:
    """`user` signs in; or, with `must_confirm`, `user` owns the email and must confirm."""

    user: User | None
    must_confirm: bool = False
    created: bool = False


def _normalise(email: str) -> str:
    return email.strip().lower()


def account_open(user: User) -> bool:
    """Not erased. A deactivated account (erasure pending) may still sign in in the browser,
    which cancels the erasure, as a password sign-in does."""
    return user.erased_at is None


def seen_before(session: Session, identity: VerifiedIdentity) -> bool:
    """Record the token (and its nonce) as used; True when either was used already."""
    now = utcnow()
    session.execute(delete(FederationReplay).where(FederationReplay.expires_at < now))
    keep_until = datetime.fromtimestamp(identity.expires_at, UTC) + REPLAY_MARGIN
    digests = [f"token:{identity.token_digest}"]
    if identity.nonce:
        digests.append(f"nonce:{identity.provider}:{identity.nonce}")
    for text in digests:
        digest = hashlib.sha256(text.encode()).hexdigest()
        try:
            with session.begin_nested():
                session.add(FederationReplay(digest=digest, expires_at=keep_until))
                session.flush()
        except IntegrityError:
            return True
    return False


def find_link(session: Session, provider: str, subject: str) -> FederatedIdentity | None:
    return session.scalar(
        select(FederatedIdentity).where(
            FederatedIdentity.provider == provider, FederatedIdentity.subject == subject
        )
    )


def resolve(session: Session, identity: VerifiedIdentity, *, may_create: bool = True) -> Resolved:
    link = find_link(session, identity.provider, identity.subject)
    if link is not None:
        user = session.get(User, link.user_id)
        link.last_used_at = utcnow()
        return Resolved(user if user is not None and account_open(user) else None)
    if identity.email is None:
        if not may_create:
            return Resolved(None)
        return Resolved(_create_user(session, identity), created=True)
    owner = _owner(session, identity.email)
    if owner is not None:
        return Resolved(owner, must_confirm=True)
    if not may_create:
        return Resolved(None)
    try:
        with session.begin_nested():
            return Resolved(_create_user(session, identity), created=True)
    except IntegrityError:  # a concurrent sign-up with this email (or this subject) won
        return resolve(session, identity, may_create=False)


def _owner(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email_normalized == _normalise(email)))


def link(session: Session, identity: VerifiedIdentity, user_id: uuid.UUID) -> FederatedIdentity:
    row = FederatedIdentity(
        provider=identity.provider,
        subject=identity.subject,
        user_id=user_id,
        email=identity.email,
        email_verified=identity.email_verified,
    )
    session.add(row)
    session.flush()
    return row


def _display_name(identity: VerifiedIdentity) -> str:
    if identity.name:
        return identity.name.strip()[:80]
    if identity.email:
        return identity.email.split("@", 1)[0][:80] or "Rapport member"
    return "Rapport member"


def _create_user(session: Session, identity: VerifiedIdentity) -> User:
    # Without an email from the provider the account gets a private placeholder address,
    # unique per provider subject, that no mail is ever sent to.
    email = identity.email or f"{identity.provider}.{identity.subject}@users.invalid"
    user = User(
        id=uuid.uuid4(),
        email=email.strip(),
        email_normalized=_normalise(email),
        password_hash=NO_PASSWORD,
        display_name=_display_name(identity),
        timezone=DEFAULT_TIMEZONE,
        locale=DEFAULT_LOCALE,
    )
    session.add(user)
    session.flush()
    check_payload(event_type("user.created"), {})
    # This runs in a synchronous session (`append_event` is async): the same row, checked the
    # same way, and the same wake-up after commit.
    session.add(Event(type="user.created", user_id=user.id, data={}))
    live_broker.mark(session, user_id=user.id, couple_id=None)
    link(session, identity, user.id)
    return user
