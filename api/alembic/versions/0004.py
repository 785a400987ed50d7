"""demand lifecycle, semesters, standing teams, activities, outcomes, ratings

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Owned by: lifecycle work (a stub until filled in; the chain 0001 -> 0002 -> 0003 -> 0004 -> 0005 is fixed).

Existing databases: statuses of the pre-lifecycle service are mapped
``open`` -> ``accepted`` (the office was already planning it),
``assigned`` -> ``teamed`` (a plan was accepted; its members stay in
``assigned_team`` and are the continuity of the next run), ``closed`` ->
``withdrawn`` (taken out of planning before any outcome was recorded; the
old service had no outcomes), and every demand gets one history row saying
so (``by_role`` = ``migration``).  ``demands.ref`` (the id as its enterprise
named it) starts equal to ``id``.  API keys gain ``profile_id`` (teacher keys).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY_STATUS = {"open": "accepted", "assigned": "teamed", "closed": "withdrawn"}


def _by_columns() -> list[sa.Column]:
    return [
        sa.Column("by_role", sa.String(length=20), nullable=False),
        sa.Column("by_key", sa.Integer(), nullable=True),
        sa.Column("by_user", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _create_tables() -> None:
    op.create_table(
        "demand_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("demand_id", sa.String(length=200), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        *_by_columns(),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("demand_events", schema=None) as batch_op:
        batch_op.create_index("ix_demand_events_demand", ["demand_id", "id"], unique=False)
    op.create_table(
        "semesters",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("demand_id", sa.String(length=200), nullable=False),
        sa.Column("semester", sa.String(length=50), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=True),
        *_by_columns(),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["semester"], ["semesters.name"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("demand_id", "semester", name="uq_team_demand_semester"),
    )
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_teams_demand_id"), ["demand_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_teams_semester"), ["semester"], unique=False)
    op.create_table(
        "team_members",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("covers", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "profile_id", name="uq_team_member"),
    )
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_members_profile_id"), ["profile_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_team_members_team_id"), ["team_id"], unique=False)
    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        *_by_columns(),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activities_team_id"), ["team_id"], unique=False)
    for name, extra in (
        ("outcomes", [sa.Column("solved", sa.Boolean(), nullable=False),
                      sa.Column("contract_amount", sa.Float(), nullable=False),
                      sa.Column("patents", sa.Integer(), nullable=False),
                      sa.Column("papers", sa.Integer(), nullable=False),
                      sa.Column("other", sa.Text(), nullable=False),
                      sa.Column("note", sa.Text(), nullable=False)]),
        ("ratings", [sa.Column("satisfaction", sa.Integer(), nullable=False),
                     sa.Column("comment", sa.Text(), nullable=False)]),
    ):
        op.create_table(
            name,
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("demand_id", sa.String(length=200), nullable=False),
            sa.Column("team_id", sa.String(length=40), nullable=False),
            *extra,
            *_by_columns(),
            sa.ForeignKeyConstraint(["demand_id"], ["demands.id"], ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("demand_id"),
        )
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{name}_team_id"), ["team_id"], unique=False)


def _migrate_statuses() -> None:
    """Write one history row per demand, then map the legacy statuses (plain SQL
    statements, so ``alembic upgrade --sql`` renders them too)."""
    demands = sa.table("demands", sa.column("id", sa.String), sa.column("status", sa.String),
                       sa.column("ref", sa.String))
    events = sa.table("demand_events", sa.column("demand_id", sa.String), sa.column("from_status", sa.String),
                      sa.column("to_status", sa.String), sa.column("reason", sa.Text),
                      sa.column("by_role", sa.String), sa.column("created_at", sa.DateTime(timezone=True)))
    legacy = list(LEGACY_STATUS)
    new_status = sa.case(*[(demands.c.status == old, new) for old, new in LEGACY_STATUS.items()],
                         else_=demands.c.status)
    from_status = sa.case((demands.c.status.in_(legacy), demands.c.status), else_=sa.null())
    op.execute(sa.insert(events).from_select(
        ["demand_id", "from_status", "to_status", "reason", "by_role", "created_at"],
        sa.select(demands.c.id, from_status, new_status,
                  sa.literal("数据库迁移 migrated from the pre-lifecycle status (see from)"),
                  sa.literal("migration"), sa.func.current_timestamp()),
    ))
    for old, new in LEGACY_STATUS.items():
        op.execute(sa.update(demands).where(demands.c.status == old).values(status=new))
    op.execute(sa.update(demands).values(ref=demands.c.id))


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ref", sa.String(length=200), nullable=False, server_default=""))
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("profile_id", sa.String(length=200), nullable=True))
    _create_tables()
    _migrate_statuses()
    # an index, not a constraint: SQLite adds it in place (recreating ``demands`` would
    # cascade-delete the rows of the tables that reference it)
    op.create_index("ix_demands_enterprise_ref", "demands", ["enterprise_id", "ref"], unique=True)


def downgrade() -> None:
    """Downgrade schema: lifecycle statuses fold back to open/assigned/closed."""
    back = {"submitted": "open", "accepted": "open", "returned": "closed", "teamed": "assigned",
            "in_service": "assigned", "solved": "closed", "unsolved": "closed", "withdrawn": "closed"}
    demands = sa.table("demands", sa.column("status", sa.String))
    for new, old in back.items():
        op.execute(sa.update(demands).where(demands.c.status == new).values(status=old))
    for name in ("ratings", "outcomes", "activities", "team_members", "teams", "semesters", "demand_events"):
        op.drop_table(name)
    op.drop_index("ix_demands_enterprise_ref", table_name="demands")
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.drop_column("ref")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("profile_id")
