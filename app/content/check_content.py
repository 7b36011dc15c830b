#!/usr/bin/env python3
"""Validate Rapport's starter content.

Checks the prompt libraries (``libraries/*.json``), the trust-repair plan templates
(``repair_templates.json``) and the two fixed vocabularies (``vocabularies/emotions.json``,
``vocabularies/needs.json``) against the content rules: formats, enums, lengths, unique
keys, coverage of the five practices and three depths, the light/deep balance, the share of
``play``, listener guidance where it is needed, and the atone -> attune -> attach order of
repair plans.

Usage, from the repository root::

    python app/content/check_content.py

It prints a summary and exits with status 1 when any rule is broken. Standard library only.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

CONTENT_DIR: Final = Path(__file__).resolve().parent
LIBRARIES_DIR: Final = CONTENT_DIR / "libraries"
TEMPLATES_FILE: Final = CONTENT_DIR / "repair_templates.json"
EMOTIONS_FILE: Final = CONTENT_DIR / "vocabularies" / "emotions.json"
NEEDS_FILE: Final = CONTENT_DIR / "vocabularies" / "needs.json"

# --- prompt libraries -------------------------------------------------------------------

CATEGORIES: Final = ("listen", "share", "play", "reflect", "repair")
DEPTHS: Final = (1, 2, 3)
KINDS: Final = ("question", "activity", "exercise")
STAGES: Final = ("new", "long_distance", "long_term")
GUIDED_CATEGORIES: Final = frozenset({"listen", "share", "reflect", "repair"})

REQUIRED_LIBRARIES: Final[Mapping[str, tuple[str, ...]]] = {
    "first-months": ("new",),
    "long-distance": ("long_distance",),
    "long-term": ("long_term",),
    "after-a-rupture": STAGES,
}
REPAIR_LIBRARY: Final = "after-a-rupture"

LIBRARY_FIELDS: Final = frozenset(
    {"slug", "title", "description", "locale", "stages", "opt_in", "prompts"}
)
PROMPT_FIELDS: Final = frozenset(
    {
        "key",
        "text",
        "category",
        "depth",
        "kind",
        "listener_guidance",
        "tags",
        "stages",
        "sensitive",
    }
)

MIN_LIBRARIES: Final = 4
MIN_TOTAL_PROMPTS: Final = 160
MIN_PROMPTS_PER_LIBRARY: Final = 35
MAX_TITLE: Final = 80
MAX_DESCRIPTION: Final = 1000
MAX_TEXT: Final = 500
MAX_GUIDANCE: Final = 300
MAX_GUIDANCE_SENTENCES: Final = 2
MAX_TAGS: Final = 6
MAX_TAG_LENGTH: Final = 24
# Fractions are compared as exact ratios (count * denominator) to avoid float edge cases.
MIN_PLAY_PERCENT: Final = 20  # per library
MAX_REPAIR_PERCENT_ELSEWHERE: Final = 20  # libraries other than after-a-rupture
MIN_GUIDED_PERCENT: Final = 75  # of listen/share/reflect/repair prompts, per library
MIN_NON_SENSITIVE: Final = 10  # per library, so the daily rotation works during a repair plan
DEPTH_TARGET_PERCENT: Final[Mapping[int, int]] = {1: 45, 2: 35, 3: 20}
DEPTH_TOLERANCE_PERCENT: Final = 5
# Prompts with these tags can reopen wounds and must be marked sensitive.
SENSITIVE_TAGS: Final = frozenset({"past", "family", "betrayal", "rupture", "hurt"})

# Words that assume a kind of relationship or family, or that sound clinical or diagnostic.
# Applied to prompts, listener guidance and repair-template steps and agreements.
AVOIDED_WORDS: Final = re.compile(
    r"\b(husbands?|wife|wives|boyfriends?|girlfriends?|spouses?|married|marriages?|"
    r"weddings?|kids|children|sex|sexual|sexy|diagnos\w*|disorders?|narcissis\w*|"
    r"trauma\w*|codependen\w*|patholog\w*|toxic|symptoms?)\b",
    re.IGNORECASE,
)

SLUG_RE: Final = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LOCALE_RE: Final = re.compile(r"^[a-z]{2,3}(?:-[A-Z]{2})?$")
SENTENCE_END_RE: Final = re.compile(r"[.!?](?=\s+[A-Z(']|$)")
TERMINAL_CHARS: Final = (".", "?", "!", "\u2026", "'", ")")

# --- repair templates -------------------------------------------------------------------

TEMPLATE_FIELDS: Final = frozenset({"slug", "title", "description", "roles", "phases"})
PHASE_FIELDS: Final = frozenset({"key", "title", "description", "steps", "agreements"})
STEP_FIELDS: Final = frozenset({"title", "description", "owner"})
PHASE_ORDER: Final = ("atone", "attune", "attach")
ROLE_SETS: Final[Mapping[tuple[str, ...], frozenset[str]]] = {
    ("hurt", "involved"): frozenset({"hurt", "involved", "both"}),
    ("mutual",): frozenset({"both"}),
}
REQUIRED_TEMPLATES: Final = (
    "after-a-broken-promise",
    "after-secrecy-or-betrayal",
    "after-hurtful-words",
)
MIN_TEMPLATES: Final = 3
STEPS_PER_PHASE: Final = (3, 5)
AGREEMENTS_PER_PHASE: Final = (1, 3)
MAX_AGREEMENT: Final = 300
THERAPIST_RE: Final = re.compile(r"\btherapist\b", re.IGNORECASE)

# --- vocabularies -----------------------------------------------------------------------

VALENCES: Final = frozenset({"positive", "negative", "mixed"})
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
MAX_LABEL: Final = 40
MAX_NEED_DESCRIPTION: Final = 140
VOCAB_PART: Final = r"[a-z]+(?:_[a-z]+)*"
VOCAB_GROUP_RE: Final = re.compile(rf"^{VOCAB_PART}$")
VOCAB_KEY_RE: Final = re.compile(rf"^({VOCAB_PART})\.({VOCAB_PART})$")


JSONObject = dict[str, object]


@dataclass
class Report:
    """Collects problems; nothing raises, so one run shows everything that is wrong."""

    problems: list[str] = field(default_factory=list)

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")


class Obj:
    """A JSON object with typed accessors that report problems instead of raising."""

    def __init__(self, data: JSONObject, where: str, report: Report) -> None:
        self.data = data
        self.where = where
        self.report = report

    def fail(self, message: str) -> None:
        self.report.fail(self.where, message)

    def expect_fields(self, expected: frozenset[str]) -> None:
        missing = sorted(expected - self.data.keys())
        unknown = sorted(self.data.keys() - expected)
        if missing:
            self.fail(f"missing field(s) {', '.join(missing)}")
        if unknown:
            self.fail(f"unknown field(s) {', '.join(unknown)}")

    def text(self, name: str, max_len: int, *, nullable: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{name} must be a non-empty string")
            return None
        check_prose(value, f"{self.where} {name}", max_len, self.report)
        return value

    def identifier(self, name: str, pattern: re.Pattern[str]) -> str | None:
        value = self.data.get(name)
        if not isinstance(value, str) or not pattern.fullmatch(value):
            self.fail(f"{name} {value!r} does not match {pattern.pattern}")
            return None
        return value

    def choice(self, name: str, allowed: Iterable[str]) -> str | None:
        options = tuple(allowed)
        value = self.data.get(name)
        if not isinstance(value, str) or value not in options:
            self.fail(f"{name} {value!r} is not one of {', '.join(options)}")
            return None
        return value

    def integer(self, name: str, allowed: Iterable[int]) -> int | None:
        options = tuple(allowed)
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value not in options:
            self.fail(f"{name} {value!r} is not one of {', '.join(map(str, options))}")
            return None
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.data.get(name)
        if not isinstance(value, bool):
            self.fail(f"{name} must be true or false")
            return None
        return value

    def array(self, name: str) -> list[object]:
        value = self.data.get(name)
        if not isinstance(value, list):
            self.fail(f"{name} must be a list")
            return []
        return list(value)

    def strings(self, name: str) -> list[str]:
        items = self.array(name)
        result = [item for item in items if isinstance(item, str)]
        if len(result) != len(items):
            self.fail(f"{name} must contain only strings")
        if len(set(result)) != len(result):
            self.fail(f"{name} contains duplicates")
        return result


def as_obj(value: object, where: str, report: Report) -> Obj | None:
    if not isinstance(value, dict):
        report.fail(where, "must be a JSON object")
        return None
    return Obj({str(key): item for key, item in value.items()}, where, report)


def display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_json(path: Path, report: Report) -> object | None:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        report.fail(display(path), f"cannot read file ({exc.strerror})")
        return None
    try:
        data: object = json.loads(raw)
    except json.JSONDecodeError as exc:
        report.fail(display(path), f"invalid JSON at line {exc.lineno}: {exc.msg}")
        return None
    return data


def load_obj(path: Path, report: Report) -> Obj | None:
    data = load_json(path, report)
    return None if data is None else as_obj(data, display(path), report)


def check_prose(value: str, where: str, max_len: int, report: Report) -> None:
    if len(value) > max_len:
        report.fail(where, f"is {len(value)} characters long (at most {max_len})")
    if value != value.strip() or "  " in value or "\n" in value:
        report.fail(where, "has stray whitespace")


def check_wording(value: str, where: str, report: Report) -> None:
    match = AVOIDED_WORDS.search(value)
    if match:
        report.fail(where, f"uses {match.group(0)!r}; keep wording inclusive and non-clinical")


def count_sentences(value: str) -> int:
    return max(1, len(SENTENCE_END_RE.findall(value)))


def percent_at_least(count: int, total: int, percent: int) -> bool:
    return count * 100 >= total * percent


def percent_at_most(count: int, total: int, percent: int) -> bool:
    return count * 100 <= total * percent


def check_bounds(count: int, bounds: tuple[int, int], what: str, where: str, r: Report) -> None:
    low, high = bounds
    if not low <= count <= high:
        r.fail(where, f"has {count} {what} (expected {low} to {high})")


# --- prompt libraries -------------------------------------------------------------------


@dataclass(frozen=True)
class PromptInfo:
    key: str
    category: str
    depth: int
    kind: str
    guided: bool
    sensitive: bool


@dataclass
class LibraryInfo:
    slug: str
    prompts: list[PromptInfo] = field(default_factory=list)

    def count(self, *, category: str | None = None, depth: int | None = None) -> int:
        return sum(
            1
            for p in self.prompts
            if (category is None or p.category == category) and (depth is None or p.depth == depth)
        )


@dataclass
class Registry:
    """Keys and texts seen so far, to enforce uniqueness across files."""

    prompt_keys: dict[str, str] = field(default_factory=dict)
    prompt_texts: dict[str, str] = field(default_factory=dict)


def prompt_key(prompt: Obj, slug: str) -> str | None:
    """A prompt key is its library's slug and a 3-digit number, so it is unique across files."""
    value = prompt.data.get("key")
    if not isinstance(value, str) or not re.fullmatch(rf"{re.escape(slug)}-\d{{3}}", value):
        prompt.fail(f"key {value!r} should be '{slug}-' and three digits")
        return None
    return value


def check_prompt(
    value: object,
    where: str,
    slug: str,
    library_stages: list[str],
    registry: Registry,
    report: Report,
) -> PromptInfo | None:
    prompt = as_obj(value, where, report)
    if prompt is None:
        return None
    prompt.expect_fields(PROMPT_FIELDS)
    key = prompt_key(prompt, slug)
    if key is not None:
        prompt.where = where = f"{where} ({key})"
        if key in registry.prompt_keys:
            prompt.fail(f"key already used in {registry.prompt_keys[key]}")
        registry.prompt_keys[key] = slug

    text = prompt.text("text", MAX_TEXT)
    if text is not None:
        check_wording(text, f"{where} text", report)
        if not text.endswith(TERMINAL_CHARS):
            prompt.fail("text should end with punctuation")
        normalised = " ".join(text.lower().split())
        if normalised in registry.prompt_texts:
            prompt.fail(f"same text as {registry.prompt_texts[normalised]}")
        registry.prompt_texts[normalised] = key or where

    category = prompt.choice("category", CATEGORIES)
    depth = prompt.integer("depth", DEPTHS)
    kind = prompt.choice("kind", KINDS)
    sensitive = prompt.boolean("sensitive")

    guidance = prompt.text("listener_guidance", MAX_GUIDANCE, nullable=True)
    if guidance is not None:
        check_wording(guidance, f"{where} listener_guidance", report)
        if not guidance.endswith(TERMINAL_CHARS):
            prompt.fail("listener_guidance should end with punctuation")
        if count_sentences(guidance) > MAX_GUIDANCE_SENTENCES:
            prompt.fail(f"listener_guidance should be at most {MAX_GUIDANCE_SENTENCES} sentences")
    if depth == 3 and guidance is None:
        prompt.fail("depth-3 prompts need listener_guidance")

    tags = prompt.strings("tags")
    if not 1 <= len(tags) <= MAX_TAGS:
        prompt.fail(f"needs 1 to {MAX_TAGS} tags")
    for tag in tags:
        if not SLUG_RE.fullmatch(tag) or len(tag) > MAX_TAG_LENGTH:
            prompt.fail(f"tag {tag!r} must be a short lowercase word (a-z, 0-9, hyphens)")
    sensitive_tags = sorted(SENSITIVE_TAGS.intersection(tags))
    if sensitive_tags and sensitive is False:
        prompt.fail(f"tagged {', '.join(sensitive_tags)} but not marked sensitive")

    stages = prompt.strings("stages")
    if not stages:
        prompt.fail("needs at least one stage")
    for stage in stages:
        if stage not in STAGES:
            prompt.fail(f"stage {stage!r} is not one of {', '.join(STAGES)}")
    if stages and not set(stages) & set(library_stages):
        prompt.fail("shares no stage with its library")

    if key is None or category is None or depth is None or kind is None or sensitive is None:
        return None
    return PromptInfo(key, category, depth, kind, guidance is not None, sensitive)


def check_library(path: Path, registry: Registry, report: Report) -> LibraryInfo | None:
    where = display(path)
    library = load_obj(path, report)
    if library is None:
        return None
    library.expect_fields(LIBRARY_FIELDS)
    slug = library.identifier("slug", SLUG_RE)
    if slug is None:
        return None
    if slug != path.stem:
        library.fail(f"slug {slug!r} does not match the file name")
    library.text("title", MAX_TITLE)
    library.text("description", MAX_DESCRIPTION)
    library.identifier("locale", LOCALE_RE)

    stages = library.strings("stages")
    if not stages:
        library.fail("needs at least one stage")
    for stage in stages:
        if stage not in STAGES:
            library.fail(f"stage {stage!r} is not one of {', '.join(STAGES)}")
    expected = REQUIRED_LIBRARIES.get(slug)
    if expected is not None and sorted(stages) != sorted(expected):
        library.fail(f"stages should be {', '.join(expected)}")

    info = LibraryInfo(slug)
    for index, value in enumerate(library.array("prompts")):
        prompt = check_prompt(value, f"{where} prompt #{index + 1}", slug, stages, registry, report)
        if prompt is not None:
            info.prompts.append(prompt)
    check_library_mix(info, where, report)
    return info


def check_library_mix(info: LibraryInfo, where: str, report: Report) -> None:
    total = len(info.prompts)
    if total < MIN_PROMPTS_PER_LIBRARY:
        report.fail(where, f"has {total} valid prompts (at least {MIN_PROMPTS_PER_LIBRARY})")
    if total == 0:
        return
    for category in CATEGORIES:
        if info.count(category=category) == 0:
            report.fail(where, f"has no {category!r} prompt")
    for depth in DEPTHS:
        if info.count(depth=depth) == 0:
            report.fail(where, f"has no depth-{depth} prompt")
    kinds = {p.kind for p in info.prompts}
    for kind in KINDS:
        if kind not in kinds:
            report.fail(where, f"has no {kind!r} prompt")

    play = info.count(category="play")
    if not percent_at_least(play, total, MIN_PLAY_PERCENT):
        report.fail(where, f"play is {play}/{total}; it should be at least {MIN_PLAY_PERCENT}%")
    repair = info.count(category="repair")
    if info.slug != REPAIR_LIBRARY and not percent_at_most(
        repair, total, MAX_REPAIR_PERCENT_ELSEWHERE
    ):
        report.fail(
            where,
            f"repair is {repair}/{total}; outside {REPAIR_LIBRARY} keep it at most "
            f"{MAX_REPAIR_PERCENT_ELSEWHERE}%",
        )

    guided_pool = [p for p in info.prompts if p.category in GUIDED_CATEGORIES]
    guided = sum(1 for p in guided_pool if p.guided)
    if guided_pool and not percent_at_least(guided, len(guided_pool), MIN_GUIDED_PERCENT):
        report.fail(
            where,
            f"only {guided}/{len(guided_pool)} listen/share/reflect/repair prompts carry "
            f"listener_guidance (at least {MIN_GUIDED_PERCENT}%)",
        )
    calm = sum(1 for p in info.prompts if not p.sensitive)
    if calm < MIN_NON_SENSITIVE:
        report.fail(where, f"has only {calm} non-sensitive prompts (at least {MIN_NON_SENSITIVE})")


def check_libraries(report: Report) -> list[LibraryInfo]:
    paths = sorted(LIBRARIES_DIR.glob("*.json"))
    registry = Registry()
    libraries = [
        info for path in paths if (info := check_library(path, registry, report)) is not None
    ]
    where = display(LIBRARIES_DIR)
    if len(paths) < MIN_LIBRARIES:
        report.fail(where, f"has {len(paths)} libraries (at least {MIN_LIBRARIES})")
    present = {path.stem for path in paths}
    for slug in REQUIRED_LIBRARIES:
        if slug not in present:
            report.fail(where, f"missing {slug}.json")

    prompts = [p for info in libraries for p in info.prompts]
    total = len(prompts)
    if total < MIN_TOTAL_PROMPTS:
        report.fail(where, f"has {total} valid prompts in all (at least {MIN_TOTAL_PROMPTS})")
    if total:
        depths = Counter(p.depth for p in prompts)
        for depth, target in DEPTH_TARGET_PERCENT.items():
            low = target - DEPTH_TOLERANCE_PERCENT
            high = target + DEPTH_TOLERANCE_PERCENT
            if not (
                percent_at_least(depths[depth], total, low)
                and percent_at_most(depths[depth], total, high)
            ):
                share = 100 * depths[depth] / total
                report.fail(
                    where, f"depth {depth} is {share:.1f}% of all prompts (aim {low}-{high}%)"
                )

    def repair_share(info: LibraryInfo) -> float:
        return info.count(category="repair") / max(1, len(info.prompts))

    rupture = next((info for info in libraries if info.slug == REPAIR_LIBRARY), None)
    if rupture is not None:
        for info in libraries:
            if info is not rupture and repair_share(info) >= repair_share(rupture):
                report.fail(
                    where,
                    f"repair prompts should be concentrated in {REPAIR_LIBRARY}, "
                    f"but {info.slug} has as large a share",
                )
        if not any(p.sensitive for p in rupture.prompts):
            report.fail(where, f"{REPAIR_LIBRARY} marks no prompt as sensitive")
    return libraries


# --- repair templates -------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateInfo:
    slug: str
    roles: tuple[str, ...]
    steps: int
    agreements: int


def check_phase(
    value: object, where: str, owners: frozenset[str], report: Report
) -> tuple[str | None, list[str], int]:
    """Validate one phase; return its key, the owners of its steps and its agreement count."""
    phase = as_obj(value, where, report)
    if phase is None:
        return None, [], 0
    phase.expect_fields(PHASE_FIELDS)
    key = phase.choice("key", PHASE_ORDER)
    if key is not None:
        phase.where = where = f"{where} ({key})"
    phase.text("title", MAX_TITLE)
    description = phase.text("description", MAX_DESCRIPTION)
    if description is not None:
        check_wording(description, f"{where} description", report)

    steps = phase.array("steps")
    check_bounds(len(steps), STEPS_PER_PHASE, "steps", where, report)
    step_owners: list[str] = []
    for index, item in enumerate(steps):
        step = as_obj(item, f"{where} step #{index + 1}", report)
        if step is None:
            continue
        step.expect_fields(STEP_FIELDS)
        step.text("title", MAX_TITLE)
        text = step.text("description", MAX_TEXT)
        if text is not None:
            check_wording(text, f"{step.where} description", report)
        owner = step.choice("owner", sorted(owners))
        if owner is not None:
            step_owners.append(owner)

    agreements = phase.strings("agreements")
    check_bounds(len(agreements), AGREEMENTS_PER_PHASE, "agreements", where, report)
    for index, agreement in enumerate(agreements):
        spot = f"{where} agreement #{index + 1}"
        if not agreement.strip():
            report.fail(spot, "is empty")
            continue
        check_prose(agreement, spot, MAX_AGREEMENT, report)
        check_wording(agreement, spot, report)
    return key, step_owners, len(agreements)


def check_template(value: object, where: str, report: Report) -> TemplateInfo | None:
    template = as_obj(value, where, report)
    if template is None:
        return None
    template.expect_fields(TEMPLATE_FIELDS)
    slug = template.identifier("slug", SLUG_RE)
    if slug is not None:
        template.where = where = f"{where} ({slug})"
    template.text("title", MAX_TITLE)
    description = template.text("description", MAX_DESCRIPTION)
    if description is not None:
        check_wording(description, f"{where} description", report)
        if not THERAPIST_RE.search(description):
            template.fail("description should gently mention that a couples therapist can help")

    roles = tuple(template.strings("roles"))
    owners = ROLE_SETS.get(roles)
    if owners is None:
        options = " or ".join(json.dumps(list(r)) for r in ROLE_SETS)
        template.fail(f"roles {list(roles)} should be {options}")
        owners = frozenset({"hurt", "involved", "both"})

    phases = template.array("phases")
    keys: list[str | None] = []
    all_owners: list[str] = []
    steps = agreements = 0
    for index, item in enumerate(phases):
        key, step_owners, agreement_count = check_phase(
            item, f"{where} phase #{index + 1}", owners, report
        )
        keys.append(key)
        all_owners.extend(step_owners)
        steps += len(step_owners)
        agreements += agreement_count
        if key == "atone" and roles == ("hurt", "involved") and "involved" not in step_owners:
            template.fail("in atone, the involved partner should own at least one step")
    if tuple(keys) != PHASE_ORDER:
        shown = ", ".join(str(k) for k in keys)
        template.fail(f"phases are [{shown}]; they must be {' -> '.join(PHASE_ORDER)}")
    for role in roles:
        if role != "mutual" and role not in all_owners:
            template.fail(f"no step is owned by the {role!r} partner")
    if slug is None:
        return None
    return TemplateInfo(slug, roles, steps, agreements)


def check_templates(report: Report) -> list[TemplateInfo]:
    where = display(TEMPLATES_FILE)
    data = load_json(TEMPLATES_FILE, report)
    if data is None:
        return []
    if not isinstance(data, list):
        report.fail(where, "must be a JSON list of templates")
        return []
    templates = [
        info
        for index, item in enumerate(data)
        if (info := check_template(item, f"{where} template #{index + 1}", report)) is not None
    ]
    if len(data) < MIN_TEMPLATES:
        report.fail(where, f"has {len(data)} templates (at least {MIN_TEMPLATES})")
    slugs = Counter(t.slug for t in templates)
    for slug, seen in slugs.items():
        if seen > 1:
            report.fail(where, f"slug {slug!r} is used {seen} times")
    for slug in REQUIRED_TEMPLATES:
        if slug not in slugs:
            report.fail(where, f"missing the {slug!r} template")
    return templates


# --- vocabularies -----------------------------------------------------------------------


def check_vocab_entry(
    entry: Obj, group: str, seen_keys: set[str], seen_labels: set[str]
) -> str | None:
    """Check an entry's `group.item` key and label for format and uniqueness."""
    key = entry.identifier("key", VOCAB_KEY_RE)
    if key is not None:
        entry.where = f"{entry.where} ({key})"
        if key.split(".", 1)[0] != group:
            entry.fail(f"key should start with {group!r}.")
        if key in seen_keys:
            entry.fail("duplicate key")
        seen_keys.add(key)
    label = entry.text("label", MAX_LABEL)
    if label is not None:
        if label.lower() in seen_labels:
            entry.fail(f"duplicate label {label!r}")
        seen_labels.add(label.lower())
    return key


def open_vocabulary(path: Path, list_field: str, report: Report) -> list[object] | None:
    vocab = load_obj(path, report)
    if vocab is None:
        return None
    vocab.expect_fields(frozenset({"version", list_field}))
    version = vocab.data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        vocab.fail("version must be a positive integer")
    return vocab.array(list_field)


def check_emotions(report: Report) -> tuple[int, int]:
    where = display(EMOTIONS_FILE)
    families = open_vocabulary(EMOTIONS_FILE, "families", report)
    if families is None:
        return 0, 0
    seen_groups: list[str] = []
    seen_keys: set[str] = set()
    seen_labels: set[str] = set()
    for index, item in enumerate(families):
        family = as_obj(item, f"{where} family #{index + 1}", report)
        if family is None:
            continue
        family.expect_fields(frozenset({"key", "label", "valence", "terms"}))
        group = family.choice("key", EMOTION_FAMILIES)
        if group is None:
            continue
        family.where = f"{family.where} ({group})"
        seen_groups.append(group)
        family.text("label", MAX_LABEL)
        valence = family.choice("valence", sorted(VALENCES))
        if valence is not None and valence != EMOTION_FAMILIES[group]:
            family.fail(f"valence should be {EMOTION_FAMILIES[group]!r}")
        terms = family.array("terms")
        check_bounds(len(terms), TERMS_PER_FAMILY, "terms", family.where, report)
        for position, value in enumerate(terms):
            term = as_obj(value, f"{family.where} term #{position + 1}", report)
            if term is None:
                continue
            term.expect_fields(frozenset({"key", "label", "valence"}))
            check_vocab_entry(term, group, seen_keys, seen_labels)
            term.choice("valence", sorted(VALENCES))
    for group, seen in Counter(seen_groups).items():
        if seen > 1:
            report.fail(where, f"family {group!r} appears {seen} times")
    for group in EMOTION_FAMILIES:
        if group not in seen_groups:
            report.fail(where, f"missing the {group!r} family")
    return len(seen_groups), len(seen_keys)


def check_needs(report: Report) -> tuple[int, int]:
    where = display(NEEDS_FILE)
    categories = open_vocabulary(NEEDS_FILE, "categories", report)
    if categories is None:
        return 0, 0
    seen_groups: list[str] = []
    seen_keys: set[str] = set()
    seen_labels: set[str] = set()
    for index, item in enumerate(categories):
        category = as_obj(item, f"{where} category #{index + 1}", report)
        if category is None:
            continue
        category.expect_fields(frozenset({"key", "label", "needs"}))
        group = category.choice("key", NEED_CATEGORIES)
        if group is None or not VOCAB_GROUP_RE.fullmatch(group):
            continue
        category.where = f"{category.where} ({group})"
        seen_groups.append(group)
        category.text("label", MAX_LABEL)
        needs = category.array("needs")
        check_bounds(len(needs), NEEDS_PER_CATEGORY, "needs", category.where, report)
        for position, value in enumerate(needs):
            need = as_obj(value, f"{category.where} need #{position + 1}", report)
            if need is None:
                continue
            need.expect_fields(frozenset({"key", "label", "description"}))
            check_vocab_entry(need, group, seen_keys, seen_labels)
            description = need.text("description", MAX_NEED_DESCRIPTION)
            if description is not None:
                check_wording(description, f"{need.where} description", report)
                if not description.endswith("."):
                    need.fail("description should be a sentence ending with a full stop")
    for group, seen in Counter(seen_groups).items():
        if seen > 1:
            report.fail(where, f"category {group!r} appears {seen} times")
    for group in NEED_CATEGORIES:
        if group not in seen_groups:
            report.fail(where, f"missing the {group!r} category")
    return len(seen_groups), len(seen_keys)


# --- summary ----------------------------------------------------------------------------


def library_table(libraries: list[LibraryInfo]) -> list[str]:
    header = (
        f"  {'library':<18}{'total':>6}  "
        + "".join(f"{c:>8}" for c in CATEGORIES)
        + "".join(f"{'d' + str(d):>5}" for d in DEPTHS)
        + f"{'play%':>7}{'guided':>8}{'sensitive':>10}"
    )
    lines = [header]
    rows = [*libraries, LibraryInfo("all", [p for info in libraries for p in info.prompts])]
    for info in rows:
        total = len(info.prompts)
        play = 100 * info.count(category="play") / max(1, total)
        guided = sum(1 for p in info.prompts if p.guided)
        sensitive = sum(1 for p in info.prompts if p.sensitive)
        lines.append(
            f"  {info.slug:<18}{total:>6}  "
            + "".join(f"{info.count(category=c):>8}" for c in CATEGORIES)
            + "".join(f"{info.count(depth=d):>5}" for d in DEPTHS)
            + f"{play:>6.1f}%{guided:>8}{sensitive:>10}"
        )
    return lines


def main() -> int:
    report = Report()
    libraries = check_libraries(report)
    templates = check_templates(report)
    families, terms = check_emotions(report)
    categories, needs = check_needs(report)

    prompts = [p for info in libraries for p in info.prompts]
    total = len(prompts)
    depths = Counter(p.depth for p in prompts)
    print("Rapport content check")
    print(f"Prompt libraries: {len(libraries)}, prompts: {total}")
    for line in library_table(libraries):
        print(line)
    if total:
        mix = ", ".join(
            f"depth {d} {100 * depths[d] / total:.1f}% (aim {DEPTH_TARGET_PERCENT[d]}%)"
            for d in DEPTHS
        )
        print(f"Depth mix: {mix}")
    print(f"Repair templates: {len(templates)}")
    for template in templates:
        print(
            f"  {template.slug:<28} roles {'/'.join(template.roles):<14}"
            f" phases {' -> '.join(PHASE_ORDER)}, {template.steps} steps,"
            f" {template.agreements} agreements"
        )
    print(f"Emotions: {families} families, {terms} terms")
    print(f"Needs: {categories} categories, {needs} needs")

    if report.problems:
        print(f"\nFAILED: {len(report.problems)} problem(s)")
        for problem in report.problems:
            print(f"  - {problem}")
        return 1
    print("\nOK: all content rules pass.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
