"""Repair-plan templates in other languages: a translation is the template's words (title,
description, each phase's title, description, steps and agreements) with everything else
the template's own, phase for phase and step for step; members read the published one in
their language, and a plan started from a template copies the words of its proposer's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from app.core.languages import Preferences, language_of
from app.core.problems import FieldError
from app.models.curation import PublishedVersion
from app.schemas.repair_templates import PhaseTemplate, TemplateFileItem

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "content" / "translations"
_PHASES = TypeAdapter(list[PhaseTemplate])
_FILE = TypeAdapter(list[TemplateFileItem])


@dataclass(frozen=True, slots=True)
class TemplateWords:
    title: str
    description: str
    phases: list[PhaseTemplate]
    locale: str
    fallback: bool


def _shape(phases: list[dict[str, Any]]) -> list[tuple[str, list[str], int]]:
    """What a translation keeps: each phase's key, its steps' owners, how many agreements."""
    return [
        (
            phase["key"],
            [step["owner"] for step in phase.get("steps", [])],
            len(phase.get("agreements", [])),
        )
        for phase in phases
    ]


def translation_errors(
    phases: list[dict[str, Any]], translations: Mapping[str, Mapping[str, Any]]
) -> list[FieldError]:
    """Each translation whose phases differ from the template's in anything but words."""
    return [
        FieldError(
            pointer=f"#/translations/{language}/phases",
            detail="must have the template's phases, steps (with their owners) and "
            "agreements, in its order: only the words differ",
        )
        for language, translated in sorted(translations.items())
        if _shape(list(translated.get("phases", []))) != _shape(phases)
    ]


def words_for(
    version: PublishedVersion, phases: list[dict[str, Any]], wanted: Preferences
) -> TemplateWords:
    """A published template's words in the first language the reader wants (its
    translations were checked against its phases before it could be published)."""
    language, chosen, fallback = wanted.choose(version.locale, version.translations or {})
    if chosen is None:
        return TemplateWords(
            version.title,
            version.description,
            _PHASES.validate_python(phases),
            version.locale,
            fallback,
        )
    return TemplateWords(
        chosen["title"],
        chosen.get("description", ""),
        _PHASES.validate_python(chosen["phases"]),
        language,
        fallback,
    )


def seeded_translations(
    item: TemplateFileItem, directory: Path = TRANSLATIONS_DIR
) -> dict[str, Any]:
    """The starter template's translations from `<language>/repair_templates.json`; one that
    does not match the template is a broken installation."""
    found: dict[str, Any] = {}
    source_phases = [phase.model_dump(mode="json") for phase in item.phases]
    for path in sorted(directory.glob("*/repair_templates.json")):
        language = path.parent.name
        if language == language_of(item.locale):
            continue
        try:
            others = _FILE.validate_json(path.read_bytes(), strict=True)
        except ValidationError as error:
            raise RuntimeError(f"{path.name} ({language}) is not valid: {error}") from error
        other = next((o for o in others if o.slug == item.slug), None)
        if other is None:
            continue
        phases = [phase.model_dump(mode="json") for phase in other.phases]
        if _shape(phases) != _shape(source_phases) or other.roles != item.roles:
            raise RuntimeError(
                f"translations/{language}/repair_templates.json: {item.slug!r} changes more "
                "than its words"
            )
        found[language] = {
            "title": other.title,
            "description": other.description,
            "phases": phases,
        }
    return found
