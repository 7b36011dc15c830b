"""Webhook endpoints: registration, who may see and change them, secrets shown once."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models.webhooks import WebhookEndpoint
from tests.conftest import MakeUser
from tests.webhooks_support import Partner, make_partner

URL = "https://hooks.example.org/rapport"


async def create(client: httpx.AsyncClient, owner: Partner, **body: object) -> dict[str, object]:
    response = await client.post(
        "/v1/webhooks/endpoints", json={"url": URL, **body}, headers=owner.headers()
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_partner_registers_an_endpoint_and_sees_its_secret_once(
    client: httpx.AsyncClient, partner: Partner, db: AsyncSession
) -> None:
    response = await client.post(
        "/v1/webhooks/endpoints",
        json={"url": URL, "event_types": ["checkin.shared"], "description": "prod"},
        headers=partner.headers(),
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 6 + 32
    assert created["event_types"] == ["checkin.shared"] and created["enabled"] is True
    assert response.headers["location"] == f"/v1/webhooks/endpoints/{created['id']}"

    one = await client.get(f"/v1/webhooks/endpoints/{created['id']}", headers=partner.headers())
    assert one.status_code == 200 and "secret" not in one.json()
    listed = await client.get("/v1/webhooks/endpoints", headers=partner.headers())
    assert [e["id"] for e in listed.json()["data"]] == [created["id"]]
    assert "secret" not in listed.text and created["secret"] not in listed.text
    stored = await db.scalar(select(WebhookEndpoint.secret))
    assert stored == created["secret"]  # recoverable: deliveries are signed with it


async def test_update_with_if_match_and_delete(client: httpx.AsyncClient, partner: Partner) -> None:
    created = await create(client, partner)
    path = f"/v1/webhooks/endpoints/{created['id']}"
    current = await client.get(path, headers=partner.headers())
    stale = await client.patch(
        path, json={"enabled": False}, headers={**partner.headers(), "If-Match": '"stale"'}
    )
    assert stale.status_code == 412
    changed = await client.patch(
        path,
        json={"enabled": False, "event_types": []},
        headers={**partner.headers(), "If-Match": current.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["enabled"] is False
    assert (await client.delete(path, headers=partner.headers())).status_code == 204
    assert (await client.get(path, headers=partner.headers())).status_code == 404


async def test_listing_pages(client: httpx.AsyncClient, partner: Partner) -> None:
    ids = [(await create(client, partner))["id"] for _ in range(3)]
    first = await client.get("/v1/webhooks/endpoints?limit=2", headers=partner.headers())
    page = first.json()
    assert page["has_more"] is True and len(page["data"]) == 2
    second = await client.get(
        f"/v1/webhooks/endpoints?limit=2&cursor={page['next_cursor']}", headers=partner.headers()
    )
    assert [e["id"] for e in page["data"] + second.json()["data"]] == ids


async def test_another_client_sees_a_404(
    client: httpx.AsyncClient,
    partner: Partner,
    app: FastAPI,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    created = await create(client, partner)
    other = await make_partner(sessionmaker, app)
    path = f"/v1/webhooks/endpoints/{created['id']}"
    for method, suffix in (
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/rotate-secret"),
        ("POST", "/test"),
        ("GET", "/deliveries"),
    ):
        response = await client.request(
            method,
            path + suffix,
            headers=other.headers(),
            json={} if method == "PATCH" else None,
        )
        assert response.status_code == 404, (method, suffix, response.text)
    listed = await client.get("/v1/webhooks/endpoints", headers=other.headers())
    assert listed.json()["data"] == []


async def test_user_tokens_missing_scope_and_no_token_are_refused(
    client: httpx.AsyncClient, partner: Partner, make_user: MakeUser
) -> None:
    person = await make_user()
    as_user = await client.get("/v1/webhooks/endpoints", headers=person.headers("webhooks:manage"))
    assert as_user.status_code == 403
    no_scope = await client.get("/v1/webhooks/endpoints", headers=partner.headers("profile"))
    assert no_scope.status_code == 403
    anonymous = await client.get("/v1/webhooks/endpoints")
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("url", "pointer"),
    [
        ("http://hooks.example.org/x", "#/url"),
        ("https://user:pw@hooks.example.org/x", "#/url"),
        ("https://10.0.0.1/x", "#/url"),
        ("https://169.254.169.254/latest", "#/url"),
        ("https://[::1]/x", "#/url"),
        ("https://[::ffff:127.0.0.1]/x", "#/url"),
        ("ftp://hooks.example.org/x", "#/url"),
    ],
)
async def test_unsafe_urls_are_refused_at_registration(
    client: httpx.AsyncClient, partner: Partner, url: str, pointer: str
) -> None:
    response = await client.post(
        "/v1/webhooks/endpoints", json={"url": url}, headers=partner.headers()
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == pointer


async def test_unknown_event_types_are_refused(client: httpx.AsyncClient, partner: Partner) -> None:
    response = await client.post(
        "/v1/webhooks/endpoints",
        json={"url": URL, "event_types": ["checkin.shared", "journal.written"]},
        headers=partner.headers(),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "#/event_types/1"


async def test_rotating_shows_a_new_secret_once(
    client: httpx.AsyncClient, partner: Partner
) -> None:
    created = await create(client, partner)
    rotated = await client.post(
        f"/v1/webhooks/endpoints/{created['id']}/rotate-secret", headers=partner.headers()
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != created["secret"]
