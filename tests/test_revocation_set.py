"""The in-memory revocation set and the token ids it reads issue times from."""

from __future__ import annotations

import time
import uuid

from app.core.revocation import Entry, RevocationSet
from app.core.tokens import AccessTokenClaims, issued_ms, new_token_id

NOW_MS = 1_800_000_000_000
ANN, BO = uuid.uuid4(), uuid.uuid4()


def claims(
    *,
    user_id: uuid.UUID | None = ANN,
    client_id: str = "rapport-mobile",
    at_ms: int = NOW_MS,
    session_id: str | None = None,
) -> AccessTokenClaims:
    return AccessTokenClaims(
        subject=str(user_id) if user_id else client_id,
        client_id=client_id,
        scopes=frozenset({"profile"}),
        jti=new_token_id(at_ms),
        issued_at=at_ms // 1000,
        expires_at=at_ms // 1000 + 900,
        user_id=user_id,
        session_id=session_id,
    )


def entry(
    *,
    id: int = 1,
    user_id: uuid.UUID | None = None,
    client_id: str | None = None,
    token_id: str | None = None,
    session_id: str | None = None,
    at_ms: int = NOW_MS,
    lifetime_ms: int = 930_000,
) -> Entry:
    return Entry(
        id=id,
        user_id=user_id,
        client_id=client_id,
        token_id=token_id,
        session_id=session_id,
        revoked_ms=at_ms,
        expires_ms=at_ms + lifetime_ms,
    )


def test_token_ids_are_uuid7_carrying_the_issue_time_in_ms() -> None:
    now_ms = time.time_ns() // 1_000_000
    ids = {new_token_id(now_ms) for _ in range(500)}
    assert len(ids) == 500
    for token_id in ids:
        parsed = uuid.UUID(token_id)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert issued_ms(token_id, 0) == now_ms
    # A token from before UUIDv7 ids counts from the start of its `iat` second.
    assert issued_ms(uuid.uuid4().hex, 1_700_000_000) == 1_700_000_000_000


def test_an_empty_set_revokes_nothing() -> None:
    assert not RevocationSet().is_revoked(claims())


def test_a_revoked_token_id_stops_that_token_only() -> None:
    revocations = RevocationSet()
    token, other = claims(), claims()
    revocations.add(entry(token_id=token.jti, user_id=ANN, client_id="rapport-mobile"))
    assert revocations.is_revoked(token)
    assert not revocations.is_revoked(other)


def test_a_revoked_session_stops_its_tokens_whenever_issued() -> None:
    revocations = RevocationSet()
    revocations.add(entry(session_id="family-1"))
    assert revocations.is_revoked(claims(session_id="family-1", at_ms=NOW_MS + 60_000))
    assert not revocations.is_revoked(claims(session_id="family-2"))
    assert not revocations.is_revoked(claims())


def test_a_user_and_client_revocation_stops_what_was_issued_until_then() -> None:
    revocations = RevocationSet()
    revocations.add(entry(user_id=ANN, client_id="closer-together"))
    assert revocations.is_revoked(claims(client_id="closer-together", at_ms=NOW_MS - 1))
    assert revocations.is_revoked(claims(client_id="closer-together", at_ms=NOW_MS))
    # Issued a millisecond later (a new sign-in): accepted, although in the same second.
    assert not revocations.is_revoked(claims(client_id="closer-together", at_ms=NOW_MS + 1))
    # Another app of the same person, or the same app for another person: untouched.
    assert not revocations.is_revoked(claims(client_id="rapport-mobile", at_ms=NOW_MS - 1))
    assert not revocations.is_revoked(
        claims(user_id=BO, client_id="closer-together", at_ms=NOW_MS - 1)
    )


def test_a_user_revocation_stops_every_app_and_a_client_revocation_every_user() -> None:
    revocations = RevocationSet()
    revocations.add(entry(id=1, user_id=ANN))
    revocations.add(entry(id=2, client_id="partner", at_ms=NOW_MS + 5000))
    assert revocations.is_revoked(claims(client_id="rapport-mobile", at_ms=NOW_MS - 1000))
    assert revocations.is_revoked(claims(client_id="other", at_ms=NOW_MS))
    assert not revocations.is_revoked(claims(user_id=BO, client_id="other"))
    assert revocations.is_revoked(claims(user_id=None, client_id="partner", at_ms=NOW_MS))
    assert revocations.is_revoked(claims(user_id=BO, client_id="partner", at_ms=NOW_MS))
    assert revocations.last_id == 2


def test_the_latest_revocation_of_a_subject_wins_whatever_the_order() -> None:
    revocations = RevocationSet()
    revocations.add(entry(id=2, user_id=ANN, at_ms=NOW_MS + 10_000))
    revocations.add(entry(id=1, user_id=ANN, at_ms=NOW_MS))  # arrives late: changes nothing
    assert revocations.is_revoked(claims(at_ms=NOW_MS + 5000))
    assert revocations.last_id == 2


def test_pruning_forgets_what_no_live_token_can_need() -> None:
    revocations = RevocationSet()
    revocations.add(entry(id=1, user_id=ANN, lifetime_ms=1000))
    revocations.add(entry(id=2, session_id="family", lifetime_ms=1000))
    revocations.add(entry(id=3, token_id="jti", lifetime_ms=1000))
    revocations.add(entry(id=4, user_id=BO, lifetime_ms=60_000))
    assert len(revocations) == 4
    revocations.prune(NOW_MS + 2000)
    assert len(revocations) == 1
    assert not revocations.is_revoked(claims(at_ms=NOW_MS - 1))
    assert revocations.is_revoked(claims(user_id=BO, at_ms=NOW_MS - 1))


def test_an_entry_survives_its_notification_payload() -> None:
    for original in (
        entry(id=7, user_id=ANN, client_id="closer-together"),
        entry(id=8, token_id=new_token_id(NOW_MS)),
        entry(id=9, session_id=str(uuid.uuid4())),
    ):
        assert Entry.from_json(original.to_json()) == original
