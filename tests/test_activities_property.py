"""A property of Time together over HTTP: after any sequence of marks by the two partners, a
match exists for an idea exactly when both want it, both partners see the same matches, and
each partner reads only their own mark. The pure rules get the same check, exhaustively."""

from __future__ import annotations

import itertools
import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models.activities import Mark
from app.services import activity_rules as rules
from tests.activities_support import IDEAS, h, mark, matches, send
from tests.conftest import MakeUser
from tests.factories import pair

MARKS = (Mark.want.value, Mark.not_now.value, None)
Step = tuple[int, int, str | None]
steps = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 2), st.sampled_from(MARKS)), max_size=10
)


def test_a_match_is_both_wanting_it_in_the_pure_rules() -> None:
    ann, bo = uuid.uuid4(), uuid.uuid4()
    for anns, bos in itertools.product((Mark.want, Mark.not_now, None), repeat=2):
        marks = {person: m for person, m in ((ann, anns), (bo, bos)) if m is not None}
        expected = anns is Mark.want and bos is Mark.want
        assert rules.is_match([ann, bo], marks) is expected
        assert rules.is_match([ann], marks) is False  # a couple of one matches nothing


@pytest.mark.slow
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(journey=steps)
async def test_a_match_appears_exactly_when_both_want_it(
    journey: list[Step], client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    people = (await make_user(), await make_user())
    await pair(client, *people)
    ideas = [
        (await send(client, "POST", IDEAS, h(people[0]), {"title": f"idea {n}"}, 201))["id"]
        for n in range(3)
    ]
    model: dict[tuple[int, int], str] = {}
    for who, which, value in journey:
        await mark(client, people[who], ideas[which], value)
        if value is None:
            model.pop((who, which), None)
        else:
            model[(who, which)] = value
        wanted = {ideas[i] for i in range(3) if model.get((0, i)) == model.get((1, i)) == "want"}
        seen = [{m["idea"]["id"] for m in await matches(client, person)} for person in people]
        assert seen[0] == seen[1] == wanted
        for index, person in enumerate(people):
            listed = (await send(client, "GET", IDEAS, h(person)))["data"]
            mine = {i["id"]: i["my_mark"] for i in listed}
            assert mine == {ideas[i]: model.get((index, i)) for i in range(3)}
