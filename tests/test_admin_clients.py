"""Administrators manage OAuth clients; nobody else may, nor learn what is registered."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.secrets import token_hash
from app.models import Role
from app.models.oauth import OAuthClient
from tests.conftest import MakeUser, Person

BASE = "/v1/admin/clients"
ADMIN = "admin:users"
NEW_CLIENT = {
    "name": "Therapy Connect",
    "redirect_uris": ["https://therapy.example/callback"],
    "scopes": ["profile", "couple:read"],
    "confidential": True,
}


@pytest.fixture
async def admin(make_user: MakeUser) -> Person:
    return await make_user(role=Role.admin)


async def create(client: httpx.AsyncClient, admin: Person, **changes: object) -> httpx.Response:
    return await client.post(BASE, json={**NEW_CLIENT, **changes}, headers=admin.headers(ADMIN))


async def test_create_shows_the_secret_once_and_stores_its_hash(
    client: httpx.AsyncClient, admin: Person, db: AsyncSession
) -> None:
    response = await create(client, admin)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    secret = body["client_secret"]
    assert secret and body["confidential"] is True and body["disabled"] is False
    assert body["scopes"] == ["profile", "couple:read"]
    assert response.headers["location"] == f"{BASE}/{body['client_id']}"
    stored = await db.scalar(select(OAuthClient).where(OAuthClient.client_id == body["client_id"]))
    assert stored is not None and stored.client_secret_hash == token_hash(secret)

    got = await client.get(f"{BASE}/{body['client_id']}", headers=admin.headers(ADMIN))
    assert got.status_code == 200 and "client_secret" not in got.json()
    assert "etag" in got.headers

    public = await create(client, admin, confidential=False, redirect_uris=["app.th:/cb"])
    assert public.status_code == 201 and public.json()["client_secret"] is None


async def test_create_reuses_the_registration_rules(
    client: httpx.AsyncClient, admin: Person
) -> None:
    response = await create(
        client, admin, redirect_uris=["http://example.org/cb", "https://ok.example/cb#frag"]
    )
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {"#/redirect_uris/0", "#/redirect_uris/1"}
    public = await create(client, admin, confidential=False, redirect_uris=[])
    assert public.status_code == 422
    unknown = await create(client, admin, scopes=["everything"])
    assert unknown.status_code == 422


async def test_list_pages_through_clients(client: httpx.AsyncClient, admin: Person) -> None:
    ids = [(await create(client, admin, name=f"App {n}")).json()["client_id"] for n in range(3)]
    first = await client.get(BASE, params={"limit": 2}, headers=admin.headers(ADMIN))
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["has_more"] is True and len(page["data"]) == 2
    second = await client.get(
        BASE, params={"limit": 2, "cursor": page["next_cursor"]}, headers=admin.headers(ADMIN)
    )
    rest = second.json()
    assert rest["has_more"] is False
    assert [c["client_id"] for c in page["data"] + rest["data"]] == ids


async def test_patch_needs_if_match_and_changes_the_client(
    client: httpx.AsyncClient, admin: Person
) -> None:
    client_id = (await create(client, admin)).json()["client_id"]
    url = f"{BASE}/{client_id}"
    etag = (await client.get(url, headers=admin.headers(ADMIN))).headers["etag"]
    change = {"name": "Therapy Connect 2", "scopes": ["profile"]}
    missing = await client.patch(url, json=change, headers=admin.headers(ADMIN))
    assert missing.status_code == 428
    stale = await client.patch(
        url, json=change, headers={**admin.headers(ADMIN), "If-Match": '"stale"'}
    )
    assert stale.status_code == 412
    changed = await client.patch(
        url, json=change, headers={**admin.headers(ADMIN), "If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Therapy Connect 2" and changed.json()["scopes"] == ["profile"]
    bad = await client.patch(
        url,
        json={"redirect_uris": ["http://example.org/cb"]},
        headers={**admin.headers(ADMIN), "If-Match": "*"},
    )
    assert bad.status_code == 422
    disabled = await client.patch(
        url, json={"disabled": True}, headers={**admin.headers(ADMIN), "If-Match": "*"}
    )
    assert disabled.json()["disabled"] is True and disabled.json()["disabled_at"]
    enabled = await client.patch(
        url, json={"disabled": False}, headers={**admin.headers(ADMIN), "If-Match": "*"}
    )
    assert enabled.json()["disabled"] is False


async def test_rotate_secret_replaces_the_old_one(
    client: httpx.AsyncClient, admin: Person, db: AsyncSession
) -> None:
    created = (await create(client, admin)).json()
    rotated = await client.post(
        f"{BASE}/{created['client_id']}/rotate-secret", headers=admin.headers(ADMIN)
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    secret = rotated.json()["client_secret"]
    assert secret and secret != created["client_secret"]
    assert rotated.json()["secret_rotated_at"]
    stored = await db.scalar(
        select(OAuthClient.client_secret_hash).where(OAuthClient.client_id == created["client_id"])
    )
    assert stored == token_hash(secret)

    public = (await create(client, admin, confidential=False, redirect_uris=["app.x:/cb"])).json()
    refused = await client.post(
        f"{BASE}/{public['client_id']}/rotate-secret", headers=admin.headers(ADMIN)
    )
    assert refused.status_code == 409
    unknown = await client.post(f"{BASE}/nope/rotate-secret", headers=admin.headers(ADMIN))
    assert unknown.status_code == 404


async def test_delete_disables_the_client(client: httpx.AsyncClient, admin: Person) -> None:
    client_id = (await create(client, admin)).json()["client_id"]
    response = await client.delete(f"{BASE}/{client_id}", headers=admin.headers(ADMIN))
    assert response.status_code == 204
    got = await client.get(f"{BASE}/{client_id}", headers=admin.headers(ADMIN))
    assert got.json()["disabled"] is True
    assert (await client.delete(f"{BASE}/nope", headers=admin.headers(ADMIN))).status_code == 404


async def test_only_admins_with_the_scope_may_manage_clients(
    client: httpx.AsyncClient, admin: Person, make_user: MakeUser, app: FastAPI
) -> None:
    client_id = (await create(client, admin)).json()["client_id"]
    member = await make_user()
    curator = await make_user(role=Role.curator)
    app_token, _ = app.state.tokens.issue(subject="svc", client_id="svc", scope=ADMIN)
    callers = {
        "member": (member.headers(ADMIN), 403),
        "curator": (curator.headers(ADMIN, "admin:content"), 403),
        "admin without scope": (admin.headers("profile", "admin:content"), 403),
        "client token": ({"Authorization": f"Bearer {app_token}"}, 403),
        "no token": ({}, 401),
    }
    calls = [
        ("GET", BASE, None),
        ("POST", BASE, NEW_CLIENT),
        ("GET", f"{BASE}/{client_id}", None),
        ("PATCH", f"{BASE}/{client_id}", {"name": "x"}),
        ("POST", f"{BASE}/{client_id}/rotate-secret", None),
        ("DELETE", f"{BASE}/{client_id}", None),
    ]
    for who, (headers, status) in callers.items():
        for method, url, body in calls:
            response = await client.request(
                method, url, json=body, headers={**headers, "If-Match": "*"}
            )
            assert response.status_code == status, (who, method, url, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert "client_secret" not in response.text
