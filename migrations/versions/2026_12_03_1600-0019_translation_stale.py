"""Stale and withdrawn translations: a draft translation of words that changed since it was
written, and a live one the library's next publication takes down.

Revision ID: 0019_translation_stale
Revises: 0018_weekly_ritual
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_translation_stale"
down_revision: str | None = "0018_weekly_ritual"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for name in ("stale", "withdrawing"):
        op.add_column(
            "prompt_translations",
            sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false()),
        )


def downgrade() -> None:
    with op.batch_alter_table("prompt_translations") as batch:
        batch.drop_column("withdrawing")
        batch.drop_column("stale")
