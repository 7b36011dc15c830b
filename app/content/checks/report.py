"""What a content check finds: each problem with its file, a JSON pointer and its rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from app.core.problems import UnprocessableContent


class Rule(StrEnum):
    app = "app"
    """The app's own validation refused the file: import and seed refuse it too."""
    editorial = "editorial"
    """A rule of the starter collection that the app does not need to load it."""


@dataclass(frozen=True)
class Problem:
    file: str
    pointer: str
    message: str
    rule: Rule

    def __str__(self) -> str:
        return f"[{self.rule}] {self.file} {self.pointer}: {self.message}"


def display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass
class Report:
    """Collects problems; nothing raises, so one run shows everything that is wrong."""

    problems: list[Problem] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, path: Path, pointer: str, message: str) -> None:
        """An editorial rule is broken at `pointer` in `path`."""
        self.problems.append(Problem(display(path), pointer, message, Rule.editorial))

    def read(self, path: Path) -> bytes | None:
        """The file's bytes, or None after reporting why it cannot be read."""
        try:
            return path.read_bytes()
        except OSError as error:
            self.fail(path, "#", f"cannot be read ({error.strerror})")
            return None

    def refused(self, path: Path, error: UnprocessableContent) -> None:
        """The app's loader refused `path`: one problem per field error it names."""
        errors = error.extra.get("errors") or [{"pointer": "#", "detail": str(error)}]
        for item in errors:
            self.problems.append(
                Problem(display(path), item.get("pointer") or "#", item["detail"], Rule.app)
            )

    def bounds(self, path: Path, pointer: str, count: int, low: int, high: int, what: str) -> None:
        if not low <= count <= high:
            self.fail(path, pointer, f"has {count} {what} (expected {low} to {high})")


def percent_at_least(count: int, total: int, percent: int) -> bool:
    """Exact ratios (count * 100 against total * percent), so no float edge cases."""
    return count * 100 >= total * percent


def percent_at_most(count: int, total: int, percent: int) -> bool:
    return count * 100 <= total * percent
