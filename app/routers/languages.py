"""Content negotiation by language: the `Accept-Language` request header and the
`Content-Language` / `Vary` answer (declared in the schema wherever a route uses them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import Header

AcceptLanguage = Annotated[
    str | None,
    Header(
        alias="Accept-Language",
        description="The languages you read, most wanted first (RFC 9110 §12.5.4), e.g. "
        "`de-CH, de;q=0.9, en;q=0.5`. Texts come in the first one they exist in, else in the "
        "content's own language, marked `fallback`; without the header, your profile's "
        "`locale` decides.",
    ),
]


def localized(languages: Iterable[str]) -> dict[str, str]:
    """`Content-Language` naming the languages of the texts sent, and `Vary`."""
    headers = {"Vary": "Accept-Language"}
    # A plain string constant: the schema declares the headers of routes that use it.
    headers["Content-Language"] = ", ".join(sorted(set(languages))) or "en"
    return headers
