"""Connected apps: what a person granted, and disconnecting an app for good."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Event
from app.models.oauth import Consent, RefreshToken
from app.services.clients import RegisteredClient, register_client
from tests.conftest import MakeUser, Person
from tests.factories import pair
from tests.oauth.flow import PRIVATE_REDIRECT, exchange, obtain_code, refresh


@pytest.fixture
async def partner_app(sessionmaker: async_sessionmaker[AsyncSession]) -> RegisteredClient:
    async with sessionmaker() as session, session.begin():
        return await register_client(
            session,
            name="Closer Together",
            redirect_uris=[PRIVATE_REDIRECT],
            scopes=["profile", "checkins:read", "couple:read"],
            confidential=False,
        )


async def connect(client: httpx.AsyncClient, person: Person, app_id: str) -> str:
    """Walk the authorization code flow; return the refresh token the app holds."""
    grant = await obtain_code(
        client, app_id, person.user.email, person.password, scope="profile checkins:read"
    )
    tokens = await exchange(client, grant, app_id)
    assert tokens.status_code == 200, tokens.text
    return tokens.json()["refresh_token"]  # type: ignore[no-any-return]


async def test_list_shows_the_apps_granted_with_scopes_and_dates(
    client: httpx.AsyncClient, make_user: MakeUser, partner_app: RegisteredClient
) -> None:
    ann = await make_user()
    app_id = partner_app.client.client_id
    await connect(client, ann, app_id)
    response = await client.get("/v1/me/connected-apps", headers=ann.headers("profile"))
    assert response.status_code == 200, response.text
    (item,) = response.json()["data"]
    assert item["client_id"] == app_id and item["name"] == "Closer Together"
    assert item["scopes"] == ["profile", "checkins:read"]
    assert item["first_party"] is False
    assert item["granted_at"] and item["updated_at"]

    other = await make_user()
    listed = await client.get("/v1/me/connected-apps", headers=other.headers("profile"))
    assert listed.json()["data"] == []
    no_scope = await client.get("/v1/me/connected-apps", headers=ann.headers("couple:read"))
    assert no_scope.status_code == 403
    assert (await client.get("/v1/me/connected-apps")).status_code == 401


async def test_disconnecting_revokes_consent_and_refresh_and_records_an_event(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    partner_app: RegisteredClient,
    db: AsyncSession,
) -> None:
    ann, bo = await make_user(), await make_user()
    await pair(client, ann, bo)
    app_id = partner_app.client.client_id
    refresh_token = await connect(client, ann, app_id)

    gone = await client.delete(f"/v1/me/connected-apps/{app_id}", headers=bo.headers("profile"))
    assert gone.status_code == 404  # Bo never connected it
    response = await client.delete(
        f"/v1/me/connected-apps/{app_id}", headers=ann.headers("profile")
    )
    assert response.status_code == 204, response.text

    refused = await refresh(client, refresh_token, app_id)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    listed = await client.get("/v1/me/connected-apps", headers=ann.headers("profile"))
    assert listed.json()["data"] == []
    again = await client.delete(f"/v1/me/connected-apps/{app_id}", headers=ann.headers("profile"))
    assert again.status_code == 404

    consent = await db.scalar(select(Consent).where(Consent.user_id == ann.id))
    assert consent is not None and consent.revoked_at is not None
    live = await db.scalars(
        select(RefreshToken).where(
            RefreshToken.user_id == ann.id, RefreshToken.revoked_at.is_(None)
        )
    )
    assert list(live) == []
    event = await db.scalar(select(Event).where(Event.type == "consent.revoked"))
    assert event is not None
    assert event.user_id == ann.id and event.couple_id is not None
    assert event.data == {"client_id": app_id}


async def test_a_first_party_app_with_a_refresh_token_is_listed_and_can_be_signed_out(
    client: httpx.AsyncClient, make_user: MakeUser, first_party_client: object
) -> None:
    ann = await make_user()
    refresh_token = await connect(client, ann, "rapport-mobile")
    listed = await client.get("/v1/me/connected-apps", headers=ann.headers("profile"))
    (item,) = listed.json()["data"]
    assert item["client_id"] == "rapport-mobile" and item["first_party"] is True
    response = await client.delete(
        "/v1/me/connected-apps/rapport-mobile", headers=ann.headers("profile")
    )
    assert response.status_code == 204
    refused = await refresh(client, refresh_token, "rapport-mobile")
    assert refused.json()["error"] == "invalid_grant"
