"""shared state between instances (cluster work): version counters, embedding cache in the database

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Adds ``shared_versions`` (``xfd.api.storage.shared_state.SharedVersion``: the
counters every process compares to know its index is stale; the ``index`` row
starts at 0) and ``embeddings`` (``xfd.api.storage.embeddings.EmbeddingRow``:
the embedding cache shared by every process).  New tables only: no existing
table is altered.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``shared_versions`` (with the ``index`` counter at 0) and ``embeddings``."""
    op.create_table(
        "shared_versions",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute("INSERT INTO shared_versions (name, version, updated_at) VALUES ('index', 0, CURRENT_TIMESTAMP)")
    op.create_table(
        "embeddings",
        sa.Column("encoder", sa.String(300), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("text_sha", sa.LargeBinary(32), primary_key=True),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("embeddings")
    op.drop_table("shared_versions")
