"""calibrations

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Owned by: service calibration work.  Adds ``calibrations``
(``xfd.api.storage.calibration.CalibrationRow``): versions of the score fusion
fitted from the stored feedback, at most one ``active``.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``calibrations`` and its index on ``active``."""
    op.create_table(
        "calibrations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_calibrations_active", "calibrations", ["active"])


def downgrade() -> None:
    """Drop ``calibrations``."""
    op.drop_index("ix_calibrations_active", table_name="calibrations")
    op.drop_table("calibrations")
