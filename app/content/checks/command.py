"""Run every content check on a content directory and print what it found."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from app.content import CONTENT_DIR
from app.content.checks.libraries import check_libraries
from app.content.checks.report import Report
from app.content.checks.templates import check_templates
from app.content.checks.vocabularies import check_vocabularies

OK_LINE = "OK: all content rules pass."


def check_content(directory: Path = CONTENT_DIR) -> Report:
    """Check the libraries, templates and vocabularies under `directory`, all of them even
    when some fail."""
    report = Report()
    report.summary.extend(check_libraries(directory / "libraries", report))
    report.summary.extend(check_templates(directory / "repair_templates.json", report))
    report.summary.extend(check_vocabularies(directory / "vocabularies", report))
    return report


def render(report: Report) -> list[str]:
    lines = ["Rapport content check", *report.summary, ""]
    if report.ok:
        return [*lines, OK_LINE]
    lines.append(f"FAILED: {len(report.problems)} problem(s)")
    lines.extend(f"  - {problem}" for problem in report.problems)
    lines.append("[app]: refused by the app's own validation (import and seed refuse it too);")
    lines.append("[editorial]: a rule of the starter collection (app/content/checks).")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.content.checks", description="Check Rapport's starter content."
    )
    parser.add_argument(
        "content_dir", nargs="?", type=Path, default=CONTENT_DIR, help="default: app/content"
    )
    directory: Path = parser.parse_args(argv).content_dir
    if not directory.is_dir():
        parser.error(f"{directory} is not a directory")
    report = check_content(directory)
    print("\n".join(render(report)))
    return 0 if report.ok else 1
