"""The console's repair-plan templates and library details: create, edit with the API's
rules beside each field, the life cycle, the diff, and every refusal (nothing changes)."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.audit import AuditEntry
from app.models.prompts import PromptLibrary
from app.models.repair import RepairTemplate
from app.models.users import Role
from tests.conftest import MakeUser
from tests.console_support import location, post, sign_in

STEPS = "involved | Say what happened | Plainly, without excuses\nboth | Agree on a pause word"


def edit_fields(**changes: str | list[str]) -> dict[str, str | list[str]]:
    """The template editor's fields as the page sends them, default phases kept."""
    fields: dict[str, str | list[str]] = {
        "title": "After a slip",
        "description": "For a broken promise.",
        "roles": ["hurt", "involved"],
    }
    for n, key in enumerate(("atone", "attune", "attach")):
        fields |= {f"phase-{n}-key": key, f"phase-{n}-title": key.title()}
    return fields | changes


async def stored(db: AsyncSession, slug: str) -> RepairTemplate:
    await db.rollback()  # read what the app committed since, not this session's snapshot
    template = await db.scalar(
        select(RepairTemplate)
        .where(RepairTemplate.slug == slug)
        .execution_options(populate_existing=True)
    )
    assert template is not None
    return template


async def new_template(client: httpx.AsyncClient, slug: str = "after-a-slip") -> str:
    created = await post(
        client,
        "/console",
        "/console/templates",
        slug=slug,
        title="After a slip",
        description="",
        locale="en",
        roles=["hurt", "involved"],
    )
    return location(created)


async def test_a_template_goes_from_draft_to_published_and_back(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    curator, admin = await make_user(role=Role.curator), await make_user(role=Role.admin)
    await sign_in(client, curator)
    page = await new_template(client)
    shown = await client.get(page)
    assert shown.status_code == 200 and "Atone" in shown.text
    assert "At most 200 characters." in shown.text  # a step title's rule, beside the steps
    assert "`hurt` and `involved`" in shown.text  # the roles' rule
    empty = await post(client, page, f"{page}/moves/submit")
    assert empty.status_code == 409 and "at least one step" in empty.text
    saved = await post(client, page, page, **edit_fields(**{"phase-0-steps": STEPS}))
    assert location(saved) == page
    editor = await client.get(page)
    assert "involved | Say what happened | Plainly, without excuses" in editor.text
    assert location(await post(client, page, f"{page}/moves/submit")) == page
    locked = await post(client, page, page, **edit_fields(title="Changed under review"))
    assert locked.status_code == 409 and "Return it to draft first." in locked.text
    assert "After a slip" in (await client.get("/console")).text.split("Review queue")[1]
    own = await post(client, page, f"{page}/moves/return", comment="Softer steps.")
    assert own.status_code == 403  # four eyes: the author reviews nothing of theirs
    client.cookies.clear()
    await sign_in(client, admin)
    returned = await post(client, page, f"{page}/moves/return", comment="Softer steps.")
    assert location(returned) == page
    client.cookies.clear()
    await sign_in(client, curator)
    await post(client, page, f"{page}/moves/submit")

    client.cookies.clear()
    await sign_in(client, admin)
    assert location(await post(client, page, f"{page}/moves/publish")) == page
    template = await stored(db, "after-a-slip")
    assert template.status.value == "published" and template.published_version == 1
    template_id = template.id
    assert template.phases[0]["steps"][0] == {
        "title": "Say what happened",
        "description": "Plainly, without excuses",
        "owner": "involved",
    }
    same = await client.get(f"{page}/diff")
    assert same.status_code == 200 and "changed</span>" not in same.text

    await post(client, page, page, **edit_fields(title="After a slip, gently"))
    diff = await client.get(f"{page}/diff")
    assert "After a slip, gently" in diff.text and "changed</span>" in diff.text
    assert "(version 1)" in diff.text
    assert location(await post(client, page, f"{page}/moves/archive")) == page
    assert location(await post(client, page, f"{page}/moves/restore")) == page
    await db.rollback()
    actions = list(
        await db.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity_id == template_id)
            .order_by(AuditEntry.seq)
        )
    )
    assert actions == [
        f"repair_template.{action}"
        for action in (
            "created",
            "updated",
            "submitted",
            "returned",
            "submitted",
            "published",
            "updated",
            "archived",
            "restored",
        )
    ]


async def test_bad_template_input_is_named_and_changes_nothing(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    await sign_in(client, await make_user(role=Role.curator))
    no_roles = await post(
        client, "/console", "/console/templates", slug="no-roles", title="T", locale="en"
    )
    assert no_roles.status_code == 422 and "#/roles" in no_roles.text
    assert await db.scalar(select(RepairTemplate).where(RepairTemplate.slug == "no-roles")) is None
    page = await new_template(client)
    before = (await stored(db, "after-a-slip")).phases
    cases = {
        "#/phases/0/steps/0/owner": edit_fields(**{"phase-0-steps": "nobody | A step"}),
        "#/title": edit_fields(title=""),
        "#/phases/1/steps/0/title": edit_fields(**{"phase-1-steps": "both | " + "x" * 201}),
        "steps owned by `both`": edit_fields(
            roles=["mutual"], **{"phase-0-steps": "hurt | Mine alone"}
        ),
    }
    for pointer, fields in cases.items():
        answer = await post(client, page, page, **fields)
        assert answer.status_code == 422 and pointer in answer.text, (pointer, answer.text)
    template = await stored(db, "after-a-slip")
    assert template.phases == before and template.title == "After a slip"
    no_token = await client.post(page, data=edit_fields(title="Forged"))
    assert no_token.status_code == 400
    assert (await stored(db, "after-a-slip")).title == "After a slip"
    taken = await post(
        client,
        "/console",
        "/console/templates",
        slug="after-a-slip",
        title="Again",
        locale="en",
        roles=["mutual"],
    )
    assert taken.status_code == 409 and "taken" in taken.text
    assert (await client.get("/console/templates/not-an-id")).status_code == 404
    assert (await client.post("/console/nowhere", data={})).status_code == 400


async def test_members_cannot_open_or_change_templates(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    await sign_in(client, await make_user(role=Role.curator))
    page = await new_template(client)
    library = location(
        await post(client, "/console", "/console/libraries", slug="mine", title="Mine", locale="en")
    )
    token_page = await client.get(page)
    client.cookies.clear()
    await sign_in(client, await make_user())
    assert (await client.get(page)).status_code == 403
    assert (await client.get(f"{page}/diff")).status_code == 403
    for action in (page, f"{page}/moves/submit", "/console/templates", library):
        refused = await post(client, "/oauth/sign-in", action, **edit_fields(title="Member"))
        assert refused.status_code == 403, action
    assert token_page.status_code == 200
    template = await stored(db, "after-a-slip")
    assert template.title == "After a slip" and template.status.value == "draft"
    titles = await db.scalars(select(PromptLibrary.title).where(PromptLibrary.slug == "mine"))
    assert list(titles) == ["Mine"]
    client.cookies.clear()
    assert (await client.post(page, data={"title": "Nobody"})).status_code == 303


async def test_a_library_title_and_description_are_edited(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    await sign_in(client, await make_user(role=Role.admin))  # an admin may publish their own
    page = location(
        await post(
            client, "/console", "/console/libraries", slug="nights", title="Nights", locale="en"
        )
    )
    shown = await client.get(page)
    assert 'id="edit-title"' in shown.text and "At most 120 characters." in shown.text
    saved = await post(client, page, page, title="Late nights", description="Slow talks.")
    assert location(saved) == page
    bad = await post(client, page, page, title="", description="x" * 2001)
    assert bad.status_code == 422 and "#/title" in bad.text and "#/description" in bad.text
    await db.rollback()
    library = await db.scalar(
        select(PromptLibrary)
        .where(PromptLibrary.slug == "nights")
        .execution_options(populate_existing=True)
    )
    assert library is not None
    assert (library.title, library.description) == ("Late nights", "Slow talks.")
    library_id = library.id
    await post(client, page, f"{page}/prompts", text="Best hour?", category="share", depth="1")
    await post(client, page, f"{page}/moves/submit")
    locked = await post(client, page, page, title="Under review")
    assert locked.status_code == 409
    await post(client, page, f"{page}/moves/publish")
    await post(client, page, page, title="Nights again")
    diff = await client.get(f"{page}/diff")
    assert "Late nights" in diff.text and "Nights again" in diff.text
    assert 'class="changed"' in diff.text
    await db.rollback()
    entries = list(
        await db.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity_id == library_id)
            .order_by(AuditEntry.seq)
        )
    )
    assert entries.count("library.updated") == 2
