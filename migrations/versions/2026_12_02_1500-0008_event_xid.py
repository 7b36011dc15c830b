"""Events carry their writing transaction's id; readers walk `(xid, seq)` below the oldest
open transaction instead of event writers taking one global lock.

Existing events get `xid` 0 (they committed in `seq` order under the old lock), so positions
and cursors from before read the same. On PostgreSQL new rows default to
`pg_current_xact_id()`; SQLite's serial writers keep 0.

Revision ID: 0008_event_xid
Revises: 0005_exit
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_event_xid"
down_revision: str | None = "0005_exit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

XACT_ID = "pg_current_xact_id()::text::bigint"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("xid", sa.BigInteger(), nullable=False, server_default="0"))
        batch.drop_index("ix_events_user_id_seq")
        batch.drop_index("ix_events_couple_id_seq")
        batch.create_index("ix_events_xid_seq", ["xid", "seq"])
        batch.create_index("ix_events_user_id_xid_seq", ["user_id", "xid", "seq"])
        batch.create_index("ix_events_couple_id_xid_seq", ["couple_id", "xid", "seq"])
    if postgres:
        op.alter_column("events", "xid", server_default=sa.text(XACT_ID))
    with op.batch_alter_table("webhook_dispatch_state") as batch:
        batch.add_column(
            sa.Column("last_xid", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_dispatch_state") as batch:
        batch.drop_column("last_xid")
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_couple_id_xid_seq")
        batch.drop_index("ix_events_user_id_xid_seq")
        batch.drop_index("ix_events_xid_seq")
        batch.create_index("ix_events_couple_id_seq", ["couple_id", "seq"])
        batch.create_index("ix_events_user_id_seq", ["user_id", "seq"])
        batch.drop_column("xid")
