"""Tables of the service (SQLAlchemy 2, typed ``Mapped`` columns).

List-valued fields of profiles and demands (disciplines, keywords, documents…)
live in JSON columns; everything that is filtered on has its own indexed
column.  Times are UTC.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Enterprise(Base):
    """An enterprise that submits demands; created on first reference."""

    __tablename__ = "enterprises"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(Text, default="")
    county: Mapped[str] = mapped_column(Text, default="")
    industry: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProfileRow(Base):
    """A teacher, student or team (see ``matching.types.Profile``)."""

    __tablename__ = "profiles"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="teacher", index=True)
    name: Mapped[str] = mapped_column(Text, default="")
    college: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(Text, default="")
    county: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int] = mapped_column(Integer, default=2)
    major: Mapped[str] = mapped_column(Text, default="")
    grade: Mapped[int | None] = mapped_column(Integer, nullable=True)
    disciplines: Mapped[list[Any]] = mapped_column(default=list)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    conflicts: Mapped[list[Any]] = mapped_column(default=list)
    skills: Mapped[list[Any]] = mapped_column(default=list)
    members: Mapped[list[Any]] = mapped_column(default=list)
    #: list of {"kind", "title", "text", "year"}
    documents: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class DemandRow(Base):
    """An enterprise's technical problem (see ``matching.types.Demand``).

    ``status``: one of ``xfd.matching.lifecycle.STATUSES`` (new demands are
    ``submitted``); ``assigned_team`` holds the members' profile ids of its
    latest team.  ``id`` is the service-wide key; ``ref`` is the id as its
    enterprise named it, unique per enterprise (see ``xfd.api.crud.lifecycle``:
    enterprise-scoped id namespaces).
    """

    __tablename__ = "demands"
    #: a unique index (not a constraint), so SQLite adds it without recreating the table
    __table_args__ = (Index("ix_demands_enterprise_ref", "enterprise_id", "ref", unique=True),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(200), default="", index=True)
    ref: Mapped[str] = mapped_column(String(200), default=lambda ctx: ctx.get_current_parameters()["id"])
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    county: Mapped[str] = mapped_column(Text, default="")
    industry: Mapped[str] = mapped_column(Text, default="")
    #: None (SQL NULL): infer the required disciplines; []: none required
    disciplines: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True, default=None)
    team_size_min: Mapped[int] = mapped_column(Integer, default=3)
    team_size_max: Mapped[int] = mapped_column(Integer, default=5)
    students_min: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    students_max: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    distinct_grades: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    current_team: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="submitted", index=True)
    assigned_team: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    """An API key: only its sha256 hash and a short display prefix are stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(200), unique=True)
    prefix: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(20))
    enterprise_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: a teacher key's own profile id
    profile_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    revoked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: the single-use id of the ``/admin/keys`` form this key was created from (migration 0009):
    #: a re-submission of that form creates no second key; NULL for CLI and API keys
    form_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True, index=True)


class AssignmentRun(Base):
    """A batch reassignment: ``status`` queued|running|done|failed|cancelled, ``progress`` in [0, 1].

    A worker claims a ``queued`` run (``owner``, ``claimed_at``), keeps ``heartbeat_at`` fresh while
    it executes (a run whose heartbeat is older than the lease is failed: its worker died) and
    stops between phases once ``cancel_requested_at`` is set (``xfd.api.crud.runs``, migration 0007).
    """

    __tablename__ = "assignment_runs"
    __table_args__ = (Index("ix_assignment_runs_claim", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: the request options (demand ids, solver, continuity bonus)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: the plan in the INTERFACES plan shape, once done
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: the worker executing the run (``host:pid:hex``), None while queued
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: last sign of life of the owner; older than the lease -> the run is failed
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_requested_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: what the worker is doing: queued, scoring, solving, storing (None for runs before 0007)
    phase: Mapped[str | None] = mapped_column(String(20), nullable=True)


class IdempotencyRecord(Base):
    """A replayable response for (API key, ``Idempotency-Key``)."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("key_id", "idem_key", name="uq_idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    idem_key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(200))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Feedback(Base):
    """A verdict on one (demand, profile) match, kept for recalibration."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_demand_profile", "demand_id", "profile_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    demand_id: Mapped[str] = mapped_column(String(200))
    profile_id: Mapped[str] = mapped_column(String(200))
    verdict: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
