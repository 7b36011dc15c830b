"""Deleting an account (GDPR Art. 17): closed at once, erased after a grace period.

`request_erasure` checks the password (tokens carry no auth_time, so it is the proof), then
`deactivate` closes the account: every access token, refresh token, authorization code and
browser sign-in session stops, the couple ends for the partner with the usual neutral
`couple.ended`, and connected apps get a thin `user.deleted`. Signing in again before
`erase_after` cancels it (`signed_in_again`). Then `erase_account` deletes everything the person
wrote; what the partner's own records need (a shared plan, an agreement both signed) is kept
without the person's words.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.encryption_orm import destroy_data_key
from app.core.events import append_event
from app.core.passwords import Passwords
from app.core.problems import Forbidden
from app.core.ratelimit import RateLimiter
from app.core.revocation_log import Reason, revoke
from app.core.security import Member
from app.models.access_log import AccessLogEntry
from app.models.activities import ActivityIdea, ActivityMark, ActivityMatch, ActivityReview
from app.models.answers import Answer, Reflection
from app.models.audit import AuditEntry
from app.models.base import utcnow
from app.models.checkins import CheckIn
from app.models.conversations import Conversation, ConversationTurn
from app.models.couples import CoupleBlock, CoupleMember, Invite
from app.models.exports import Export
from app.models.federation import FederatedIdentity
from app.models.idempotency import IdempotencyRecord
from app.models.journal import JournalEntry, JournalLabel
from app.models.oauth import AuthorizationCode, Consent, RefreshToken
from app.models.repair import (
    RepairAgreement,
    RepairAgreementVersion,
    RepairPlan,
    RepairSignOff,
    RepairStep,
    RepairStepConfirmation,
    TrustRating,
)
from app.models.rituals import Ritual, RitualCommitment, RitualEntry, RitualSchedule
from app.models.users import User
from app.services.clients import is_first_party
from app.services.couples import leave_any_couple
from app.services.users import (
    confirm_password,
    get_user,
    revoke_refresh_tokens,
    spend_authorization_codes,
)

ERASED_NAME = "Former member"
ERASED_PLAN_TITLE = "Repair plan"
ERASED_PASSWORD_HASH = "!erased"  # noqa: S105 - not a hash at all: no password ever matches


class PasswordRefused(Forbidden):
    slug = "password-refused"
    title = "The password is not correct"


class FirstPartyOnly(Forbidden):
    slug = "first-party-only"
    title = "Only the Rapport app itself can do this"


async def require_first_party(session: AsyncSession, me: Member) -> None:
    """Deleting an account asks for the password: only a first-party app may collect it."""
    if not await is_first_party(session, me.client_id):
        raise FirstPartyOnly(
            "Deleting an account needs the person's password; send them to the Rapport app."
        )


async def check_password(
    user: User, password: str, *, passwords: Passwords, limiter: RateLimiter
) -> None:
    """403 for a wrong password, 429 after `limiter.limit` failures per window."""
    refused = PasswordRefused("The password is not correct; nothing was changed.")
    await confirm_password(user, password, passwords=passwords, limiter=limiter, refused=refused)


async def deactivate(session: AsyncSession, user: User, now: datetime, reason: Reason) -> None:
    """Stop every way in: tokens, codes, sign-in sessions; end the couple."""
    user.signed_out_at = utcnow()  # the real moment, like the revocation's: it bounds sessions
    await revoke_refresh_tokens(session, user.id)
    await spend_authorization_codes(session, user.id, now)
    await revoke(session, reason=reason, user_id=user.id)
    await leave_any_couple(session, user.id, now)
    await session.flush()


async def request_erasure(
    session: AsyncSession,
    me: Member,
    password: str,
    *,
    passwords: Passwords,
    limiter: RateLimiter,
    now: datetime,
    grace_days: int,
) -> User:
    await require_first_party(session, me)
    user = await get_user(session, me)
    await check_password(user, password, passwords=passwords, limiter=limiter)
    await start_erasure(session, user, now, grace_days=grace_days, reason=Reason.account_erased)
    return user


async def start_erasure(
    session: AsyncSession, user: User, now: datetime, *, grace_days: int, reason: Reason
) -> None:
    if user.deactivated_at is None:
        user.deactivated_at = now
        user.erase_after = now + timedelta(days=grace_days)
    await deactivate(session, user, now, reason)
    await append_event(session, "user.deleted", user_id=user.id)


async def signed_in_again(session: AsyncSession, user: User) -> None:
    """A person proved their password on the sign-in page: a pending erasure is cancelled.

    Sign-in sessions count whole seconds; one that starts in the same second as the last
    sign-out (`signed_out_at`) must not count as ended by it.
    """
    if user.signed_out_at is not None:
        second = utcnow().replace(microsecond=0)
        if user.signed_out_at >= second:
            user.signed_out_at = second - timedelta(microseconds=1)
    if user.deactivated_at is not None and user.erased_at is None:
        user.deactivated_at = None
        user.erase_after = None
    await session.flush()


async def erase_due_accounts(session: AsyncSession, now: datetime) -> int:
    """Erase every account whose grace period is over; for a scheduled job."""
    due = (
        await session.scalars(
            select(User.id).where(
                User.erase_after <= now,
                User.deactivated_at.is_not(None),
                User.erased_at.is_(None),
            )
        )
    ).all()
    for user_id in due:
        await erase_account(session, user_id, now)
    return len(due)


async def erase_account(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> None:
    """Delete what the person wrote; keep only ids the partner's own records need."""
    user = await session.get(User, user_id)
    if user is None or user.erased_at is not None:
        return
    if user.deactivated_at is None:  # erased without a request first: close it all the same
        user.deactivated_at = now
        await deactivate(session, user, now, Reason.account_erased)
    await _erase_repair(session, user_id)
    own_ideas = select(ActivityIdea.id).where(ActivityIdea.author_id == user_id)
    for statement in (
        # A conversation stays for the partner, with the person's words gone (their turns
        # keep their place, so the session still reads in order).
        update(ConversationTurn).where(ConversationTurn.author_id == user_id).values(text=None),
        update(Conversation)
        .where(Conversation.started_by == user_id)
        .values(topic=None, started_by=None),
        # Time together: the person's marks go; so do the ideas they wrote, with every mark
        # and match on them; their reviews keep the rating (a done plan stays done for the
        # partner) without their words.
        delete(ActivityMark).where(ActivityMark.user_id == user_id),
        delete(ActivityMark).where(ActivityMark.idea_id.in_(own_ideas)),
        delete(ActivityMatch).where(ActivityMatch.idea_id.in_(own_ideas)),
        delete(ActivityIdea).where(ActivityIdea.author_id == user_id),
        update(ActivityReview).where(ActivityReview.user_id == user_id).values(note=None),
        # A weekly ritual stays for the partner; the person's entries and commitments go.
        delete(RitualEntry).where(RitualEntry.author_id == user_id),
        delete(RitualCommitment).where(RitualCommitment.owner_id == user_id),
        update(Ritual).where(Ritual.started_by == user_id).values(started_by=None),
        update(RitualSchedule).where(RitualSchedule.set_by == user_id).values(set_by=None),
        delete(Answer).where(Answer.user_id == user_id),
        delete(Reflection).where(Reflection.author_id == user_id),
        delete(CheckIn).where(CheckIn.user_id == user_id),
        delete(JournalLabel).where(JournalLabel.user_id == user_id),
        delete(JournalEntry).where(JournalEntry.user_id == user_id),
        delete(AccessLogEntry).where(AccessLogEntry.user_id == user_id),
        # With its row goes the archive's only key: the file is unreadable from now on, and
        # the `sweep_exports` job removes it.
        delete(Export).where(Export.user_id == user_id),
        delete(Consent).where(Consent.user_id == user_id),
        delete(RefreshToken).where(RefreshToken.user_id == user_id),
        delete(AuthorizationCode).where(AuthorizationCode.user_id == user_id),
        # Apple and Google links (their email too): the provider account signs in nobody.
        delete(FederatedIdentity).where(FederatedIdentity.user_id == user_id),
        delete(IdempotencyRecord).where(IdempotencyRecord.caller.startswith(f"{user_id}@")),
        delete(Invite).where(Invite.created_by == user_id, Invite.used_at.is_(None)),
        delete(CoupleBlock).where(
            or_(CoupleBlock.blocker_id == user_id, CoupleBlock.blocked_id == user_id)
        ),
        update(AuditEntry).where(AuditEntry.actor_user_id == user_id).values(actor_user_id=None),
    ):
        await session.execute(statement)
    # Crypto-shredding: whatever copy of their text is left (a backup, a step they edited in
    # the partner's plan) can no longer be opened.
    await destroy_data_key(session, user_id)
    user.email = user.email_normalized = f"erased-{user_id.hex}@erased.invalid"
    user.display_name = ERASED_NAME
    user.password_hash = ERASED_PASSWORD_HASH
    user.erase_after = None
    user.erased_at = now
    await session.flush()


async def _erase_repair(session: AsyncSession, user_id: uuid.UUID) -> None:
    """A plan the partner never accepted goes; a shared plan stays for the partner, without
    the person's words: their steps, ratings and sign-offs go, their agreement texts empty."""
    couples = select(CoupleMember.couple_id).where(CoupleMember.user_id == user_id)
    await session.execute(
        delete(RepairPlan).where(
            RepairPlan.couple_id.in_(couples),
            RepairPlan.proposed_by == user_id,
            RepairPlan.accepted_at.is_(None),
        )
    )
    plans = select(RepairPlan.id).where(RepairPlan.couple_id.in_(couples))
    agreements = select(RepairAgreement.id).where(RepairAgreement.plan_id.in_(plans))
    for statement in (
        update(RepairPlan)
        .where(RepairPlan.couple_id.in_(couples), RepairPlan.proposed_by == user_id)
        .values(title=ERASED_PLAN_TITLE, proposed_by=None),
        update(RepairPlan)
        .where(RepairPlan.couple_id.in_(couples), RepairPlan.declined_by == user_id)
        .values(decline_note=None),
        delete(RepairStepConfirmation).where(RepairStepConfirmation.user_id == user_id),
        delete(RepairStep).where(RepairStep.plan_id.in_(plans), RepairStep.created_by == user_id),
        delete(RepairSignOff).where(RepairSignOff.user_id == user_id),
        delete(TrustRating).where(TrustRating.user_id == user_id),
        update(RepairAgreementVersion)
        .where(
            RepairAgreementVersion.agreement_id.in_(agreements),
            RepairAgreementVersion.proposed_by == user_id,
        )
        .values(text="", proposed_by=None),
        update(RepairAgreement)
        .where(RepairAgreement.plan_id.in_(plans), RepairAgreement.proposed_by == user_id)
        .values(proposed_by=None),
    ):
        await session.execute(statement)
