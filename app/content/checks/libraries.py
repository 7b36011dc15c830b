"""The prompt libraries (`libraries/*.json`): each file first through `parse_library_file`,
what the admin import and the seed use, then the editorial rules of the starter collection.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from app.content.checks import prose
from app.content.checks.report import Report, percent_at_least, percent_at_most
from app.models.couples import RelationshipStage
from app.models.prompts import Category, PromptKind
from app.schemas.library_files import LibraryFile, PromptFileItem
from app.services.library_files import InvalidLibraryFile, parse_library_file

STAGES: Final = tuple(RelationshipStage)
REQUIRED_LIBRARIES: Final[Mapping[str, tuple[str, ...]]] = {
    "first-months": ("new",),
    "long-distance": ("long_distance",),
    "long-term": ("long_term",),
    "after-a-rupture": tuple(STAGES),
}
REPAIR_LIBRARY: Final = "after-a-rupture"
GUIDED_CATEGORIES: Final = frozenset({"listen", "share", "reflect", "repair"})
DEPTHS: Final = (1, 2, 3)

MIN_LIBRARIES: Final = 4
MIN_TOTAL_PROMPTS: Final = 160
MIN_PROMPTS_PER_LIBRARY: Final = 35
MAX_TAGS: Final = 6
MAX_TAG_LENGTH: Final = 24
MIN_PLAY_PERCENT: Final = 20  # per library
MAX_REPAIR_PERCENT_ELSEWHERE: Final = 20  # libraries other than after-a-rupture
MIN_GUIDED_PERCENT: Final = 75  # of listen/share/reflect/repair prompts, per library
MIN_NON_SENSITIVE: Final = 10  # per library, so the daily rotation works during a repair plan
DEPTH_TARGET_PERCENT: Final[Mapping[int, int]] = {1: 45, 2: 35, 3: 20}
DEPTH_TOLERANCE_PERCENT: Final = 5
# Prompts with these tags can reopen wounds and must be marked sensitive.
SENSITIVE_TAGS: Final = frozenset({"past", "family", "betrayal", "rupture", "hurt"})


@dataclass(frozen=True)
class Library:
    path: Path
    file: LibraryFile

    def count(self, *, category: str | None = None, depth: int | None = None) -> int:
        return sum(
            1
            for p in self.file.prompts
            if (category is None or p.category == category) and (depth is None or p.depth == depth)
        )


def guided(prompt: PromptFileItem) -> bool:
    return bool(prompt.listener_guidance)


def load(path: Path, report: Report) -> Library | None:
    """The library as the app reads it, or None after reporting the app's reasons."""
    raw = report.read(path)
    if raw is None:
        return None
    try:
        return Library(path, parse_library_file(raw))
    except InvalidLibraryFile as error:
        report.refused(path, error)
        return None


def check_prompt(library: Library, index: int, texts: dict[str, str], report: Report) -> None:
    path, slug, prompt = library.path, library.file.slug, library.file.prompts[index]
    at = f"#/prompts/{index}"
    if not re.fullmatch(rf"{re.escape(slug)}-\d{{3}}", prompt.key):
        report.fail(path, f"{at}/key", f"{prompt.key!r} should be '{slug}-' and three digits")
    prose.check_prose(report, path, f"{at}/text", prompt.text, prose.MAX_TEXT, punctuated=True)
    normalised = " ".join(prompt.text.lower().split())
    if normalised in texts:
        report.fail(path, f"{at}/text", f"same text as {texts[normalised]}")
    texts.setdefault(normalised, prompt.key)

    guidance = prompt.listener_guidance
    if guidance is not None:
        where = f"{at}/listener_guidance"
        prose.check_prose(report, path, where, guidance, prose.MAX_GUIDANCE, punctuated=True)
        if prose.sentences(guidance) > prose.MAX_GUIDANCE_SENTENCES:
            report.fail(path, where, f"at most {prose.MAX_GUIDANCE_SENTENCES} sentences")
    if prompt.depth == 3 and not guidance:
        report.fail(path, at, "depth-3 prompts need listener_guidance")

    report.bounds(path, f"{at}/tags", len(prompt.tags), 1, MAX_TAGS, "tags")
    for position, tag in enumerate(prompt.tags):
        if len(tag) > MAX_TAG_LENGTH:
            report.fail(path, f"{at}/tags/{position}", f"at most {MAX_TAG_LENGTH} characters")
    sensitive_tags = sorted(SENSITIVE_TAGS.intersection(prompt.tags))
    if sensitive_tags and not prompt.sensitive:
        report.fail(path, at, f"tagged {', '.join(sensitive_tags)} but not marked sensitive")
    if not prompt.stages:
        report.fail(path, f"{at}/stages", "needs at least one stage")
    elif not set(prompt.stages) & set(library.file.stages):
        report.fail(path, f"{at}/stages", "shares no stage with its library")


def check_library(library: Library, texts: dict[str, str], report: Report) -> None:
    path, data = library.path, library.file
    if data.slug != path.stem:
        report.fail(path, "#/slug", f"{data.slug!r} does not match the file name")
    prose.check_prose(report, path, "#/title", data.title, prose.MAX_TITLE, wording=False)
    prose.check_prose(
        report, path, "#/description", data.description, prose.MAX_DESCRIPTION, wording=False
    )
    expected = REQUIRED_LIBRARIES.get(data.slug)
    if not data.stages:
        report.fail(path, "#/stages", "needs at least one stage")
    elif expected is not None and sorted(data.stages) != sorted(expected):
        report.fail(path, "#/stages", f"should be {', '.join(expected)}")
    for index in range(len(data.prompts)):
        check_prompt(library, index, texts, report)
    check_mix(library, report)


def check_mix(library: Library, report: Report) -> None:
    path, prompts = library.path, library.file.prompts
    total = len(prompts)
    if total < MIN_PROMPTS_PER_LIBRARY:
        report.fail(path, "#/prompts", f"has {total} prompts (at least {MIN_PROMPTS_PER_LIBRARY})")
    if total == 0:
        return
    missing = [c.value for c in Category if not library.count(category=c)]
    missing += [f"depth-{d}" for d in DEPTHS if not library.count(depth=d)]
    missing += [k.value for k in PromptKind if k not in {p.kind for p in prompts}]
    for what in missing:
        report.fail(path, "#/prompts", f"has no {what} prompt")

    play = library.count(category="play")
    if not percent_at_least(play, total, MIN_PLAY_PERCENT):
        report.fail(path, "#/prompts", f"play is {play}/{total} (at least {MIN_PLAY_PERCENT}%)")
    repair = library.count(category="repair")
    if library.file.slug != REPAIR_LIBRARY and not percent_at_most(
        repair, total, MAX_REPAIR_PERCENT_ELSEWHERE
    ):
        report.fail(
            path,
            "#/prompts",
            f"repair is {repair}/{total}; outside {REPAIR_LIBRARY} keep it at most "
            f"{MAX_REPAIR_PERCENT_ELSEWHERE}%",
        )
    pool = [p for p in prompts if p.category in GUIDED_CATEGORIES]
    with_guidance = sum(1 for p in pool if guided(p))
    if pool and not percent_at_least(with_guidance, len(pool), MIN_GUIDED_PERCENT):
        report.fail(
            path,
            "#/prompts",
            f"only {with_guidance}/{len(pool)} listen/share/reflect/repair prompts carry "
            f"listener_guidance (at least {MIN_GUIDED_PERCENT}%)",
        )
    calm = sum(1 for p in prompts if not p.sensitive)
    if calm < MIN_NON_SENSITIVE:
        report.fail(
            path,
            "#/prompts",
            f"has only {calm} non-sensitive prompts (at least {MIN_NON_SENSITIVE})",
        )


def check_collection(directory: Path, libraries: list[Library], report: Report) -> None:
    """The rules of the collection as a whole; its totals only once every file loads."""
    present = sorted(directory.glob("*.json"))
    if len(present) < MIN_LIBRARIES:
        report.fail(directory, "#", f"has {len(present)} libraries (at least {MIN_LIBRARIES})")
    for slug in REQUIRED_LIBRARIES:
        if slug not in {path.stem for path in present}:
            report.fail(directory, "#", f"missing {slug}.json")
    if len(libraries) < len(present):
        return
    prompts = [p for library in libraries for p in library.file.prompts]
    total = len(prompts)
    if total < MIN_TOTAL_PROMPTS:
        report.fail(
            directory, "#", f"has {total} valid prompts in all (at least {MIN_TOTAL_PROMPTS})"
        )
    depths = Counter(p.depth for p in prompts)
    for depth, target in DEPTH_TARGET_PERCENT.items():
        low, high = target - DEPTH_TOLERANCE_PERCENT, target + DEPTH_TOLERANCE_PERCENT
        if total and not (
            percent_at_least(depths[depth], total, low)
            and percent_at_most(depths[depth], total, high)
        ):
            share = 100 * depths[depth] / total
            report.fail(
                directory, "#", f"depth {depth} is {share:.1f}% of all prompts (aim {low}-{high}%)"
            )

    def repair_share(library: Library) -> float:
        return library.count(category="repair") / max(1, len(library.file.prompts))

    rupture = next((lib for lib in libraries if lib.file.slug == REPAIR_LIBRARY), None)
    if rupture is None:
        return
    for library in libraries:
        if library is not rupture and repair_share(library) >= repair_share(rupture):
            report.fail(
                directory,
                "#",
                f"repair prompts should be concentrated in {REPAIR_LIBRARY}, "
                f"but {library.file.slug} has as large a share",
            )
    if not any(p.sensitive for p in rupture.file.prompts):
        report.fail(rupture.path, "#/prompts", "marks no prompt as sensitive")


def summary(libraries: list[Library]) -> list[str]:
    categories = [c.value for c in Category]
    lines = [
        f"Prompt libraries: {len(libraries)}, prompts: "
        f"{sum(len(lib.file.prompts) for lib in libraries)}",
        f"  {'library':<18}{'total':>6}  "
        + "".join(f"{c:>8}" for c in categories)
        + "".join(f"{'d' + str(d):>5}" for d in DEPTHS)
        + f"{'play%':>7}{'guided':>8}{'sensitive':>10}",
    ]
    every = [p for lib in libraries for p in lib.file.prompts]
    rows = [(lib.file.slug, lib.file.prompts) for lib in libraries] + [("all", every)]
    for name, prompts in rows:
        total = len(prompts)
        by_category = Counter(p.category.value for p in prompts)
        by_depth = Counter(p.depth for p in prompts)
        lines.append(
            f"  {name:<18}{total:>6}  "
            + "".join(f"{by_category[c]:>8}" for c in categories)
            + "".join(f"{by_depth[d]:>5}" for d in DEPTHS)
            + f"{100 * by_category['play'] / max(1, total):>6.1f}%"
            + f"{sum(1 for p in prompts if guided(p)):>8}"
            + f"{sum(1 for p in prompts if p.sensitive):>10}"
        )
    if every:
        depths = Counter(p.depth for p in every)
        mix = ", ".join(
            f"depth {d} {100 * depths[d] / len(every):.1f}% (aim {DEPTH_TARGET_PERCENT[d]}%)"
            for d in DEPTHS
        )
        lines.append(f"Depth mix: {mix}")
    return lines


def check_libraries(directory: Path, report: Report) -> list[str]:
    """Check every library file of `directory`; the summary lines of what loaded."""
    libraries = [lib for path in sorted(directory.glob("*.json")) if (lib := load(path, report))]
    texts: dict[str, str] = {}
    for library in libraries:
        check_library(library, texts, report)
    check_collection(directory, libraries, report)
    return summary(libraries)
