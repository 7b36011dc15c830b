"""library versions freeze the library's details

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 07:00:00

A library version now carries the title, description, locale and stages members see.
Versions published before this revision take their library's current details: the only
record there is of them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DETAILS = ("title", "description", "locale", "stages")


def upgrade() -> None:
    with op.batch_alter_table("prompt_library_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("locale", sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column("stages", sa.JSON(), nullable=True))
    versions = sa.table(
        "prompt_library_versions", sa.column("library_id"), *map(sa.column, _DETAILS)
    )
    libraries = sa.table("prompt_libraries", sa.column("id"), *map(sa.column, _DETAILS))
    op.execute(
        versions.update().values(
            {
                name: sa.select(libraries.c[name])
                .where(libraries.c.id == versions.c.library_id)
                .scalar_subquery()
                for name in _DETAILS
            }
        )
    )
    with op.batch_alter_table("prompt_library_versions", schema=None) as batch_op:
        batch_op.alter_column("title", existing_type=sa.String(length=120), nullable=False)
        batch_op.alter_column("description", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column("locale", existing_type=sa.String(length=35), nullable=False)
        batch_op.alter_column("stages", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("prompt_library_versions", schema=None) as batch_op:
        for name in reversed(_DETAILS):
            batch_op.drop_column(name)
