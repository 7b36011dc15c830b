"""The curator console: who gets in, CSRF, headers, and the editorial moves as form posts."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models.audit import AuditEntry
from app.models.oauth import OAuthClient
from app.models.prompts import PromptLibrary
from app.models.users import Role
from app.services.clients import register_client
from tests.conftest import MakeUser
from tests.console_support import post, sign_in


async def test_anonymous_visitors_go_to_sign_in_and_come_back(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    page = await client.get("/console/audit?entity_type=library")
    assert page.status_code == 303
    assert (
        page.headers["location"] == "/oauth/sign-in?next=%2Fconsole%2Faudit%3Fentity_type%3Dlibrary"
    )
    curator = await make_user(role=Role.curator)
    signed_in = await sign_in(client, curator, "/console/audit?entity_type=library")
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/console/audit?entity_type=library"


async def test_sign_in_never_returns_elsewhere(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    curator = await make_user(role=Role.curator)
    for away in (
        "https://evil.example/console",
        "//evil.example/console",
        "/consolex",
        "/console/../v1",
    ):
        answer = await sign_in(client, curator, away)
        assert answer.status_code == 200, away  # signed in, nowhere to go


async def test_members_get_a_403_page(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    member = await make_user()
    await sign_in(client, member)
    for path in ("/console", "/console/audit", "/console/import", "/console/clients"):
        page = await client.get(path)
        assert page.status_code == 403, path
        assert "Curators only" in page.text
    refused = await client.post("/console/libraries", data={"slug": "x"})
    assert refused.status_code == 403


async def test_pages_carry_a_strict_policy(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    await sign_in(client, await make_user(role=Role.curator))
    page = await client.get("/console")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "unsafe-inline" not in policy and "form-action 'self'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script" not in page.text
    css = await client.get("/console/static/console.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


async def test_a_post_without_its_csrf_token_changes_nothing(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    await sign_in(client, await make_user(role=Role.curator))
    fields = {"slug": "no-token", "title": "No token", "locale": "en"}
    refused = await client.post("/console/libraries", data=fields)
    assert refused.status_code == 400
    forged = await client.post("/console/libraries", data={**fields, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert await db.scalar(select(PromptLibrary).where(PromptLibrary.slug == "no-token")) is None


async def test_a_curator_drafts_submits_returns_and_publishes(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    curator = await make_user(role=Role.curator)
    reviewer = await make_user(role=Role.curator)
    await sign_in(client, curator)
    created = await post(
        client,
        "/console",
        "/console/libraries",
        slug="evenings",
        title="Evenings",
        description="Small talks.",
        locale="en",
    )
    assert created.status_code == 303
    page = created.headers["location"]
    empty = await post(client, page, f"{page}/moves/submit")
    assert empty.status_code == 409 and "at least one prompt" in empty.text
    invalid = await post(client, page, f"{page}/prompts", text="", category="play", depth="9")
    assert invalid.status_code == 422 and "#/text" in invalid.text and "#/depth" in invalid.text
    added = await post(
        client,
        page,
        f"{page}/prompts",
        text="What made you smile today?",
        category="play",
        depth="1",
    )
    assert added.status_code == 303, added.text
    shown = await client.get(page)
    assert "What made you smile today?" in shown.text and "At most 500 characters." in shown.text
    assert (await post(client, page, f"{page}/moves/submit")).status_code == 303
    queue = await client.get("/console")
    assert "Evenings" in queue.text.split("Review queue")[1].split("</section>")[0]
    mine = await client.get(page)
    assert "another curator or an admin publishes it" in mine.text
    assert "/moves/publish" not in mine.text and "/moves/return" not in mine.text
    own = await post(client, page, f"{page}/moves/publish")
    assert own.status_code == 403 and "cannot review their own submission" in own.text
    client.cookies.clear()
    await sign_in(client, reviewer)
    returned = await post(client, page, f"{page}/moves/return", comment="Warmer, please.")
    assert returned.status_code == 303
    log = await client.get(
        "/console/audit", params={"entity_type": "library", "action": "returned"}
    )
    assert "Warmer, please." in log.text
    client.cookies.clear()
    await sign_in(client, curator)
    await post(client, page, f"{page}/moves/submit")
    client.cookies.clear()
    await sign_in(client, reviewer)
    published = await post(client, page, f"{page}/moves/publish")
    assert published.status_code == 303
    diff = await client.get(f"{page}/diff")
    assert diff.status_code == 200 and "What made you smile today?" in diff.text
    illegal = await post(client, page, f"{page}/moves/restore")
    assert illegal.status_code == 409
    library = await db.scalar(select(PromptLibrary).where(PromptLibrary.slug == "evenings"))
    assert library is not None and library.published_version == 1
    actions = list(
        await db.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity_id == library.id)
            .order_by(AuditEntry.seq)
        )
    )
    assert actions == [
        "library.created",
        "library.submitted",
        "library.returned",
        "library.submitted",
        "library.published",
    ]
    entry = await db.scalar(select(AuditEntry).where(AuditEntry.action == "library.published"))
    assert entry is not None and entry.actor_user_id == reviewer.id
    assert entry.actor_client_id == "rapport-console"


async def test_import_previews_then_confirms_and_export_gives_the_file(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    await sign_in(client, await make_user(role=Role.curator))
    document = (
        '{"slug": "imported", "title": "Imported", "locale": "en", "prompts": '
        '[{"key": "one", "text": "A first question?", "category": "play", "depth": 1}]}'
    )
    page = await client.get("/console/import")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    preview = await client.post(
        "/console/import",
        data={"csrf_token": token},
        files={"file": ("imported.json", document.encode(), "application/json")},
    )
    assert preview.status_code == 200 and "A first question?" in preview.text
    assert await db.scalar(select(PromptLibrary).where(PromptLibrary.slug == "imported")) is None
    confirmed = await client.post(
        "/console/import", data={"csrf_token": token, "document": document, "confirm": "1"}
    )
    assert confirmed.status_code == 303
    exported = await client.get(confirmed.headers["location"] + "/export")
    assert (
        exported.status_code == 200 and exported.json()["prompts"][0]["text"] == "A first question?"
    )
    bad = await client.post(
        "/console/import",
        data={"csrf_token": token},
        files={"file": ("bad.json", b'{"slug": "Bad"}', "application/json")},
    )
    assert bad.status_code == 422 and "#/title" in bad.text


async def test_only_admins_see_and_disable_oauth_clients(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        registered = await register_client(
            session,
            name="Closer",
            redirect_uris=["https://closer.example/cb"],
            scopes=["profile"],
            confidential=False,
        )
    client_id = registered.client.client_id
    await sign_in(client, await make_user(role=Role.curator))
    assert (await client.get("/console/clients")).status_code == 403
    assert "OAuth clients" not in (await client.get("/console")).text
    refused = await post(client, "/console", f"/console/clients/{client_id}/disable")
    assert refused.status_code == 403
    client.cookies.clear()
    await sign_in(client, await make_user(role=Role.admin))
    page = await client.get("/console/clients")
    assert page.status_code == 200 and "Closer" in page.text
    disabled = await post(client, "/console/clients", f"/console/clients/{client_id}/disable")
    assert disabled.status_code == 303
    stored = await db.scalar(
        select(OAuthClient)
        .where(OAuthClient.client_id == client_id)
        .execution_options(populate_existing=True)
    )
    assert stored is not None and stored.disabled_at is not None
    assert (
        await post(client, "/console/clients", "/console/clients/nobody/disable")
    ).status_code == 404


async def test_a_prompt_is_edited_removed_and_the_library_archived_and_restored(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    await sign_in(client, await make_user(role=Role.curator))
    created = await post(
        client, "/console", "/console/libraries", slug="mornings", title="Mornings", locale="en"
    )
    page = created.headers["location"]
    await post(client, page, f"{page}/prompts", text="First light?", category="share", depth="2")
    other = await post(
        client, "/console", "/console/libraries", slug="other", title="Other", locale="en"
    )
    shown = await client.get(page)
    prompt_link = shown.text.split(f'href="{page}/prompts/')[1].split('"')[0]
    editor = await client.get(f"{page}/prompts/{prompt_link}")
    assert editor.status_code == 200 and "First light?" in editor.text
    assert "At most 500 characters." in editor.text and 'value="share" selected' in editor.text
    foreign = await client.get(f"{other.headers['location']}/prompts/{prompt_link}")
    assert foreign.status_code == 404
    too_long = await post(
        client, page, f"{page}/prompts/{prompt_link}", text="x" * 501, category="share", depth="2"
    )
    assert too_long.status_code == 422 and "#/text" in too_long.text
    saved = await post(
        client,
        page,
        f"{page}/prompts/{prompt_link}",
        text="Early light?",
        category="share",
        depth="2",
    )
    assert saved.status_code == 303
    assert "Early light?" in (await client.get(page)).text
    removed = await post(client, page, f"{page}/prompts/{prompt_link}/remove")
    assert removed.status_code == 303
    assert (await post(client, page, f"{page}/moves/submit")).status_code == 409
    assert (await post(client, page, f"{page}/moves/archive")).status_code == 303
    locked = await post(client, page, f"{page}/prompts", text="Late?", category="share", depth="1")
    assert locked.status_code == 409 and "Restore it first." in locked.text
    assert (await post(client, page, f"{page}/moves/restore")).status_code == 303
    library = await db.scalar(select(PromptLibrary).where(PromptLibrary.slug == "mornings"))
    assert library is not None and library.status.value == "draft"
