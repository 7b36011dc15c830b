"""`Accept-Language` as a preference, never an error; and translated starter files that must
match their library."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.languages import Preferences, parse_accept_language
from app.schemas.library_files import LibraryFile
from app.services.library_files import CONTENT_DIR
from app.services.library_translation_files import read_translations, translated_files


@pytest.mark.parametrize(
    ("header", "languages"),
    [
        ("de-CH, de;q=0.9, en;q=0.5", ["de", "en"]),
        ("en;q=0.2, es", ["es", "en"]),
        ("fr;q=0, *;q=0.5, it", ["it"]),
        ("EN-gb", ["en"]),
        ("de;q=1.5, es;q=abc, pt", ["pt"]),
        ("", []),
        (None, []),
    ],
)
def test_accept_language_is_read_most_wanted_first(
    header: str | None, languages: list[str]
) -> None:
    assert parse_accept_language(header) == languages


@given(st.text(max_size=300))
def test_any_header_is_a_preference_never_an_error(header: str) -> None:
    wanted = Preferences.of(header, "de")
    assert all(language.isascii() and language.isalpha() for language in wanted.languages)
    language, fallback = wanted.pick("en", {"de", "es"})
    assert language in {"en", "de", "es"}
    assert fallback == (wanted.first is not None and language != wanted.first)


def test_the_profile_locale_stands_in_for_a_missing_header() -> None:
    assert Preferences.of(None, "es-MX").languages == ("es",)
    assert Preferences.of("de", "es-MX").languages == ("de",)
    assert Preferences.of(None).pick("en", {"de"}) == ("en", False)


def test_every_starter_library_has_its_german_and_spanish_translation() -> None:
    translations = read_translations(CONTENT_DIR.parent / "translations")
    assert {"de", "es"} <= set(translations)
    for path in sorted(CONTENT_DIR.glob("*.json")):
        source = LibraryFile.model_validate_json(path.read_bytes(), strict=True)
        assert set(translated_files(source, path.name, translations)) >= {"de", "es"}


def test_a_translation_that_changes_more_than_words_is_refused() -> None:
    path = next(CONTENT_DIR.glob("*.json"))
    german = CONTENT_DIR.parent / "translations" / "de" / "libraries" / path.name
    source = LibraryFile.model_validate_json(path.read_bytes(), strict=True)
    document = json.loads(german.read_text(encoding="utf-8"))
    document["prompts"][0]["depth"] = 1 + document["prompts"][0]["depth"] % 3
    with pytest.raises(RuntimeError, match="changes more than its texts"):
        translated_files(source, path.name, {"de": {path.name: json.dumps(document).encode()}})
    document = json.loads(german.read_text(encoding="utf-8"))
    document["prompts"].pop()
    with pytest.raises(RuntimeError, match="keys differ"):
        translated_files(source, path.name, {"de": {path.name: json.dumps(document).encode()}})
