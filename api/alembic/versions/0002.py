"""demand composition fields (students, distinct_grades)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Owned by: record schema work (a stub until filled in; the chain 0001 -> 0002 -> 0003 -> 0004 -> 0005 is fixed).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Demands gain ``students_min``/``students_max``/``distinct_grades``; ``disciplines``
    becomes nullable (NULL = infer them, ``[]`` = none required).  Before this
    revision ``[]`` meant "infer", so existing ``[]`` rows become NULL."""
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.add_column(sa.Column("students_min", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("students_max", sa.Integer(), nullable=False, server_default="3"))
        batch_op.add_column(sa.Column("distinct_grades", sa.Integer(), nullable=False, server_default="1"))
        batch_op.alter_column("disciplines", existing_type=sa.JSON(), nullable=True)
    op.execute("UPDATE demands SET disciplines = NULL WHERE CAST(disciplines AS TEXT) = '[]'")


def downgrade() -> None:
    """Drop the composition columns; NULL disciplines go back to ``[]`` (infer)."""
    op.execute("UPDATE demands SET disciplines = '[]' WHERE disciplines IS NULL")
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.alter_column("disciplines", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("distinct_grades")
        batch_op.drop_column("students_max")
        batch_op.drop_column("students_min")
