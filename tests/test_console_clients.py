"""The console's OAuth clients page: admins register a client and see its secret once, and
revoke it; curators and members get 403, and nothing is registered without a valid form."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.secrets import token_hash
from app.models.oauth import OAuthClient
from app.models.users import Role
from tests.conftest import MakeUser
from tests.console_support import csrf, location, post, sign_in

PAGE = "/console/clients"


async def named(db: AsyncSession, name: str) -> list[OAuthClient]:
    await db.rollback()
    return list(await db.scalars(select(OAuthClient).where(OAuthClient.name == name)))


async def test_an_admin_registers_a_client_sees_its_secret_once_and_revokes_it(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    await sign_in(client, await make_user(role=Role.admin))
    page = await client.get(PAGE)
    assert page.status_code == 200 and "Register a client" in page.text
    assert "At most 120 characters." in page.text  # the name's rule, from ClientCreate
    registered = await post(
        client,
        PAGE,
        PAGE,
        name="Nightly sync",
        redirect_uris="https://sync.example/cb\nhttp://127.0.0.1:8123/cb",
        scopes=["profile", "couple:read"],
        confidential="on",
    )
    assert registered.status_code == 200, registered.text
    assert registered.headers["cache-control"] == "no-store"
    secret = registered.text.split('<pre class="secret">')[1].split("</pre>")[0]
    (stored,) = await named(db, "Nightly sync")
    assert stored.client_secret_hash == token_hash(secret) and stored.is_confidential
    assert stored.redirect_uris == ["https://sync.example/cb", "http://127.0.0.1:8123/cb"]
    assert stored.allowed_scopes == ["profile", "couple:read"]
    listing = await client.get(PAGE)
    assert stored.client_id in listing.text and secret not in listing.text
    revoked = await post(client, PAGE, f"{PAGE}/{stored.client_id}/disable")
    assert location(revoked) == PAGE
    (stored,) = await named(db, "Nightly sync")
    assert stored.disabled_at is not None
    assert "revoked" in (await client.get(PAGE)).text

    public = await post(client, PAGE, PAGE, name="Phone app", redirect_uris="app.example.phone:/cb")
    assert public.status_code == 200 and "has no secret" in public.text
    assert '<pre class="secret">' not in public.text


async def test_bad_client_forms_are_refused_and_register_nothing(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    await sign_in(client, await make_user(role=Role.admin))
    before = await db.scalar(select(func.count()).select_from(OAuthClient))
    cases = {
        "#/name": {"name": "", "redirect_uris": "https://ok.example/cb"},
        "#/redirect_uris/0": {"name": "Bad", "redirect_uris": "https://ok.example/cb#frag"},
        "#/scopes/0": {"name": "Bad", "redirect_uris": "https://ok.example/cb", "scopes": "root"},
    }
    for pointer, fields in cases.items():
        answer = await post(client, PAGE, PAGE, **fields)
        assert answer.status_code == 422 and pointer in answer.text, (pointer, answer.text)
    loose = await post(client, PAGE, PAGE, name="Loose", redirect_uris="http://evil.example/cb")
    assert loose.status_code == 422, loose.text
    no_uri = await post(client, PAGE, PAGE, name="No way back")
    assert no_uri.status_code == 422, no_uri.text
    forged = await client.post(PAGE, data={"name": "Forged", "csrf_token": "forged"})
    assert forged.status_code == 400
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(OAuthClient)) == before


async def test_curators_and_members_cannot_register_clients(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    for role in (Role.curator, Role.member):
        client.cookies.clear()
        await sign_in(client, await make_user(role=role))
        assert (await client.get(PAGE)).status_code == 403
        token = csrf((await client.get("/oauth/sign-in")).text)
        refused = await client.post(
            PAGE,
            data={"csrf_token": token, "name": f"By a {role.value}", "confidential": "on"},
        )
        assert refused.status_code == 403, role
        assert await named(db, f"By a {role.value}") == []
