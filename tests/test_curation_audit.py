"""The curation audit log, and admin lists whose cost does not grow with the data."""

from __future__ import annotations

from typing import Any

import httpx

from app.models import Role
from tests.conftest import MakeUser
from tests.curation_support import (
    ADMIN,
    LIBRARIES,
    add_prompt,
    create_library,
    move,
    patch,
    publish,
)


async def test_the_audit_log_records_each_step(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    curator = await make_user(role=Role.curator)
    other = await make_user(role=Role.admin)
    lid = (await create_library(client, curator))["id"]
    prompt = await add_prompt(client, curator, lid, "What did you enjoy today?")
    await add_prompt(client, curator, lid, "What will you enjoy tomorrow?")
    await patch(client, curator, f"{LIBRARIES}/{lid}", {"title": "Renamed"})
    await publish(client, curator, lid, reviewer=other)
    await patch(
        client, curator, f"/v1/admin/prompts/{prompt['id']}", {"text": "What did you love?"}
    )
    await client.delete(f"/v1/admin/prompts/{prompt['id']}", headers=curator.headers(ADMIN))
    # A second curator reviews.
    assert (await move(client, other, lid, "submit")).status_code == 200
    assert (await move(client, other, lid, "return")).status_code == 200
    await move(client, curator, lid, "archive")
    await move(client, curator, lid, "restore")

    async def entries(**query: Any) -> list[dict[str, Any]]:
        response = await client.get("/v1/admin/audit", params=query, headers=curator.headers(ADMIN))
        assert response.status_code == 200, response.text
        return response.json()["data"]  # type: ignore[no-any-return]

    library_log = await entries(entity_id=lid)
    assert [e["action"] for e in library_log] == [
        "library.restored",
        "library.archived",
        "library.returned",
        "library.submitted",
        "library.published",
        "library.submitted",
        "library.updated",
        "library.created",
    ]
    updated = library_log[-2]
    assert (updated["before"]["title"], updated["after"]["title"]) == ("First steps", "Renamed")
    assert updated["actor_user_id"] == str(curator.id)
    assert updated["actor_client_id"] == "rapport-mobile"
    published = library_log[4]
    assert (published["before"]["status"], published["after"]["status"]) == (
        "review",
        "published",
    )
    assert published["after"]["published_version"] == 1
    assert library_log[2]["actor_user_id"] == str(other.id)

    assert len(await entries(entity_type="prompt")) == 4
    prompt_log = await entries(entity_type="prompt", entity_id=prompt["id"])
    assert [e["action"] for e in prompt_log] == [
        "prompt.removed",
        "prompt.updated",
        "prompt.created",
    ]
    change = prompt_log[1]
    assert change["before"]["text"] == "What did you enjoy today?"
    assert (change["before"]["number"], change["after"]["number"]) == (1, 2)
    assert change["after"]["text"] == "What did you love?"
    assert prompt_log[0]["after"]["removed_at"] is not None

    by_other = await entries(actor=str(other.id))
    assert [e["action"] for e in by_other] == [
        "library.returned",
        "library.submitted",
        "library.published",
    ]
    first_page = await client.get(
        "/v1/admin/audit", params={"limit": 3}, headers=curator.headers(ADMIN)
    )
    page = first_page.json()
    assert page["has_more"] is True and len(page["data"]) == 3
    rest = await entries(cursor=page["next_cursor"], limit=100)
    assert len(rest) == 12 - 3


async def test_admin_lists_cost_a_bounded_number_of_queries(
    client: httpx.AsyncClient, make_user: MakeUser, count_queries: Any
) -> None:
    curator = await make_user(role=Role.curator)
    lid = (await create_library(client, curator, slug="one"))["id"]
    await add_prompt(client, curator, lid, "One?")

    async def measure() -> tuple[int, int]:
        counts = []
        for path in (LIBRARIES, "/v1/admin/audit"):
            with count_queries() as counter:
                response = await client.get(path, headers=curator.headers(ADMIN))
            assert response.status_code == 200
            counts.append(counter.count)
        return counts[0], counts[1]

    few = await measure()
    for n in range(5):
        more = (await create_library(client, curator, slug=f"more-{n}"))["id"]
        await add_prompt(client, curator, more, "More?")
    many = await measure()
    assert few == many
    assert max(many) <= 3
    statuses = await client.get(
        LIBRARIES, params={"status": "review"}, headers=curator.headers(ADMIN)
    )
    assert statuses.json()["data"] == []
