"""The fixed vocabularies of emotions and needs: public, cacheable, the same for everyone."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.core.etag import resource_response
from app.core.languages import Preferences
from app.routers.languages import AcceptLanguage, localized
from app.schemas.vocabularies import EmotionVocabulary, NeedVocabulary
from app.services import vocabularies as service

router = APIRouter(prefix="/v1/vocabularies", tags=["vocabularies"])
# The files change only with a release; an hour of caching spares every app a round trip,
# and the ETag makes the revalidation after it cheap.
CACHE_HEADERS = {"Cache-Control": "public, max-age=3600"}


@router.get("/emotions", summary="List the emotions vocabulary", response_model=EmotionVocabulary)
async def vocabularies_get_emotions(
    request: Request, accept_language: AcceptLanguage = None
) -> Response:
    """Emotions grouped in families (mad, sad, scared, joyful, powerful, peaceful), labelled
    in your language. Check-ins and journal entries name emotions by `key`. No token needed."""
    vocabulary = service.emotions_for(Preferences.of(accept_language))
    headers = {**CACHE_HEADERS, **localized([vocabulary.locale])}
    return resource_response(request, vocabulary, headers=headers)


@router.get("/needs", summary="List the needs vocabulary", response_model=NeedVocabulary)
async def vocabularies_get_needs(
    request: Request, accept_language: AcceptLanguage = None
) -> Response:
    """Needs grouped in categories, each with a short description to help name it, in your
    language. Check-ins name needs by `key`. No token needed."""
    vocabulary = service.needs_for(Preferences.of(accept_language))
    headers = {**CACHE_HEADERS, **localized([vocabulary.locale])}
    return resource_response(request, vocabulary, headers=headers)
