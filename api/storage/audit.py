"""The audit log: one row per write request (POST, PUT, PATCH, DELETE) the service answered.

Written at the edge by ``xfd.api.audit.AuditMiddleware`` (so no write route
can forget it), read by the admin through ``GET /v1/audit``.  Times are UTC.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xfd.api.storage.models import Base, utcnow


class AuditRow(Base):
    """Who did which write, when, and how it was answered.

    ``key_id``/``key_prefix``: the API key used (None for browser sessions and
    unauthenticated calls); ``username``: the logged-in person (pages);
    ``role``: the caller's role, None when unauthenticated; ``route``: the
    path template (``/v1/demands/{demand_id}``), ``path``: the path as sent;
    ``status``: the HTTP status answered; ``target_id``: the record written
    (path parameter, or the ``id`` / ``Location`` of a created record).
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_key_at", "key_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    key_prefix: Mapped[str | None] = mapped_column(String(32), nullable=True)
    username: Mapped[str | None] = mapped_column(String(100), nullable=True)
    role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    method: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(200), default="")
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    target_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    address: Mapped[str] = mapped_column(String(100), default="")
