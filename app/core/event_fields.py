"""The shape of an event type in the catalog (`app.core.event_catalog`): its payload's
fields and what each may hold."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from app.core.security import Scope


class FieldKind(StrEnum):
    id = "id"
    integer = "integer"
    flag = "flag"
    date = "date"
    word = "word"
    """A short machine word: one of `PayloadField.choices`, or any short token without them."""


@dataclass(frozen=True, slots=True)
class PayloadField:
    name: str
    kind: FieldKind
    description: str
    choices: tuple[str, ...] = ()
    nullable: bool = False

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        if self.kind is FieldKind.id:
            return isinstance(value, uuid.UUID)
        if self.kind is FieldKind.integer:
            return isinstance(value, int) and not isinstance(value, bool)
        if self.kind is FieldKind.flag:
            return isinstance(value, bool)
        if self.kind is FieldKind.date:
            return isinstance(value, str) and _is_iso_date(value)
        return isinstance(value, str) and (not self.choices or value in self.choices)


def _is_iso_date(value: str) -> bool:
    try:
        return date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def id_field(name: str) -> PayloadField:
    """The id of one thing the event is about: `plan_id`, `conversation_id`, …"""
    return PayloadField(name, FieldKind.id, f"The id of the {name.removesuffix('_id')}.")


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    description: str
    scope: Scope
    """A partner platform receives this type only with this scope granted."""
    fields: tuple[PayloadField, ...] = ()
    """The payload's `data` keys beyond `id`, `user_id` and `couple_id`."""
