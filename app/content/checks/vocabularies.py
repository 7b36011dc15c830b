"""The two fixed vocabularies (`vocabularies/*.json`): first through the loaders the API
serves them with (`parse_emotions`, `parse_needs`), then the editorial rules: the six
emotion families and seven need categories, and a handful of entries in each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

from app.content.checks import prose
from app.content.checks.report import Report
from app.schemas.vocabularies import EmotionVocabulary, NeedVocabulary
from app.services.vocabularies import InvalidVocabularyFile, parse_emotions, parse_needs

EMOTION_FAMILIES: Final[Mapping[str, str]] = {
    "mad": "negative",
    "sad": "negative",
    "scared": "negative",
    "joyful": "positive",
    "powerful": "positive",
    "peaceful": "positive",
}
TERMS_PER_FAMILY: Final = (8, 12)
NEED_CATEGORIES: Final = (
    "connection",
    "physical_wellbeing",
    "honesty",
    "play",
    "peace",
    "autonomy",
    "meaning",
)
NEEDS_PER_CATEGORY: Final = (6, 10)


def check_labels(
    report: Report, path: Path, at: str, label: str, entries: str, entry_labels: list[str]
) -> None:
    """Labels without stray spaces (the vocabulary schema keeps text as it is)."""
    prose.check_prose(report, path, f"{at}/label", label, prose.MAX_LABEL, wording=False)
    for index, text in enumerate(entry_labels):
        where = f"{at}/{entries}/{index}/label"
        prose.check_prose(report, path, where, text, prose.MAX_LABEL, wording=False)


def check_groups(
    report: Report, path: Path, at: str, keys: list[str], groups: Iterable[str], what: str
) -> None:
    """Exactly the required groups: none unknown, none missing."""
    required = list(groups)
    for index, key in enumerate(keys):
        if key not in required:
            report.fail(path, f"{at}/{index}/key", f"{key!r} is not one of {', '.join(required)}")
    for key in required:
        if key not in keys:
            report.fail(path, at, f"missing the {key!r} {what}")


def check_emotions(path: Path, report: Report) -> str:
    raw = report.read(path)
    if raw is None:
        return "Emotions: not loaded"
    try:
        vocabulary: EmotionVocabulary = parse_emotions(raw, source=path.name)
    except InvalidVocabularyFile as error:
        report.refused(path, error)
        return "Emotions: not loaded"
    keys = [family.key for family in vocabulary.families]
    check_groups(report, path, "#/families", keys, EMOTION_FAMILIES, "family")
    for index, family in enumerate(vocabulary.families):
        at = f"#/families/{index}"
        expected = EMOTION_FAMILIES.get(family.key)
        if expected is not None and family.valence != expected:
            report.fail(path, f"{at}/valence", f"should be {expected!r}")
        report.bounds(path, f"{at}/terms", len(family.terms), *TERMS_PER_FAMILY, "terms")
        check_labels(report, path, at, family.label, "terms", [t.label for t in family.terms])
    terms = sum(len(family.terms) for family in vocabulary.families)
    return f"Emotions: {len(keys)} families, {terms} terms"


def check_needs(path: Path, report: Report) -> str:
    raw = report.read(path)
    if raw is None:
        return "Needs: not loaded"
    try:
        vocabulary: NeedVocabulary = parse_needs(raw, source=path.name)
    except InvalidVocabularyFile as error:
        report.refused(path, error)
        return "Needs: not loaded"
    keys = [category.key for category in vocabulary.categories]
    check_groups(report, path, "#/categories", keys, NEED_CATEGORIES, "category")
    for index, category in enumerate(vocabulary.categories):
        at = f"#/categories/{index}"
        report.bounds(path, f"{at}/needs", len(category.needs), *NEEDS_PER_CATEGORY, "needs")
        check_labels(report, path, at, category.label, "needs", [n.label for n in category.needs])
        for position, need in enumerate(category.needs):
            spot = f"{at}/needs/{position}/description"
            prose.check_prose(report, path, spot, need.description, prose.MAX_NEED_DESCRIPTION)
            if not need.description.endswith("."):
                report.fail(path, spot, "should be a sentence ending with a full stop")
    needs = sum(len(category.needs) for category in vocabulary.categories)
    return f"Needs: {len(keys)} categories, {needs} needs"


def check_vocabularies(directory: Path, report: Report) -> list[str]:
    """Check `emotions.json` and `needs.json` in `directory`; their summary lines."""
    return [
        check_emotions(directory / "emotions.json", report),
        check_needs(directory / "needs.json", report),
    ]
