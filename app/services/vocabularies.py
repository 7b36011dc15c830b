"""The fixed vocabularies of emotions and needs: loaded once, validated, and asked about keys.

Check-ins and journal entries name emotions and needs by key (`scared.overwhelmed`,
`connection.reassurance`); keys outside the vocabulary are refused with a problem that points
at each one, so a client's typo never becomes a silent, unanalysable word.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from app.core.problems import FieldError, UnprocessableContent
from app.schemas.vocabularies import EmotionVocabulary, NeedVocabulary

VOCABULARY_DIR = Path(__file__).resolve().parent.parent / "content" / "vocabularies"


class UnknownTerms(UnprocessableContent):
    slug = "unknown-vocabulary-term"
    title = "Some terms are not in the vocabulary"


def _unique(keys: list[str], what: str) -> frozenset[str]:
    if len(set(keys)) != len(keys):
        raise ValueError(f"the {what} vocabulary repeats a key")
    return frozenset(keys)


# Read on first use and kept for the life of the process; the files are small and fixed, so
# this one short read is the only I/O they ever cost.
@functools.cache
def emotions() -> EmotionVocabulary:
    text = (VOCABULARY_DIR / "emotions.json").read_text(encoding="utf-8")
    vocabulary = EmotionVocabulary.model_validate_json(text)
    for family in vocabulary.families:
        if any(not term.key.startswith(family.key + ".") for term in family.terms):
            raise ValueError(f"emotion keys in family {family.key!r} must start with its key")
    return vocabulary


@functools.cache
def needs() -> NeedVocabulary:
    text = (VOCABULARY_DIR / "needs.json").read_text(encoding="utf-8")
    vocabulary = NeedVocabulary.model_validate_json(text)
    for category in vocabulary.categories:
        if any(not need.key.startswith(category.key + ".") for need in category.needs):
            raise ValueError(f"need keys in category {category.key!r} must start with its key")
    return vocabulary


@functools.cache
def emotion_keys() -> frozenset[str]:
    return _unique([t.key for f in emotions().families for t in f.terms], "emotions")


@functools.cache
def need_keys() -> frozenset[str]:
    return _unique([n.key for c in needs().categories for n in c.needs], "needs")


def unknown_emotions(keys: Sequence[str]) -> list[tuple[int, str]]:
    """The position and key of each entry that is not an emotion of the vocabulary."""
    known = emotion_keys()
    return [(index, key) for index, key in enumerate(keys) if key not in known]


def unknown_needs(keys: Sequence[str]) -> list[tuple[int, str]]:
    """The position and key of each entry that is not a need of the vocabulary."""
    known = need_keys()
    return [(index, key) for index, key in enumerate(keys) if key not in known]


def check_terms(*, emotions: Sequence[str] = (), needs: Sequence[str] = ()) -> None:
    """Refuse unknown keys, naming each one with a pointer such as `#/emotions/1`."""
    errors = [
        FieldError(pointer=f"#/emotions/{index}", detail=f"{key!r} is not a known emotion")
        for index, key in unknown_emotions(emotions)
    ] + [
        FieldError(pointer=f"#/needs/{index}", detail=f"{key!r} is not a known need")
        for index, key in unknown_needs(needs)
    ]
    if errors:
        raise UnknownTerms(
            "Use the keys of GET /v1/vocabularies/emotions and GET /v1/vocabularies/needs.",
            errors=errors,
        )


def distinct(keys: Sequence[str]) -> list[str]:
    """The keys in their first order, each once."""
    return list(dict.fromkeys(keys))
