"""Mails rendered from templates in English, German and Spanish.

Each template is `templates/<name>.<language>.txt`: the subject on the first line, a blank
line, then the body. A mail carries a link and nothing a person wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

LANGUAGES = ("en", "de", "es")
DEFAULT_LANGUAGE = "en"

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=False,  # noqa: S701 - plain-text mails, never HTML
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    body: str
    language: str


def language_for(locale: str | None) -> str:
    """The first language of a BCP 47 tag (or an Accept-Language list) that we write in."""
    for part in (locale or "").replace("_", "-").split(","):
        language = part.split(";")[0].strip().split("-")[0].lower()
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


def render_email(name: str, locale: str | None, **context: Any) -> RenderedEmail:
    language = language_for(locale)
    text = _templates.get_template(f"{name}.{language}.txt").render(**context)
    subject, _, body = text.partition("\n\n")
    return RenderedEmail(subject=subject.strip(), body=body.lstrip("\n"), language=language)
