"""api key form ids: a rendered /admin/keys form creates at most one key

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

Adds ``api_keys.form_id`` (``xfd.api.storage.models.ApiKey.form_id``): the
single-use id of the ``/admin/keys`` form a key was created from, unique, so a
browser's re-submission of the same form (a page refresh after creating a key)
finds it and creates no second key.  NULL for keys from the CLI and the API.
Only the form id is stored, never the key's plaintext.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the nullable ``form_id`` column with a unique index (NULLs do not clash)."""
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("form_id", sa.String(64), nullable=True))
        batch_op.create_index("ix_api_keys_form_id", ["form_id"], unique=True)


def downgrade() -> None:
    """Drop the index and the column."""
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_form_id")
        batch_op.drop_column("form_id")
