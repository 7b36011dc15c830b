"""Encryption at rest: per-person data keys, and the free text already stored sealed.

Revision ID: 0010_encryption
Revises: 0009_exports

The upgrade seals every clear value of the columns below under its owner's data key (created
here when missing), with the app's key provider for this database (`RAPPORT_ENCRYPTION_KEYS`,
or the development key file beside it); the downgrade opens them again. Columns that held
short wording become Text, as envelopes are longer.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010_encryption"
down_revision: str | None = "0009_exports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, the column naming whose data key seals it), as of this revision.
SEALED: tuple[tuple[str, str, str], ...] = (
    ("answers", "text", "user_id"),
    ("reflections", "text", "author_id"),
    ("checkins", "note", "user_id"),
    ("checkins", "request", "user_id"),
    ("journal_entries", "body", "user_id"),
    ("repair_plans", "title", "proposed_by"),
    ("repair_plans", "decline_note", "declined_by"),
    ("repair_steps", "title", "written_by"),
    ("repair_steps", "description", "written_by"),
    ("repair_agreement_versions", "text", "proposed_by"),
    ("repair_trust_ratings", "note", "user_id"),
)

NULLABLE = {
    ("checkins", "note"),
    ("checkins", "request"),
    ("repair_plans", "decline_note"),
    ("repair_trust_ratings", "note"),
}


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kek_id", sa.String(length=32), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rewrapped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_data_keys")),
    )
    with op.batch_alter_table("repair_steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("written_by", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_repair_steps_written_by_users"), "users", ["written_by"], ["id"], ondelete="SET NULL")
        batch_op.alter_column("title", existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=False)
    with op.batch_alter_table("repair_plans", schema=None) as batch_op:
        batch_op.alter_column("title", existing_type=sa.String(length=120), type_=sa.Text(), existing_nullable=False)
    op.execute("UPDATE repair_steps SET written_by = created_by")
    _convert(seal=True)


def downgrade() -> None:
    _convert(seal=False)
    with op.batch_alter_table("repair_plans", schema=None) as batch_op:
        batch_op.alter_column("title", existing_type=sa.Text(), type_=sa.String(length=120), existing_nullable=False)
    with op.batch_alter_table("repair_steps", schema=None) as batch_op:
        batch_op.alter_column("title", existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=False)
        batch_op.drop_constraint(batch_op.f("fk_repair_steps_written_by_users"), type_="foreignkey")
        batch_op.drop_column("written_by")
    op.drop_table("data_keys")


def _convert(*, seal: bool) -> None:
    from app.core import crypto

    connection = op.get_bind()
    info: dict[Any, Any] = {}
    for table_name, column, owner_column in SEALED:
        table = sa.table(
            table_name, sa.column("id", sa.Uuid()), sa.column(column), sa.column(owner_column, sa.Uuid())
        )
        rows = connection.execute(
            sa.select(table.c.id, table.c[column], table.c[owner_column]).where(
                table.c[column].is_not(None)
            )
        ).all()
        for row_id, value, owner in rows:
            if seal == crypto.is_sealed(value) or (seal and owner is None):
                continue
            new = _sealed(info, connection, table_name, column, row_id, owner, value, seal)
            connection.execute(
                sa.update(table).where(table.c.id == row_id).values({column: new})
            )


def _sealed(
    info: dict[Any, Any],
    connection: sa.Connection,
    table: str,
    column: str,
    row_id: uuid.UUID,
    owner: uuid.UUID,
    value: str,
    seal: bool,
) -> str | None:
    from app.core import crypto, encryption_orm

    if seal:
        data_key = encryption_orm.key_for_writing(info, connection, owner)
        return crypto.seal(data_key, owner, value, crypto.associated_data(table, column, row_id))
    plaintext = encryption_orm.open_stored(info, connection, table, column, row_id, value)
    if plaintext is encryption_orm.MISSING:  # an erased person's: nothing to give back
        return None if (table, column) in NULLABLE else ""
    return str(plaintext)
