"""Speaker-listener conversations and their turns; Rapport's own apps may ask for the new
`conversations:*` scopes.

Revision ID: 0016_conversations
Revises: 0015_translations
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_conversations"
down_revision: str | None = "0015_translations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PHASES = ("awaiting_share", "awaiting_paraphrase", "awaiting_confirmation", "confirmed")
_MOVES = (
    "share",
    "paraphrase",
    "confirm",
    "correct",
    "pass_floor",
    "pause",
    "resume",
    "end",
    "appreciate",
)
_SCOPES = ("conversations:read", "conversations:write")
# The first-party mobile app and the interactive docs are registered once, with every member
# scope of their day; later runs leave them as they are, so they learn the new scopes here.
# Other clients keep what their registration says.
_OWN_CLIENTS = ("rapport-mobile", "rapport-docs")

_clients = sa.table(
    "oauth_clients",
    sa.column("id", sa.Uuid()),
    sa.column("client_id", sa.String()),
    sa.column("allowed_scopes", sa.JSON()),
)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", ondelete=ondelete, name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "couple_id",
            sa.Uuid(),
            _fk("conversations", "couple_id", "couples", "CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "started_by",
            sa.Uuid(),
            _fk("conversations", "started_by", "users", "SET NULL"),
            nullable=True,
        ),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column(
            "prompt_id",
            sa.Uuid(),
            _fk("conversations", "prompt_id", "prompts", "SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "phase", sa.Enum(*_PHASES, name="phase", native_enum=False, length=32), nullable=False
        ),
        sa.Column(
            "speaker_id",
            sa.Uuid(),
            _fk("conversations", "speaker_id", "users", "CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "listener_id",
            sa.Uuid(),
            _fk("conversations", "listener_id", "users", "CASCADE"),
            nullable=False,
        ),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appreciated_by", sa.JSON(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
    )
    op.create_index(
        "ix_conversations_couple_id_created_at", "conversations", ["couple_id", "created_at"]
    )
    op.create_table(
        "conversation_turns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "conversation_id",
            sa.Uuid(),
            _fk("conversation_turns", "conversation_id", "conversations", "CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column(
            "author_id",
            sa.Uuid(),
            _fk("conversation_turns", "author_id", "users", "CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "move", sa.Enum(*_MOVES, name="move", native_enum=False, length=32), nullable=False
        ),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_turns"),
        sa.UniqueConstraint(
            "conversation_id", "seq", name="uq_conversation_turns_conversation_id_seq"
        ),
    )
    _change_own_clients(add=True)


def downgrade() -> None:
    _change_own_clients(add=False)
    op.drop_table("conversation_turns")
    op.drop_index("ix_conversations_couple_id_created_at", table_name="conversations")
    op.drop_table("conversations")


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
