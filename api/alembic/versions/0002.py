"""demand composition fields (students, distinct_grades)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Owned by: record schema work (a stub until filled in; the chain 0001 -> 0002 -> 0003 -> 0004 -> 0005 is fixed).
"""
from collections.abc import Sequence

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""


def downgrade() -> None:
    """Downgrade schema."""
