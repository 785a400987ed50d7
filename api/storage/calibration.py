"""Stored calibrations: versions of the score fusion fitted from the office's verdicts.

Each row holds the calibration document exactly as ``xfd.matching.calibration``
writes it (``calibration_to_json``: fusion, default fusion, source, counts,
figures before/after).  At most one row is ``active`` (kept so by
``xfd.api.crud.calibration``); the service scores with the active one's
fusion, or with the model's default fusion when none is active.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xfd.api.storage.models import Base, utcnow


class CalibrationRow(Base):
    """One calibration version: ``model`` it was fitted for (``XFD_MODEL`` name),
    ``document`` (the calibration JSON), ``created_by`` (API key id, 0 for a
    web session), ``active`` True for the one the service uses."""

    __tablename__ = "calibrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    model: Mapped[str] = mapped_column(String(200))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
