"""Translations: prompt versions' wording in other languages, and the details (a
template's phases included) of libraries and repair templates.

Revision ID: 0015_translations
Revises: 0014_accounts
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0015_translations"
down_revision: str | None = "0014_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CURATED = (
    "prompt_libraries",
    "prompt_library_versions",
    "repair_templates",
    "repair_template_versions",
)


def upgrade() -> None:
    for table in _CURATED:
        op.add_column(
            table, sa.Column("translations", sa.JSON(), nullable=False, server_default="{}")
        )
    op.create_table(
        "prompt_translations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "prompt_version_id",
            sa.Uuid(),
            sa.ForeignKey(
                "prompt_versions.id",
                ondelete="CASCADE",
                name="fk_prompt_translations_prompt_version_id_prompt_versions",
            ),
            nullable=False,
        ),
        sa.Column(
            "library_id",
            sa.Uuid(),
            sa.ForeignKey(
                "prompt_libraries.id",
                ondelete="CASCADE",
                name="fk_prompt_translations_library_id_prompt_libraries",
            ),
            nullable=False,
        ),
        sa.Column("locale", sa.String(35), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("listener_guidance", sa.Text(), nullable=True),
        sa.Column("is_live", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_by",
            sa.Uuid(),
            sa.ForeignKey(
                "users.id", ondelete="SET NULL", name="fk_prompt_translations_created_by_users"
            ),
            nullable=True,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_prompt_translations"),
        sa.UniqueConstraint(
            "prompt_version_id",
            "locale",
            "is_live",
            name="uq_prompt_translations_prompt_version_id_locale_is_live",
        ),
    )
    op.create_index(
        "ix_prompt_translations_library", "prompt_translations", ["library_id", "is_live"]
    )


def downgrade() -> None:
    op.drop_index("ix_prompt_translations_library", table_name="prompt_translations")
    op.drop_table("prompt_translations")
    # Not a batch (a copy of the table): on SQLite dropping a table would cascade.
    for table in reversed(_CURATED):
        op.drop_column(table, "translations")
