"""Tables of the service work after triage: the status history of demands,
semesters, standing teams and their members, activities, outcomes, ratings.

Every row says who wrote it (``by_role`` and the API key ``by_key`` or the
web account ``by_user``) and when (UTC).  Statuses and transitions are those
of ``xfd.matching.lifecycle``; migration ``0004`` creates these tables.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from xfd.api.storage.models import Base, utcnow


class _By:
    """Who wrote the row and when."""

    by_role: Mapped[str] = mapped_column(String(20), default="")
    by_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    by_user: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DemandEvent(_By, Base):
    """One status change of a demand: ``from_status`` (None when the demand was
    created) -> ``to_status``, with the reason given (``returned`` needs one)."""

    __tablename__ = "demand_events"
    __table_args__ = (Index("ix_demand_events_demand", "demand_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    demand_id: Mapped[str] = mapped_column(ForeignKey("demands.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")


class Semester(Base):
    """A semester, named as the office writes it (``2026秋``); created by the first run for it."""

    __tablename__ = "semesters"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Team(_By, Base):
    """The team of one demand in one semester, created by accepting a run."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("demand_id", "semester", name="uq_team_demand_semester"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    demand_id: Mapped[str] = mapped_column(ForeignKey("demands.id", ondelete="CASCADE"), index=True)
    semester: Mapped[str] = mapped_column(ForeignKey("semesters.name"), index=True)
    run_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class TeamMember(Base):
    """A member of a team: ``role`` lead|member, ``covers`` the disciplines it covers,
    ``score`` its match score in [0, 1]; ``position`` keeps the plan's order."""

    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "profile_id", name="uq_team_member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    profile_id: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(20), default="member")
    covers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Activity(_By, Base):
    """A service activity of a team: ``kind`` visit|on-site|training|online|other,
    ``hours`` >= 0, ``participants`` member profile ids."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    hours: Mapped[float] = mapped_column(Float)
    participants: Mapped[list[Any]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")


class Outcome(_By, Base):
    """The outcome of a demand, recorded against its team of the time (one per demand);
    ``contract_amount`` in yuan."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    demand_id: Mapped[str] = mapped_column(ForeignKey("demands.id", ondelete="CASCADE"), unique=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    solved: Mapped[bool] = mapped_column(Boolean)
    contract_amount: Mapped[float] = mapped_column(Float, default=0.0)
    patents: Mapped[int] = mapped_column(Integer, default=0)
    papers: Mapped[int] = mapped_column(Integer, default=0)
    other: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")


class Rating(_By, Base):
    """The enterprise's satisfaction (1–5) with a closed demand (one per demand)."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    demand_id: Mapped[str] = mapped_column(ForeignKey("demands.id", ondelete="CASCADE"), unique=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    satisfaction: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
