"""Erasure (deactivation, grace period) and the safety exit's couple blocks.

Revision ID: 0005_exit
Revises: 0005_jobs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_exit"
down_revision: str | None = "0005_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("erase_after", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("signed_out_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_erase_after"), ["erase_after"], unique=False)
    op.create_table(
        "couple_blocks",
        sa.Column("blocker_id", sa.Uuid(), nullable=False),
        sa.Column("blocked_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["blocked_id"], ["users.id"], name=op.f("fk_couple_blocks_blocked_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["blocker_id"], ["users.id"], name=op.f("fk_couple_blocks_blocker_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_couple_blocks")),
        sa.UniqueConstraint("blocker_id", "blocked_id", name=op.f("uq_couple_blocks_blocker_id_blocked_id")),
    )
    with op.batch_alter_table("couple_blocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_couple_blocks_blocked_id"), ["blocked_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("couple_blocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_couple_blocks_blocked_id"))
    op.drop_table("couple_blocks")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_erase_after"))
        batch_op.drop_column("signed_out_at")
        batch_op.drop_column("erased_at")
        batch_op.drop_column("erase_after")
        batch_op.drop_column("deactivated_at")
