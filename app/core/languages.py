"""Which language a reader wants: `Accept-Language` (RFC 9110 §12.5.4), then their own locale.

Content is matched by primary language (`de-CH` reads `de`): the starter content is written
per language, not per region. `Preferences` is what a request asks for, most wanted first;
`pick` chooses among the languages a text exists in, and says whether the reader got their
first choice, so a response can tell a fallback apart from a match.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

T = TypeVar("T")

# The header is the client's to send: a long one is cut, never a reason for an error.
_MAX_RANGES: Final = 20
_RANGE: Final = re.compile(
    r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$"
)


def language_of(tag: str) -> str:
    """The primary language subtag, lowercased: `pt-BR` → `pt`."""
    return tag.split("-", 1)[0].strip().lower()


def _quality(raw: str | None) -> float:
    if raw is None:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        return 0.0
    return value if 0.0 <= value <= 1.0 else 0.0


def parse_accept_language(header: str | None) -> list[str]:
    """The languages a header asks for, most wanted first, without `*` and refusals (`q=0`);
    a malformed range is skipped, as a server may (the header only states a preference)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:_MAX_RANGES]):
        match = _RANGE.match(part)
        if match is None or match.group(1) == "*":
            continue
        quality = _quality(match.group(2))
        if quality > 0:
            weighted.append((-quality, position, language_of(match.group(1))))
    return list(dict.fromkeys(language for _, _, language in sorted(weighted)))


@dataclass(frozen=True, slots=True)
class Preferences:
    """The languages a reader wants, most wanted first (may be empty: no preference)."""

    languages: tuple[str, ...] = ()

    @classmethod
    def of(cls, accept_language: str | None, locale: str | None = None) -> Preferences:
        """From the request's `Accept-Language`; without one, the person's own locale."""
        asked = parse_accept_language(accept_language)
        if not asked and locale:
            asked = [language_of(locale)]
        return cls(tuple(asked))

    @property
    def first(self) -> str | None:
        return self.languages[0] if self.languages else None

    def pick(self, default: str, available: Collection[str]) -> tuple[str, bool]:
        """The language to show of a text written in `default` and translated into
        `available`, and whether that is a fallback from the reader's first choice."""
        offered = {language_of(default), *(language_of(a) for a in available)}
        chosen = next((w for w in self.languages if w in offered), language_of(default))
        return chosen, self.first is not None and chosen != self.first

    def choose(self, default: str, translated: Mapping[str, T]) -> tuple[str, T | None, bool]:
        """The language to show of a text written in `default` with `translated` words by
        language, those words (None: the text's own), and whether that is a fallback."""
        language, fallback = self.pick(default, translated)
        return language, translated.get(language), fallback
