"""run queue (worker work): claimable runs, cancel, progress from worker processes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Owned by: the run-queue work.  Adds to ``assignment_runs`` the columns a worker
process needs to claim a queued run exactly once (``owner``, ``claimed_at``), keep
its lease (``heartbeat_at``), be asked to stop (``cancel_requested_at``) and say
what it is doing (``phase``), plus the index the claim query scans.  Plain
``ADD COLUMN`` (nullable, no defaults), so SQLite does not rebuild the table.
Runs left ``running`` by an older process have no heartbeat: the first worker
or service start marks them failed (lease expired).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("owner", "claimed_at", "heartbeat_at", "cancel_requested_at", "phase")


def upgrade() -> None:
    """Add the claim / lease / cancel columns and ``ix_assignment_runs_claim (status, created_at)``."""
    op.add_column("assignment_runs", sa.Column("owner", sa.String(200), nullable=True))
    op.add_column("assignment_runs", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("assignment_runs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("assignment_runs", sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("assignment_runs", sa.Column("phase", sa.String(20), nullable=True))
    op.create_index("ix_assignment_runs_claim", "assignment_runs", ["status", "created_at"])


def downgrade() -> None:
    """Drop the index and the columns (SQLite: batch mode; ``assignment_runs`` has no foreign keys)."""
    op.drop_index("ix_assignment_runs_claim", table_name="assignment_runs")
    with op.batch_alter_table("assignment_runs") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
