"""The console's translation editor on a prompt's page: the same rules as the API's
`.../translations/{language}` endpoints, behind the console's sign-in, role check and CSRF."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.models.users import Role
from tests.conftest import MakeUser, Person
from tests.console_support import csrf, location, post, sign_in
from tests.curation_support import ADMIN, add_prompt, create_library, move, publish


@dataclass(frozen=True)
class Prompt:
    curator: Person
    reviewer: Person
    library: str
    prompt: str

    @property
    def page(self) -> str:
        return f"/console/libraries/{self.library}/prompts/{self.prompt}"

    @property
    def write(self) -> str:
        return f"{self.page}/translations"


@pytest.fixture
async def published(client: httpx.AsyncClient, make_user: MakeUser) -> Prompt:
    curator, reviewer = await make_user(role=Role.curator), await make_user(role=Role.curator)
    library = (await create_library(client, curator, slug="evenings"))["id"]
    prompt = (await add_prompt(client, curator, library, "What made you laugh today?"))["id"]
    await publish(client, curator, library, reviewer=reviewer)
    return Prompt(curator, reviewer, library, prompt)


async def listed(client: httpx.AsyncClient, at: Prompt) -> list[dict[str, Any]]:
    response = await client.get(
        f"/v1/admin/prompts/{at.prompt}/translations", headers=at.curator.headers(ADMIN)
    )
    assert response.status_code == 200, response.text
    return response.json()["translations"]  # type: ignore[no-any-return]


def states(rows: list[dict[str, Any]]) -> list[tuple[str, str, bool, bool]]:
    return [(r["locale"], r["status"], r["stale"], r["withdrawing"]) for r in rows]


async def test_a_curator_writes_drops_and_withdraws_translations_in_the_console(
    client: httpx.AsyncClient, published: Prompt
) -> None:
    at = published
    await sign_in(client, at.curator)
    page = await client.get(at.page)
    assert page.status_code == 200
    assert 'id="translations"' in page.text and "No translations yet." in page.text
    assert '<option value="de">' in page.text and '<option value="es">' in page.text
    assert '<option value="en">' not in page.text  # the prompt's own language
    assert "Must match ^[a-z]{2,3}$." in page.text  # the API's rule beside the field

    written = await post(
        client,
        at.page,
        at.write,
        language="de",
        text="Was hat dich heute lachen lassen?",
        listener_guidance="Lach mit.",
    )
    assert location(written) == f"{at.page}#translations"
    assert states(await listed(client, at)) == [("de", "draft", False, False)]
    await publish(client, at.curator, at.library, reviewer=at.reviewer)
    shown = (await client.get(at.page)).text
    assert "Was hat dich heute lachen lassen?" in shown and "Lach mit." in shown
    assert "Withdraw the live de translation" in shown

    # A draft beside the live one, then dropped: the live one stays.
    await post(client, at.page, at.write, language="de", text="Worüber hast du gelacht?")
    assert "Drop the de draft" in (await client.get(at.page)).text
    dropped = await post(client, at.page, f"{at.write}/de/remove")
    assert location(dropped) == f"{at.page}#translations"
    assert states(await listed(client, at)) == [("de", "live", False, False)]

    withdrawn = await post(client, at.page, f"{at.write}/de/withdraw")
    assert location(withdrawn) == f"{at.page}#translations"
    assert states(await listed(client, at)) == [("de", "live", False, True)]
    shown = (await client.get(at.page)).text
    assert "withdrawing at next publication" in shown
    assert "Withdraw the live de translation" not in shown

    # A language typed as an ISO 639 code wins over the list; a change of the prompt's words
    # marks its draft stale.
    typed = await post(
        client, at.page, at.write, language="es", other_language=" fr ", text="Qu'est-ce qui…?"
    )
    assert location(typed) == f"{at.page}#translations"
    assert ("fr", "draft", False, False) in states(await listed(client, at))
    edited = await post(
        client, at.page, at.page, text="What made you smile today?", category="share", depth="2"
    )
    assert edited.status_code == 303
    assert states(await listed(client, at)) == [("fr", "draft", True, False)]
    assert "stale — translates earlier words" in (await client.get(at.page)).text


async def test_bad_input_is_a_form_error_and_changes_nothing(
    client: httpx.AsyncClient, published: Prompt
) -> None:
    at = published
    await sign_in(client, at.curator)
    await post(client, at.page, at.write, language="de", text="Was hat dich lachen lassen?")
    before = await listed(client, at)
    for fields, pointer in (
        ({"language": "German", "text": "Hallo?"}, "#/language"),
        ({"other_language": "DE", "text": "Hallo?"}, "#/language"),
        ({"language": "de"}, "#/text"),
        ({"language": "de", "text": "x" * 501}, "#/text"),
        ({"language": "en", "text": "Same language?"}, "#/locale"),
    ):
        refused = await post(client, at.page, at.write, **fields)
        assert refused.status_code == 422, fields
        assert pointer in refused.text and 'class="errors"' in refused.text, fields
    missing = await post(client, at.page, f"{at.write}/es/remove")
    assert missing.status_code == 404
    not_live = await post(client, at.page, f"{at.write}/de/withdraw")
    assert not_live.status_code == 404
    assert await listed(client, at) == before


async def test_a_library_under_review_refuses_translations_as_it_refuses_edits(
    client: httpx.AsyncClient, published: Prompt
) -> None:
    at = published
    await sign_in(client, at.curator)
    await post(client, at.page, at.write, language="de", text="Was hat dich lachen lassen?")
    assert (await move(client, at.curator, at.library, "submit")).status_code == 200
    before = await listed(client, at)
    for action, fields in (
        (at.write, {"language": "de", "text": "Später?"}),
        (f"{at.write}/de/remove", {}),
    ):
        locked = await post(client, at.page, action, **fields)
        assert locked.status_code == 409 and "Return it to draft first." in locked.text
    assert await listed(client, at) == before


async def test_members_visitors_and_forged_forms_are_refused(
    client: httpx.AsyncClient, published: Prompt, make_user: MakeUser
) -> None:
    at = published
    fields = {"language": "de", "text": "Was hat dich lachen lassen?"}
    signed_out = await client.post(at.write, data=fields)
    assert signed_out.status_code == 303 and "/oauth/sign-in" in signed_out.headers["location"]
    assert (await client.get(at.page)).status_code == 303

    await sign_in(client, await make_user())
    assert (await client.get(at.page)).status_code == 403
    for action in (at.write, f"{at.write}/de/remove", f"{at.write}/de/withdraw"):
        refused = await client.post(action, data=fields)
        assert refused.status_code == 403 and "Curators only" in refused.text
    client.cookies.clear()

    await sign_in(client, at.curator)
    assert (await client.post(at.write, data=fields)).status_code == 400
    forged = await client.post(at.write, data={**fields, "csrf_token": "forged"})
    assert forged.status_code == 400 and "This page has expired" in forged.text
    assert await listed(client, at) == []
    other = (await create_library(client, at.curator, slug="elsewhere"))["id"]
    foreign = await post(
        client, at.page, f"/console/libraries/{other}/prompts/{at.prompt}/translations", **fields
    )
    assert foreign.status_code == 404
    assert await listed(client, at) == []


async def test_an_imported_file_s_translations_are_previewed_then_drafts(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    await sign_in(client, await make_user(role=Role.curator))
    document = json.dumps(
        {
            "slug": "imported",
            "title": "Imported",
            "locale": "en",
            "translations": {"de": {"title": "Importiert"}},
            "prompts": [
                {
                    "key": "one",
                    "text": "A first question?",
                    "category": "play",
                    "depth": 1,
                    "translations": {"es": {"text": "¿Una primera pregunta?"}},
                }
            ],
        }
    )
    token = csrf((await client.get("/console/import")).text)
    preview = await client.post(
        "/console/import",
        data={"csrf_token": token},
        files={"file": ("imported.json", document.encode(), "application/json")},
    )
    assert preview.status_code == 200
    assert "(draft translations: es)" in preview.text and "also in: de." in preview.text
    confirmed = await client.post(
        "/console/import", data={"csrf_token": token, "document": document, "confirm": "1"}
    )
    library = location(confirmed)
    prompt = (await client.get(library)).text.split(f'href="{library}/prompts/')[1].split('"')[0]
    page = (await client.get(f"{library}/prompts/{prompt}")).text
    assert "¿Una primera pregunta?" in page and "Drop the es draft" in page
