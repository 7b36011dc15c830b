"""Time together: the couple's own activity ideas, each partner's private marks, matches and
how they went; Rapport's own apps may ask for the new `activities:*` scopes.

Revision ID: 0017_time_together
Revises: 0016_conversations
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_time_together"
down_revision: str | None = "0016_conversations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SOURCES = ("curated", "own")
_MARKS = ("want", "not_now")
_SCOPES = ("activities:read", "activities:write")
# As in 0016: the first-party mobile app and the interactive docs learn the new scopes here;
# other clients keep what their registration says.
_OWN_CLIENTS = ("rapport-mobile", "rapport-docs")

_clients = sa.table(
    "oauth_clients",
    sa.column("id", sa.Uuid()),
    sa.column("client_id", sa.String()),
    sa.column("allowed_scopes", sa.JSON()),
)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", ondelete=ondelete, name=f"fk_{table}_{column}_{target}")


def _source() -> sa.Enum:
    return sa.Enum(*_SOURCES, name="ideasource", native_enum=False, length=16)


def upgrade() -> None:
    op.create_table(
        "activity_ideas",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "couple_id",
            sa.Uuid(),
            _fk("activity_ideas", "couple_id", "couples", "CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "author_id",
            sa.Uuid(),
            _fk("activity_ideas", "author_id", "users", "CASCADE"),
            nullable=False,
        ),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_activity_ideas"),
    )
    op.create_index(
        "ix_activity_ideas_couple_id_created_at", "activity_ideas", ["couple_id", "created_at"]
    )
    op.create_table(
        "activity_marks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "couple_id",
            sa.Uuid(),
            _fk("activity_marks", "couple_id", "couples", "CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.Uuid(),
            _fk("activity_marks", "user_id", "users", "CASCADE"),
            nullable=False,
        ),
        sa.Column("idea_id", sa.Uuid(), nullable=False),
        sa.Column("source", _source(), nullable=False),
        sa.Column(
            "mark", sa.Enum(*_MARKS, name="mark", native_enum=False, length=16), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_activity_marks"),
        sa.UniqueConstraint(
            "couple_id", "idea_id", "user_id", name="uq_activity_marks_couple_id_idea_id_user_id"
        ),
    )
    op.create_index("ix_activity_marks_user_id", "activity_marks", ["user_id"])
    op.create_table(
        "activity_matches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "couple_id",
            sa.Uuid(),
            _fk("activity_matches", "couple_id", "couples", "CASCADE"),
            nullable=False,
        ),
        sa.Column("idea_id", sa.Uuid(), nullable=False),
        sa.Column("source", _source(), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_for", sa.Date(), nullable=True),
        sa.Column(
            "planned_by",
            sa.Uuid(),
            _fk("activity_matches", "planned_by", "users", "SET NULL"),
            nullable=True,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_activity_matches"),
        sa.UniqueConstraint("couple_id", "idea_id", name="uq_activity_matches_couple_id_idea_id"),
    )
    op.create_index(
        "ix_activity_matches_couple_id_matched_at",
        "activity_matches",
        ["couple_id", "matched_at"],
    )
    op.create_table(
        "activity_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "match_id",
            sa.Uuid(),
            _fk("activity_reviews", "match_id", "activity_matches", "CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.Uuid(),
            _fk("activity_reviews", "user_id", "users", "CASCADE"),
            nullable=False,
        ),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_activity_reviews"),
        sa.UniqueConstraint("match_id", "user_id", name="uq_activity_reviews_match_id_user_id"),
    )
    _change_own_clients(add=True)


def downgrade() -> None:
    _change_own_clients(add=False)
    op.drop_table("activity_reviews")
    op.drop_index("ix_activity_matches_couple_id_matched_at", table_name="activity_matches")
    op.drop_table("activity_matches")
    op.drop_index("ix_activity_marks_user_id", table_name="activity_marks")
    op.drop_table("activity_marks")
    op.drop_index("ix_activity_ideas_couple_id_created_at", table_name="activity_ideas")
    op.drop_table("activity_ideas")


def _change_own_clients(*, add: bool) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_clients.c.id, _clients.c.allowed_scopes).where(
            _clients.c.client_id.in_(_OWN_CLIENTS)
        )
    ).all()
    for row_id, scopes in rows:
        current = list(scopes or [])
        if add:
            changed = current + [scope for scope in _SCOPES if scope not in current]
        else:
            changed = [scope for scope in current if scope not in _SCOPES]
        if changed != current:
            connection.execute(
                sa.update(_clients).where(_clients.c.id == row_id).values(allowed_scopes=changed)
            )
