"""The request and view shapes every kind of curated content starts from: each kind adds
its own fields after these (the order the published schema lists them in)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict

from app.schemas.common import Locale
from app.schemas.curation import Description, Input, Title


class CuratedUpdate(Input):
    """The details every kind shares in a change request; null means unchanged."""

    title: Title | None = None
    description: Description | None = None
    locale: Locale | None = None


class CuratedOut(BaseModel):
    # No docstring: a subclass's schema description is its own.
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    title: str
    description: str
    locale: str
