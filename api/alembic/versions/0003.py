"""accounts for people (users, sessions, login throttling)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Owned by: web UI work (a stub until filled in; the chain 0001 -> 0002 -> 0003 -> 0004 -> 0005 is fixed).
"""
from collections.abc import Sequence

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""


def downgrade() -> None:
    """Downgrade schema."""
