"""Personal data exports: one row per archive, its key, its state and expiry.

Revision ID: 0009_exports
Revises: 0008_event_xid
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_exports"
down_revision: str | None = "0008_event_xid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.Enum("pending", "running", "ready", "failed", "expired", name="exportstate", native_enum=False, length=16), nullable=False),
        sa.Column("in_progress_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("file_name", sa.String(length=80), nullable=True),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_exports_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
        sa.UniqueConstraint("in_progress_user_id", name=op.f("uq_exports_in_progress_user_id")),
    )
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exports_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index("ix_exports_state_created_at", ["state", "created_at"], unique=False)
        batch_op.create_index("ix_exports_user_id_created_at", ["user_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_index("ix_exports_user_id_created_at")
        batch_op.drop_index("ix_exports_state_created_at")
        batch_op.drop_index(batch_op.f("ix_exports_expires_at"))
    op.drop_table("exports")
