"""Deliveries count the attempts of the current round apart from all attempts made.

`attempts` is every attempt in the log; `round_start_attempts` is how many there were when the
current round began (a redeliver or a replay starts one), so retries follow the schedule
again without the count forgetting earlier attempts. `skipped` deliveries (the endpoint was
disabled) need no schema change: the status column is a string.

Revision ID: 0005_visibility
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_visibility"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch_op:
        batch_op.add_column(
            sa.Column("round_start_attempts", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch_op:
        batch_op.drop_column("round_start_attempts")
