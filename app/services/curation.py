"""The editorial life cycle every kind of curated content shares (prompt libraries, repair
templates): draft → review → published → archived, with the same moves and audit actions."""

from __future__ import annotations

from enum import StrEnum
from typing import Final, TypeVar

Status = TypeVar("Status", bound=StrEnum)

# move → the status it leads to, per current status.
_MOVES: Final = {
    "draft": {"submit": "review", "archive": "archived"},
    "review": {"publish": "published", "return": "draft", "archive": "archived"},
    "published": {"archive": "archived"},
    "archived": {"restore": "draft"},
}
_PAST: Final = {
    "submit": "submitted",
    "publish": "published",
    "return": "returned",
    "archive": "archived",
    "restore": "restored",
}
# A published item can be edited: it goes back to draft while members keep the live version.
_EDITABLE: Final = ("draft", "published")


def transitions(status: type[Status]) -> dict[Status, dict[str, Status]]:
    return {
        status(current): {move: status(target) for move, target in moves.items()}
        for current, moves in _MOVES.items()
    }


def editable(status: type[Status]) -> frozenset[Status]:
    return frozenset(status(value) for value in _EDITABLE)


def audit_actions(entity: str) -> dict[str, str]:
    """The audit log's action for each move, e.g. `library.published`."""
    return {move: f"{entity}.{past}" for move, past in _PAST.items()}
