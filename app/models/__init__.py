"""SQLAlchemy models; importing this package registers every table on `Base.metadata`."""

from app.models.base import Base
from app.models.couples import Couple, CoupleMember, CoupleStatus, Invite, RelationshipStage
from app.models.events import Event
from app.models.idempotency import IdempotencyRecord
from app.models.oauth import AuthorizationCode, Consent, OAuthClient, RefreshToken, SigningKey
from app.models.users import Role, User

__all__ = [
    "AuthorizationCode",
    "Base",
    "Consent",
    "Couple",
    "CoupleMember",
    "CoupleStatus",
    "Event",
    "IdempotencyRecord",
    "Invite",
    "OAuthClient",
    "RefreshToken",
    "RelationshipStage",
    "Role",
    "SigningKey",
    "User",
]
