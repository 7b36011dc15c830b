"""Revocation takes effect at once: each cause makes the access tokens it names answer 401 on
the next request, cached tokens included, while tokens it does not name keep working."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import MAX_ACCESS_TOKEN_TTL_SECONDS, Settings
from app.core.revocation_log import Reason, revoke, sweep_expired
from app.core.tokens import InvalidToken
from app.models import Role
from app.models.base import utcnow
from app.models.oauth import RefreshToken
from app.models.revocations import Revocation
from app.services.clients import RegisteredClient, register_client
from tests.conftest import MakeUser
from tests.oauth.flow import PRIVATE_REDIRECT, refresh
from tests.sessions_support import assert_refused, bearer, sign_in


@pytest.fixture
async def partner_app(sessionmaker: async_sessionmaker[AsyncSession]) -> RegisteredClient:
    async with sessionmaker() as session, session.begin():
        return await register_client(
            session,
            name="Closer Together",
            redirect_uris=[PRIVATE_REDIRECT],
            scopes=["profile", "checkins:read"],
            confidential=False,
        )


async def status_of(client: httpx.AsyncClient, access_token: str) -> int:
    return (await client.get("/v1/me", headers=bearer(access_token))).status_code


async def test_disconnecting_an_app_stops_its_access_tokens_for_that_person_only(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    partner_app: RegisteredClient,
    first_party_client: object,
) -> None:
    ann, bo = await make_user(), await make_user()
    app_id = partner_app.client.client_id
    anns = await sign_in(app, ann, app_id)
    bos = await sign_in(app, bo, app_id)
    anns_mobile = ann.token("profile")
    for token in (anns["access_token"], bos["access_token"], anns_mobile):
        assert await status_of(client, token) == 200  # verified and now cached

    gone = await client.delete(f"/v1/me/connected-apps/{app_id}", headers=bo.headers("profile"))
    assert gone.status_code == 204  # Bo disconnects it for himself
    assert await status_of(client, anns["access_token"]) == 200
    await assert_refused(client, bos["access_token"])

    response = await client.delete(f"/v1/me/connected-apps/{app_id}", headers=bearer(anns_mobile))
    assert response.status_code == 204, response.text
    await assert_refused(client, anns["access_token"])
    assert await status_of(client, anns_mobile) == 200  # Rapport's own app is untouched
    # Connecting again later gives tokens that work.
    again = await sign_in(app, ann, app_id)
    assert await status_of(client, again["access_token"]) == 200


async def test_revoking_an_access_token_stops_it_and_nothing_else(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    tokens = await sign_in(app, ann, "rapport-mobile")
    other = ann.token("profile")
    assert await status_of(client, tokens["access_token"]) == 200
    response = await client.post(
        "/oauth/revoke",
        data={"token": tokens["access_token"], "client_id": "rapport-mobile"},
    )
    assert response.status_code == 200
    await assert_refused(client, tokens["access_token"])
    assert await status_of(client, other) == 200
    # The refresh token still works, and what it issues is accepted.
    refreshed = await refresh(client, tokens["refresh_token"], "rapport-mobile")
    assert refreshed.status_code == 200, refreshed.text
    assert await status_of(client, refreshed.json()["access_token"]) == 200


async def test_revoking_a_refresh_token_stops_every_access_token_of_its_family(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    first = await sign_in(app, ann, "rapport-mobile")
    rotated = (await refresh(client, first["refresh_token"], "rapport-mobile")).json()
    elsewhere = await sign_in(app, ann, "rapport-mobile")  # another device: another family
    for token in (first["access_token"], rotated["access_token"], elsewhere["access_token"]):
        assert await status_of(client, token) == 200

    response = await client.post(
        "/oauth/revoke", data={"token": rotated["refresh_token"], "client_id": "rapport-mobile"}
    )
    assert response.status_code == 200
    await assert_refused(client, first["access_token"])
    await assert_refused(client, rotated["access_token"])
    assert await status_of(client, elsewhere["access_token"]) == 200


async def test_replaying_a_rotated_refresh_token_stops_the_familys_access_tokens(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    first = await sign_in(app, ann, "rapport-mobile")
    rotated = (await refresh(client, first["refresh_token"], "rapport-mobile")).json()
    replayed = await refresh(client, first["refresh_token"], "rapport-mobile")
    assert replayed.json()["error"] == "invalid_grant"
    await assert_refused(client, rotated["access_token"])


async def test_changing_the_password_stops_every_token_of_the_person(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    partner_app: RegisteredClient,
    first_party_client: object,
) -> None:
    ann, bo = await make_user(), await make_user()
    partner = await sign_in(app, ann, partner_app.client.client_id)
    mobile = ann.token("profile")
    bos = bo.token("profile")
    changed = await client.post(
        "/v1/me/password",
        json={"current_password": ann.password, "new_password": "a brand new passphrase"},
        headers=bearer(mobile),
    )
    assert changed.status_code == 204, changed.text
    await assert_refused(client, mobile)  # the token that made the change too
    await assert_refused(client, partner["access_token"])
    assert await status_of(client, bos) == 200
    assert await status_of(client, ann.token("profile")) == 200  # signed in again


async def test_a_revoked_access_token_introspects_as_inactive(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    from tests.oauth.conftest import _register

    gateway = await _register(
        app.state.sessionmaker,
        name="Rapport gateway",
        redirect_uris=[],
        scopes=[],
        confidential=True,
        first_party=True,
        client_id="rapport-gateway",
    )
    auth = (gateway.client.client_id, gateway.secret or "")
    ann = await make_user()
    tokens = await sign_in(app, ann, "rapport-mobile")
    active = await client.post(
        "/oauth/introspect", data={"token": tokens["access_token"]}, auth=auth
    )
    assert active.json()["active"] is True
    await client.post(
        "/oauth/revoke", data={"token": tokens["refresh_token"], "client_id": "rapport-mobile"}
    )
    inactive = await client.post(
        "/oauth/introspect", data={"token": tokens["access_token"]}, auth=auth
    )
    assert inactive.json() == {"active": False}


async def test_a_revocation_rolled_back_stops_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ann = await make_user()
    token = ann.token("profile")
    async with sessionmaker() as session:
        await session.begin()
        await revoke(session, reason=Reason.safety_exit, user_id=ann.id)
        await session.rollback()
    assert await status_of(client, token) == 200
    async with sessionmaker() as session, session.begin():
        await revoke(session, reason=Reason.safety_exit, user_id=ann.id)
    await assert_refused(client, token)


async def test_revocations_are_rows_with_a_reason_and_a_lifetime(
    app: FastAPI,
    make_user: MakeUser,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ann = await make_user()
    async with sessionmaker() as session, session.begin():
        row = await revoke(session, reason=Reason.account_erased, user_id=ann.id)
    assert row.reason == "account_erased" and row.client_id is None
    # It outlives every token issued before it, whatever lifetime an app's settings give them.
    longest = Settings.model_fields["access_token_ttl_seconds"].metadata
    assert app.state.settings.access_token_ttl_seconds <= MAX_ACCESS_TOKEN_TTL_SECONDS
    assert any(getattr(bound, "le", None) == MAX_ACCESS_TOKEN_TTL_SECONDS for bound in longest)
    assert row.expires_at - row.revoked_at >= timedelta(seconds=MAX_ACCESS_TOKEN_TTL_SECONDS)
    with pytest.raises(ValueError, match="names a token"):
        async with sessionmaker() as session, session.begin():
            await revoke(session, reason=Reason.safety_exit)


async def test_the_sweep_deletes_expired_rows_but_keeps_the_newest(
    make_user: MakeUser, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ann = await make_user()
    past = utcnow() - timedelta(hours=1)
    async with sessionmaker() as session, session.begin():
        for _ in range(3):
            await revoke(session, reason=Reason.safety_exit, user_id=ann.id, expires_at=past)
    async with sessionmaker() as session, session.begin():
        assert await sweep_expired(session) == 2
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Revocation)) == 1


async def test_disabling_a_client_stops_every_access_token_it_holds(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    partner_app: RegisteredClient,
) -> None:
    admin, ann = await make_user(role=Role.admin), await make_user()
    app_id = partner_app.client.client_id
    for_ann = await sign_in(app, ann, app_id)
    own, _ = app.state.tokens.issue(subject=app_id, client_id=app_id, scope="")
    other_app = ann.token("profile")
    disabled = await client.delete(
        f"/v1/admin/clients/{app_id}", headers=admin.headers("admin:users")
    )
    assert disabled.status_code == 204, disabled.text
    await assert_refused(client, for_ann["access_token"])
    assert await status_of(client, other_app) == 200
    with pytest.raises(InvalidToken):  # the client's own token (client credentials) too
        app.state.tokens.verify(own)


async def test_access_tokens_name_their_refresh_token_family_as_sid(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    first_party_client: object,
    db: AsyncSession,
) -> None:
    ann = await make_user()
    tokens = await sign_in(app, ann, "rapport-mobile")
    rotated = (await refresh(client, tokens["refresh_token"], "rapport-mobile")).json()
    (family_id,) = set(
        await db.scalars(select(RefreshToken.family_id).where(RefreshToken.user_id == ann.id))
    )
    for token in (tokens["access_token"], rotated["access_token"]):
        assert app.state.tokens.verify(token).session_id == str(family_id)
