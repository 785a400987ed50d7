"""Timezone-aware UTC timestamps everywhere, written one way.

SQLite keeps ``DateTime(timezone=True)`` values without their offset, so rows
read back carry naive datetimes while fresh rows carry aware ones, and the
answers said ``…Z`` in one response and no offset in the next.  Here:

- ``install(Base)`` hooks SQLAlchemy's ``load``/``refresh`` events of every
  mapped class (present and future) so each ``DateTime`` column attribute
  read from the database is an aware UTC datetime (naive values are UTC by
  this project's rule: every stored time is written as UTC);
- ``iso_utc`` renders one the way Pydantic does for the response models
  (``2026-12-01T20:57:22.444316Z``), and ``json_ready`` is FastAPI's
  ``jsonable_encoder`` with that rendering, for bodies built by hand.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import DateTime, event, inspect
from sqlalchemy.orm import DeclarativeBase

_DATETIME = TypeAdapter(dt.datetime)


def aware_utc(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC with ``tzinfo`` set (a naive value is taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def iso_utc(value: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, exactly as the response models write it."""
    return _DATETIME.dump_python(aware_utc(value), mode="json")


def json_ready(obj: Any) -> Any:
    """``jsonable_encoder(obj)`` with every datetime written by ``iso_utc``."""
    from fastapi.encoders import jsonable_encoder  # noqa: PLC0415 (storage loads without the web framework)

    return jsonable_encoder(obj, custom_encoder={dt.datetime: iso_utc})


def _datetime_columns(mapper: Any) -> list[str]:
    return [attr.key for attr in mapper.column_attrs
            if any(isinstance(col.type, DateTime) for col in attr.columns)]


def _make_aware(target: Any, *_args: Any) -> None:
    state = inspect(target)
    for key in _datetime_columns(state.mapper):
        value = state.dict.get(key)
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            state.dict[key] = value.replace(tzinfo=dt.UTC)


def install(base: type[DeclarativeBase]) -> None:
    """Make every ``DateTime`` attribute loaded for ``base``'s classes aware UTC (idempotent)."""
    for name in ("load", "refresh"):
        if not event.contains(base, name, _make_aware):
            event.listen(base, name, _make_aware, propagate=True)
