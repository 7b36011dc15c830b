"""Access tokens: what the resource side accepts and refuses, keys, rotation, persistence."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwt
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.keys import KeyRing, generate_key, import_private_key
from app.core.tokens import InvalidToken, TokenService
from app.models.base import utcnow
from app.models.oauth import SigningKey
from tests.conftest import PUBLIC_URL, MakeUser


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user_id: str, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": PUBLIC_URL,
        "sub": user_id,
        "aud": PUBLIC_URL,
        "client_id": "rapport-mobile",
        "scope": "profile",
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
    }
    claims.update(overrides)
    return claims


def _sign(app: FastAPI, claims: dict[str, object], **header: object) -> str:
    key = app.state.tokens.keys.signing_key
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": key.kid, **header}, claims, key)


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})


async def test_a_well_formed_token_is_accepted(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    assert (await _me(client, _sign(app, _claims(str(ann.id))))).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "header"),
    [
        ({"iss": "https://elsewhere.example"}, {}),
        ({"aud": "https://another-api.example"}, {}),
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 1000}, {}),
        ({}, {"typ": "JWT"}),
        ({"client_id": None}, {}),
        ({"sub": "not-a-user-id"}, {}),
    ],
    ids=["wrong-issuer", "wrong-audience", "expired", "wrong-typ", "no-client-id", "bad-subject"],
)
async def test_tokens_not_meant_for_this_api_are_refused(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    overrides: dict[str, object],
    header: dict[str, object],
) -> None:
    ann = await make_user()
    claims = {k: v for k, v in _claims(str(ann.id), **overrides).items() if v is not None}
    response = await _me(client, _sign(app, claims, **header))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert response.headers["content-type"] == "application/problem+json"


async def test_alg_none_and_tampering_are_refused(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    ann = await make_user()
    unsigned = f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(_claims(str(ann.id)))}."
    assert (await _me(client, unsigned)).status_code == 401

    token = _sign(app, _claims(str(ann.id)))
    header, _payload, signature = token.split(".")
    widened = _b64(_claims(str(ann.id), scope="profile admin:users"))
    assert (await _me(client, f"{header}.{widened}.{signature}")).status_code == 401

    foreign_key = generate_key()
    forged = jwt.encode(
        {"alg": "ES256", "typ": "at+jwt", "kid": app.state.tokens.keys.signing_key.kid},
        _claims(str(ann.id)),
        foreign_key,
    )
    assert (await _me(client, forged)).status_code == 401


@pytest.mark.parametrize(
    "value", ["Bearer", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer " + "a" * 5000]
)
async def test_malformed_authorization_headers_are_401(
    client: httpx.AsyncClient, value: str
) -> None:
    response = await client.get("/v1/me", headers={"Authorization": value})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_client_tokens_cannot_act_for_a_person(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token, _ = app.state.tokens.issue(
        subject="partner-app", client_id="partner-app", scope="profile"
    )
    response = await _me(client, token)
    assert response.status_code == 403


@pytest.fixture
async def restore_keys(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    """Rotation tests change the key table the running app shares: put it back afterwards."""
    async with sessionmaker() as session:
        before = {row.kid: row.retired_at for row in await session.scalars(select(SigningKey))}
    yield
    async with sessionmaker() as session, session.begin():
        for row in await session.scalars(select(SigningKey)):
            if row.kid in before:
                row.retired_at = before[row.kid]
            else:
                await session.delete(row)


@pytest.mark.usefixtures("restore_keys")
async def test_keys_persist_across_restarts_and_rotate(
    sessionmaker: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    ttl = timedelta(minutes=15)
    first = KeyRing(access_token_ttl=ttl)
    await first.load(sessionmaker)
    restarted = KeyRing(access_token_ttl=ttl)
    await restarted.load(sessionmaker)
    assert restarted.signing_key.kid == first.signing_key.kid

    issuer = TokenService(first, issuer=PUBLIC_URL, audience=PUBLIC_URL, ttl_seconds=900)
    old_token, _ = issuer.issue(subject="c", client_id="c", scope="")

    rotated = KeyRing(access_token_ttl=ttl)
    await rotated.load(sessionmaker, rotate_after=timedelta(seconds=0))
    assert rotated.signing_key.kid != first.signing_key.kid
    published = {key["kid"] for key in rotated.jwks()["keys"]}
    assert {first.signing_key.kid, rotated.signing_key.kid} <= published
    assert all("d" not in key for key in rotated.jwks()["keys"])
    verifier = TokenService(rotated, issuer=PUBLIC_URL, audience=PUBLIC_URL, ttl_seconds=900)
    assert verifier.verify(old_token).client_id == "c"

    # Once every token it signed has expired, a retired key leaves the published set.
    await db.execute(
        update(SigningKey)
        .where(SigningKey.kid == first.signing_key.kid)
        .values(retired_at=utcnow() - ttl - timedelta(hours=1))
    )
    await db.commit()
    await rotated.load(sessionmaker)
    assert first.signing_key.kid not in {key["kid"] for key in rotated.jwks()["keys"]}
    with pytest.raises(InvalidToken):
        verifier.verify(old_token)


@pytest.mark.usefixtures("restore_keys")
async def test_a_key_created_by_another_process_is_picked_up(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ann = await make_user()
    other_process = KeyRing(access_token_ttl=timedelta(minutes=15))
    await other_process.load(sessionmaker, rotate_after=timedelta(seconds=0))
    other = TokenService(other_process, issuer=PUBLIC_URL, audience=PUBLIC_URL, ttl_seconds=900)
    token, _ = other.issue(subject=str(ann.id), client_id="rapport-mobile", scope="profile")
    app.state.tokens.keys._last_reload = 0.0
    assert (await _me(client, token)).status_code == 200


def test_a_configured_key_is_used_as_is() -> None:
    key = generate_key("RS256")
    ring = KeyRing(access_token_ttl=timedelta(minutes=15))
    ring.use_static_key(import_private_key(json.dumps(key.as_dict(private=True))))
    service = TokenService(ring, issuer=PUBLIC_URL, audience=PUBLIC_URL, ttl_seconds=900)
    token, ttl = service.issue(subject="c", client_id="c", scope="a b")
    assert ttl == 900
    assert service.verify(token).scopes == frozenset({"a", "b"})
    pem = key.as_pem(private=True).decode()
    assert import_private_key(pem).kid == ring.signing_key.kid
    with pytest.raises(ValueError, match="private"):
        import_private_key(json.dumps(key.as_dict(private=False)))


def test_remembered_tokens_still_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    ring = KeyRing(access_token_ttl=timedelta(minutes=15))
    ring.use_static_key(generate_key())
    service = TokenService(ring, issuer=PUBLIC_URL, audience=PUBLIC_URL, ttl_seconds=900)
    token, _ = service.issue(subject="c", client_id="c", scope="profile")
    claims = service.verify(token)
    assert service.verify(token) is claims  # remembered: the signature is checked once
    later = time.time() + 900 + 31
    monkeypatch.setattr("app.core.tokens.time.time", lambda: later)
    with pytest.raises(InvalidToken):
        service.verify(token)
