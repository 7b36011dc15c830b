"""The fixed vocabularies of emotions and needs: loaded once, validated, and asked about keys.

Check-ins and journal entries name emotions and needs by key (`scared.overwhelmed`,
`connection.reassurance`); keys outside the vocabulary are refused with a problem that points
at each one, so a client's typo never becomes a silent, unanalysable word. A vocabulary file
is refused whole (`InvalidVocabularyFile`, every problem named by a JSON pointer) unless each
key is used once under its group's key and no two entries share a label.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from app.core.languages import Preferences
from app.core.problems import FieldError, UnprocessableContent
from app.schemas.vocabularies import EmotionVocabulary, NeedVocabulary
from app.services.curation_files import field_errors, in_document_order

VOCABULARY_DIR = Path(__file__).resolve().parent.parent / "content" / "vocabularies"
# `<language>/vocabularies/<file>`: the same files with their labels and descriptions translated.
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "content" / "translations"
SOURCE_LANGUAGE = "en"


class UnknownTerms(UnprocessableContent):
    slug = "unknown-vocabulary-term"
    title = "Some terms are not in the vocabulary"


class InvalidVocabularyFile(UnprocessableContent):
    slug = "invalid-vocabulary-file"
    title = "The vocabulary file is not valid"


Vocabulary = TypeVar("Vocabulary", EmotionVocabulary, NeedVocabulary)
# A vocabulary's groups as (key, entries), each entry as (key, label).
Groups = list[tuple[str, list[tuple[str, str]]]]


def _repeats(seen: dict[str, str], value: str, where: str, what: str) -> FieldError | None:
    if value in seen:
        return FieldError(pointer=where, detail=f"repeats the {what} of {seen[value]}")
    seen[value] = where.rpartition("/")[0]
    return None


def _entry_errors(groups_name: str, entries_name: str, groups: Groups) -> list[FieldError]:
    """Group keys and entry keys used once, entry keys under their group's key, and labels
    that tell every entry apart."""
    group_keys: dict[str, str] = {}
    keys: dict[str, str] = {}
    labels: dict[str, str] = {}
    found: list[FieldError | None] = []
    for index, (group, entries) in enumerate(groups):
        at = f"#/{groups_name}/{index}"
        found.append(_repeats(group_keys, group, f"{at}/key", "key"))
        for position, (key, label) in enumerate(entries):
            entry = f"{at}/{entries_name}/{position}"
            if not key.startswith(group + "."):
                found.append(FieldError(pointer=f"{entry}/key", detail=f"must start with {group}."))
            found.append(_repeats(keys, key, f"{entry}/key", "key"))
            found.append(_repeats(labels, label.casefold(), f"{entry}/label", "label"))
    return [error for error in found if error is not None]


def _parse(
    model: type[Vocabulary],
    raw: bytes | str,
    source: str,
    groups: Callable[[Vocabulary], tuple[str, str, Groups]],
) -> Vocabulary:
    try:
        vocabulary = model.model_validate_json(raw, strict=True)
    except ValidationError as error:
        errors = field_errors(error)
    else:
        errors = _entry_errors(*groups(vocabulary))
        if not errors:
            return vocabulary
    raise InvalidVocabularyFile(
        f"{source}: {len(errors)} problem(s) in the vocabulary.", errors=in_document_order(errors)
    )


def parse_emotions(raw: bytes | str, *, source: str = "emotions.json") -> EmotionVocabulary:
    """The emotion vocabulary a JSON document describes, or `InvalidVocabularyFile`."""
    return _parse(
        EmotionVocabulary,
        raw,
        source,
        lambda v: (
            "families",
            "terms",
            [(f.key, [(t.key, t.label) for t in f.terms]) for f in v.families],
        ),
    )


def parse_needs(raw: bytes | str, *, source: str = "needs.json") -> NeedVocabulary:
    """The need vocabulary a JSON document describes, or `InvalidVocabularyFile`."""
    return _parse(
        NeedVocabulary,
        raw,
        source,
        lambda v: (
            "categories",
            "needs",
            [(c.key, [(n.key, n.label) for n in c.needs]) for c in v.categories],
        ),
    )


def _installed(parse: Callable[..., Vocabulary], name: str) -> Vocabulary:
    try:
        return parse((VOCABULARY_DIR / name).read_bytes(), source=name)
    except InvalidVocabularyFile as error:
        # The installation's own file is broken: a server error, never a client's 422.
        raise RuntimeError(f"{error.detail} {error.extra['errors']}") from error


# Read on first use and kept for the life of the process; the files are small and fixed, so
# this one short read is the only I/O they ever cost.
@functools.cache
def emotions() -> EmotionVocabulary:
    return _installed(parse_emotions, "emotions.json")


@functools.cache
def needs() -> NeedVocabulary:
    return _installed(parse_needs, "needs.json")


def _translated(
    parse: Callable[..., Vocabulary], name: str, language: str, source: Vocabulary
) -> Vocabulary:
    """The vocabulary `name` in `language`: every key, valence and order the source's, the
    words its own; a file that differs otherwise is a broken installation."""
    path = TRANSLATIONS_DIR / language / "vocabularies" / name
    where = f"translations/{language}/vocabularies/{name}"
    try:
        vocabulary = parse(path.read_bytes(), source=where)
    except InvalidVocabularyFile as error:
        raise RuntimeError(f"{error.detail} {error.extra['errors']}") from error
    if _shape(vocabulary) != _shape(source):
        raise RuntimeError(f"{where}: its keys or valences differ from {name}'s")
    return vocabulary.model_copy(update={"locale": language})


def _shape(value: object) -> object:
    """A vocabulary without its words: what every translation must keep."""
    if isinstance(value, BaseModel):
        return _shape(value.model_dump(exclude={"label", "description", "locale", "fallback"}))
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items() if k not in ("label", "description")}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return value


@functools.cache
def languages(name: str) -> frozenset[str]:
    """The languages a vocabulary file is translated into."""
    if not TRANSLATIONS_DIR.is_dir():
        return frozenset()
    return frozenset(
        folder.name
        for folder in TRANSLATIONS_DIR.iterdir()
        if (folder / "vocabularies" / name).is_file()
    )


@functools.cache
def _emotions_in(language: str) -> EmotionVocabulary:
    if language == SOURCE_LANGUAGE:
        return emotions()
    return _translated(parse_emotions, "emotions.json", language, emotions())


@functools.cache
def _needs_in(language: str) -> NeedVocabulary:
    if language == SOURCE_LANGUAGE:
        return needs()
    return _translated(parse_needs, "needs.json", language, needs())


def emotions_for(wanted: Preferences) -> EmotionVocabulary:
    """The emotions in the first language the reader wants that they exist in."""
    language, fallback = wanted.pick(SOURCE_LANGUAGE, languages("emotions.json"))
    return _emotions_in(language).model_copy(update={"fallback": fallback})


def needs_for(wanted: Preferences) -> NeedVocabulary:
    """The needs in the first language the reader wants that they exist in."""
    language, fallback = wanted.pick(SOURCE_LANGUAGE, languages("needs.json"))
    return _needs_in(language).model_copy(update={"fallback": fallback})


@functools.cache
def emotion_keys() -> frozenset[str]:
    return frozenset(t.key for f in emotions().families for t in f.terms)


@functools.cache
def need_keys() -> frozenset[str]:
    return frozenset(n.key for c in needs().categories for n in c.needs)


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
