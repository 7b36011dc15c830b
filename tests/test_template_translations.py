"""A repair template's words in other languages: checked step for step against its phases,
refused when they no longer fit, published with the template, read by members in theirs."""

from __future__ import annotations

import copy

import httpx

from app.models.users import Role
from tests.conftest import MakeUser
from tests.test_repair_templates import PHASES, create, move, patch


def german() -> dict[str, object]:
    phases = copy.deepcopy(PHASES)
    phases[0]["title"] = "Dazu stehen"
    phases[0]["steps"][0]["title"] = "Benennen, was passiert ist"  # type: ignore[index]
    phases[0]["agreements"] = ["Wir beantworten Fragen ehrlich."]
    phases[1]["title"] = "Wieder nah sein"
    phases[1]["steps"][0]["title"] = "Ein Spaziergang"  # type: ignore[index]
    return {"title": "Nach einer Lüge", "phases": phases}


async def test_template_translations_fit_publish_and_reach_members(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    curator, reviewer = await make_user(role=Role.curator), await make_user(role=Role.curator)
    member = await make_user()
    template = (await create(client, curator, phases=PHASES))["id"]

    misfit = german()
    misfit["phases"][1]["steps"][0]["owner"] = "hurt"  # type: ignore[index]
    refused = await patch(client, curator, template, {"translations": {"de": misfit}})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "#/translations/de/phases"

    written = await patch(client, curator, template, {"translations": {"de": german()}})
    assert written.status_code == 200, written.text
    assert written.json()["translations"]["de"]["title"] == "Nach einer Lüge"

    # Phases changed after the translation was written: submitting is refused until it fits.
    fewer = await patch(client, curator, template, {"phases": PHASES[:1]})
    assert fewer.status_code == 200, fewer.text
    outdated = await move(client, curator, template, "submit")
    assert outdated.status_code == 409
    assert outdated.json()["type"].endswith("/repair-template-translations-outdated")
    restored = await patch(client, curator, template, {"phases": PHASES})
    assert restored.status_code == 200
    assert (await move(client, curator, template, "submit")).status_code == 200
    assert (await move(client, reviewer, template, "publish")).status_code == 200

    headers = {**member.headers("repair:read"), "Accept-Language": "de"}
    listed = await client.get("/v1/repair-templates", headers=headers)
    (shown,) = listed.json()["data"]
    assert (shown["title"], shown["locale"], shown["fallback"]) == ("Nach einer Lüge", "de", False)
    assert shown["phases"][1]["steps"][0]["title"] == "Ein Spaziergang"
    one = await client.get(f"/v1/repair-templates/{shown['slug']}", headers=headers)
    assert one.headers["content-language"] == "de"
    spanish = {**member.headers("repair:read"), "Accept-Language": "es"}
    (fallback,) = (await client.get("/v1/repair-templates", headers=spanish)).json()["data"]
    assert (fallback["title"], fallback["fallback"]) == ("After a lie", True)
    # Members cannot write translations.
    denied = await client.patch(
        f"/v1/admin/repair-templates/{template}",
        json={"translations": {}},
        headers={**member.headers("admin:content"), "If-Match": "*"},
    )
    assert denied.status_code == 403
