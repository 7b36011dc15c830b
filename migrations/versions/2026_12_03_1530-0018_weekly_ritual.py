"""The weekly ritual: a couple's schedule, each week's ritual, the partners' entries in it and
their commitments for the week after.

Revision ID: 0018_weekly_ritual
Revises: 0017_time_together
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_weekly_ritual"
down_revision: str | None = "0017_time_together"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_STEPS = ("appreciations", "went_well", "issue", "next_week")
_STATUSES = ("open", "completed", "ended")


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", ondelete=ondelete, name=f"fk_{table}_{column}_{target}")


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=16)


def _times() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "ritual_schedules",
        sa.Column(
            "couple_id",
            sa.Uuid(),
            _fk("ritual_schedules", "couple_id", "couples", "CASCADE"),
            nullable=False,
        ),
        sa.Column("weekday", _enum(_WEEKDAYS, "weekday"), nullable=False),
        sa.Column("local_time", sa.Time(), nullable=False),
        sa.Column(
            "set_by",
            sa.Uuid(),
            _fk("ritual_schedules", "set_by", "users", "SET NULL"),
            nullable=True,
        ),
        *_times(),
        sa.PrimaryKeyConstraint("couple_id", name="pk_ritual_schedules"),
    )
    op.create_table(
        "rituals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "couple_id",
            sa.Uuid(),
            _fk("rituals", "couple_id", "couples", "CASCADE"),
            nullable=False,
        ),
        sa.Column("week_of", sa.Date(), nullable=False),
        sa.Column(
            "started_by",
            sa.Uuid(),
            _fk("rituals", "started_by", "users", "SET NULL"),
            nullable=True,
        ),
        sa.Column("status", _enum(_STATUSES, "ritualstatus"), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("issue_done", sa.Boolean(), nullable=False),
        sa.Column(
            "conversation_id",
            sa.Uuid(),
            _fk("rituals", "conversation_id", "conversations", "SET NULL"),
            nullable=True,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        *_times(),
        sa.PrimaryKeyConstraint("id", name="pk_rituals"),
        sa.UniqueConstraint("couple_id", "week_of", name="uq_rituals_couple_id_week_of"),
    )
    op.create_table(
        "ritual_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "ritual_id",
            sa.Uuid(),
            _fk("ritual_entries", "ritual_id", "rituals", "CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "author_id",
            sa.Uuid(),
            _fk("ritual_entries", "author_id", "users", "CASCADE"),
            nullable=False,
        ),
        sa.Column("step", _enum(_STEPS, "ritualstep"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ritual_entries"),
    )
    op.create_index(
        "ix_ritual_entries_ritual_id_created_at", "ritual_entries", ["ritual_id", "created_at"]
    )
    op.create_table(
        "ritual_commitments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "ritual_id",
            sa.Uuid(),
            _fk("ritual_commitments", "ritual_id", "rituals", "CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "owner_id",
            sa.Uuid(),
            _fk("ritual_commitments", "owner_id", "users", "CASCADE"),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        *_times(),
        sa.PrimaryKeyConstraint("id", name="pk_ritual_commitments"),
    )
    op.create_index(
        "ix_ritual_commitments_ritual_id_created_at",
        "ritual_commitments",
        ["ritual_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_ritual_commitments_ritual_id_created_at", table_name="ritual_commitments")
    op.drop_table("ritual_commitments")
    op.drop_index("ix_ritual_entries_ritual_id_created_at", table_name="ritual_entries")
    op.drop_table("ritual_entries")
    op.drop_table("rituals")
    op.drop_table("ritual_schedules")
