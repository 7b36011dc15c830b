"""Test clocks (development and test environments): clocks and the couples attached to them.

Revision ID: 0012_clocks
Revises: 0011_push
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0012_clocks"
down_revision: str | None = "0011_push"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "test_clocks",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "owner_id",
            sa.Uuid(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_test_clocks_owner_id_users"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("frozen_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_test_clocks"),
    )
    op.create_index("ix_test_clocks_owner_id", "test_clocks", ["owner_id"])
    op.create_table(
        "test_clock_couples",
        sa.Column(
            "couple_id",
            sa.Uuid(),
            sa.ForeignKey(
                "couples.id", ondelete="CASCADE", name="fk_test_clock_couples_couple_id_couples"
            ),
            nullable=False,
        ),
        sa.Column(
            "clock_id",
            sa.Uuid(),
            sa.ForeignKey(
                "test_clocks.id",
                ondelete="CASCADE",
                name="fk_test_clock_couples_clock_id_test_clocks",
            ),
            nullable=False,
        ),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("couple_id", name="pk_test_clock_couples"),
    )
    op.create_index("ix_test_clock_couples_clock_id", "test_clock_couples", ["clock_id"])


def downgrade() -> None:
    op.drop_index("ix_test_clock_couples_clock_id", table_name="test_clock_couples")
    op.drop_table("test_clock_couples")
    op.drop_index("ix_test_clocks_owner_id", table_name="test_clocks")
    op.drop_table("test_clocks")
