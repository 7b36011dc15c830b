"""The house style of the starter content's wording: inclusive, non-clinical, short.

The app accepts longer text (its limits are the API's); the starter collection keeps to the
tighter lengths here so it reads well on a phone.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from app.content.checks.report import Report

MAX_TITLE: Final = 80
MAX_DESCRIPTION: Final = 1000
MAX_TEXT: Final = 500
MAX_GUIDANCE: Final = 300
MAX_GUIDANCE_SENTENCES: Final = 2
MAX_AGREEMENT: Final = 300
MAX_LABEL: Final = 40
MAX_NEED_DESCRIPTION: Final = 140

# Words that assume a kind of relationship or family, or that sound clinical or diagnostic.
AVOIDED_WORDS: Final = re.compile(
    r"\b(husbands?|wife|wives|boyfriends?|girlfriends?|spouses?|married|marriages?|"
    r"weddings?|kids|children|sex|sexual|sexy|diagnos\w*|disorders?|narcissis\w*|"
    r"trauma\w*|codependen\w*|patholog\w*|toxic|symptoms?)\b",
    re.IGNORECASE,
)
THERAPIST: Final = re.compile(r"\btherapist\b", re.IGNORECASE)
SENTENCE_END: Final = re.compile(r"[.!?](?=\s+[A-Z(']|$)")
TERMINAL_CHARS: Final = (".", "?", "!", "\u2026", "'", ")")


def sentences(value: str) -> int:
    return max(1, len(SENTENCE_END.findall(value)))


def check_prose(
    report: Report,
    path: Path,
    pointer: str,
    value: str,
    max_len: int,
    *,
    punctuated: bool = False,
    wording: bool = True,
) -> None:
    """Present, within the house length, on one line, and (unless `wording` is off: titles,
    and library descriptions that say "married or not" on purpose) inclusive."""
    if not value:
        report.fail(path, pointer, "must not be empty")
        return
    if len(value) > max_len:
        report.fail(path, pointer, f"is {len(value)} characters long (at most {max_len})")
    if value != value.strip() or "  " in value or "\n" in value:
        report.fail(path, pointer, "has stray whitespace")
    if punctuated and not value.endswith(TERMINAL_CHARS):
        report.fail(path, pointer, "should end with punctuation")
    match = AVOIDED_WORDS.search(value) if wording else None
    if match:
        report.fail(
            path, pointer, f"uses {match.group(0)!r}; keep wording inclusive and non-clinical"
        )
