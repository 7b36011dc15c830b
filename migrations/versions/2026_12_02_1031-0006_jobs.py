"""The job library's tables (pgqueuer), in a schema of their own; PostgreSQL only.

On SQLite the scheduled jobs run in process on pgqueuer's in-memory driver: nothing to create.
The statements are pgqueuer's own installer's (`pgq install`), run in this migration's
transaction. After upgrading pgqueuer to a release that changes its schema, run
`pgq upgrade` with PGQUEUER_SCHEMA=rapport_jobs.

Revision ID: 0005_jobs
Revises: 0005_visibility
"""

from collections.abc import Sequence

from alembic import op
from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment
from pgqueuer.domain.settings import DBSettings
from sqlalchemy.util import await_only

revision: str = "0005_jobs"
down_revision: str | None = "0005_visibility"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "rapport_jobs"


def _execute_script(script: str) -> None:
    """Run several statements at once: asyncpg does so only for a query without arguments,
    which SQLAlchemy's adapter always prepares, so the script goes to asyncpg itself."""
    driver_connection = op.get_bind().connection.driver_connection
    assert driver_connection is not None
    await_only(driver_connection.execute(script))


def _builder() -> QueryBuilderEnvironment:
    return QueryBuilderEnvironment(DBSettings(prefix="", db_schema=SCHEMA))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The schema belongs to this migration alone: whatever is there was left by a database
    # whose history was reset, and holds nothing but schedule state, rebuilt at start.
    op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    _execute_script(_builder().build_install_query(create_schema=True))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
