"""What the console's translation editor on a prompt's page shows and reads: each language's
live and draft translation, and the form that writes a draft. The pages (`console.prompts`)
make the same service calls as `PUT`, `DELETE` and `POST .../withdraw` on
`/v1/admin/prompts/{id}/translations`; the rules (another language than the prompt's, stale
drafts, locked libraries) are the services'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from app.console.forms import Form, rules_of
from app.core.languages import language_of
from app.models.prompts import PromptTranslation
from app.schemas.translations import Language, TranslationIn
from app.services import translations as service
from app.services.library_files import TRANSLATIONS_DIR
from app.services.library_prompts import PromptView


class TranslationForm(TranslationIn):
    """A console form: the language the draft is written in, with its words."""

    language: Language


TRANSLATION_RULES: Final = rules_of(TranslationForm)
STARTER_LANGUAGES: Final = sorted(p.name for p in TRANSLATIONS_DIR.iterdir() if p.is_dir())
"""The languages the starter content ships translations in: offered for a new one."""


@dataclass(frozen=True, slots=True)
class LanguageRow:
    language: str
    live: PromptTranslation | None
    draft: PromptTranslation | None

    @property
    def shown(self) -> PromptTranslation | None:
        """What the form starts from: the draft, else the live words."""
        return self.draft or self.live


async def page_context(session: AsyncSession, view: PromptView) -> dict[str, Any]:
    """What the prompt page shows of its translations."""
    current = await service.translations_of(session, view)
    languages = sorted({*current.live, *current.drafts})
    own = language_of(view.working.locale)
    return {
        "translations": [
            LanguageRow(language, current.live.get(language), current.drafts.get(language))
            for language in languages
        ],
        "new_languages": [
            language for language in STARTER_LANGUAGES if language not in {own, *languages}
        ],
        "translation_rules": TRANSLATION_RULES,
    }


def translation_fields(form: Form) -> dict[str, object]:
    """The form as the API's body plus its language: blank means not given; a typed ISO 639
    code wins over the one picked from the list."""
    typed = form.get("other_language", "").strip()
    fields: dict[str, object] = {
        name: value
        for name in ("text", "listener_guidance")
        if (value := form.get(name, "").strip())
    }
    language = typed or form.get("language", "").strip()
    if language:
        fields["language"] = language
    return fields
