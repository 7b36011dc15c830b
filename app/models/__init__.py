"""SQLAlchemy models; importing this package registers every table on `Base.metadata`."""

from app.models.access_log import AccessLogEntry, PrivateKind
from app.models.account_tokens import AccountToken, TokenPurpose
from app.models.activities import ActivityIdea, ActivityMark, ActivityMatch, ActivityReview
from app.models.answers import Answer, DailyPrompt, Reflection, ReflectionKind
from app.models.audit import AuditEntry
from app.models.base import Base
from app.models.checkins import CheckIn, Visibility
from app.models.conversations import Conversation, ConversationTurn, Move, Phase
from app.models.couples import (
    Couple,
    CoupleBlock,
    CoupleMember,
    CoupleStatus,
    Invite,
    RelationshipStage,
)
from app.models.events import Event
from app.models.exports import Export, ExportState
from app.models.federation import FederatedIdentity, FederationReplay
from app.models.idempotency import IdempotencyRecord
from app.models.journal import JournalEntry, JournalLabel, LabelKind
from app.models.keys import DataKey
from app.models.oauth import AuthorizationCode, Consent, OAuthClient, RefreshToken, SigningKey
from app.models.prompts import (
    Category,
    LibraryStatus,
    LibraryVersion,
    Prompt,
    PromptKind,
    PromptLibrary,
    PromptTranslation,
    PromptVersion,
    PromptVersionStatus,
)
from app.models.push import Device, NotificationSettings, PushDelivery, PushDispatchState
from app.models.repair import (
    PartnerRole,
    PlanStatus,
    RepairAgreement,
    RepairAgreementVersion,
    RepairPlan,
    RepairSignature,
    RepairSignOff,
    RepairStep,
    RepairStepConfirmation,
    RepairTemplate,
    RepairTemplateVersion,
    StepOwner,
    StepStatus,
    TemplateStatus,
    TrustRating,
)
from app.models.revocations import Revocation
from app.models.rituals import (
    Ritual,
    RitualCommitment,
    RitualEntry,
    RitualSchedule,
    RitualStatus,
    RitualStep,
    Weekday,
)
from app.models.test_clocks import TestClock, TestClockCouple
from app.models.users import Role, User
from app.models.webhooks import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDispatchState,
    WebhookEndpoint,
)

__all__ = [
    "AccessLogEntry",
    "AccountToken",
    "ActivityIdea",
    "ActivityMark",
    "ActivityMatch",
    "ActivityReview",
    "Answer",
    "AuditEntry",
    "AuthorizationCode",
    "Base",
    "Category",
    "CheckIn",
    "Consent",
    "Conversation",
    "ConversationTurn",
    "Couple",
    "CoupleBlock",
    "CoupleMember",
    "CoupleStatus",
    "DailyPrompt",
    "DataKey",
    "DeliveryStatus",
    "Device",
    "Event",
    "Export",
    "ExportState",
    "FederatedIdentity",
    "FederationReplay",
    "IdempotencyRecord",
    "Invite",
    "JournalEntry",
    "JournalLabel",
    "LabelKind",
    "LibraryStatus",
    "LibraryVersion",
    "Move",
    "NotificationSettings",
    "OAuthClient",
    "PartnerRole",
    "Phase",
    "PlanStatus",
    "PrivateKind",
    "Prompt",
    "PromptKind",
    "PromptLibrary",
    "PromptTranslation",
    "PromptVersion",
    "PromptVersionStatus",
    "PushDelivery",
    "PushDispatchState",
    "Reflection",
    "ReflectionKind",
    "RefreshToken",
    "RelationshipStage",
    "RepairAgreement",
    "RepairAgreementVersion",
    "RepairPlan",
    "RepairSignOff",
    "RepairSignature",
    "RepairStep",
    "RepairStepConfirmation",
    "RepairTemplate",
    "RepairTemplateVersion",
    "Revocation",
    "Ritual",
    "RitualCommitment",
    "RitualEntry",
    "RitualSchedule",
    "RitualStatus",
    "RitualStep",
    "Role",
    "SigningKey",
    "StepOwner",
    "StepStatus",
    "TemplateStatus",
    "TestClock",
    "TestClockCouple",
    "TokenPurpose",
    "TrustRating",
    "User",
    "Visibility",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookDispatchState",
    "WebhookEndpoint",
    "Weekday",
]

# Registers the ORM events that seal and open the models' free text.
import app.core.encryption_orm  # noqa: F401
