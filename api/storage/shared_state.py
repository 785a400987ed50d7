"""State shared by every service process on one database: version counters.

A row of ``shared_versions`` counts the committed changes of one kind of data.
``INDEX`` counts the changes to what recommendations see (profiles, the active
calibration): every such write calls :func:`bump_version` inside its own
transaction, so the new number becomes visible exactly when the write does
(a rolled-back write bumps nothing).  Each process compares the number with
the one its index was fitted at (``xfd.api.sync``) and refits when they
differ.  The counter is the source of truth; on PostgreSQL the bump also
queues a ``NOTIFY`` on channel ``NOTIFY_CHANNEL`` (payload ``name:version``),
delivered at commit, so listeners need not wait for their next poll.

Concurrent bumps serialise on the row lock the ``UPDATE`` takes (PostgreSQL)
or on the database write lock (SQLite), so every commit gets its own number.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Connection, DateTime, String, func, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from xfd.api.storage.models import Base, utcnow

#: the counter of changes recommendations see (profiles, the active calibration)
INDEX = "index"
#: PostgreSQL ``LISTEN`` channel of the bumps (payload ``"<name>:<version>"``)
NOTIFY_CHANNEL = "xfd_shared_state"


class SharedVersion(Base):
    """``version`` (0, 1, 2, …) of the data called ``name``; ``updated_at`` of the last bump (UTC)."""

    __tablename__ = "shared_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def bump_version(session: Session | Connection, name: str = INDEX) -> int:
    """Add one to counter ``name`` in the caller's transaction (created at 1 when missing) and
    return the new number; the caller commits (or rolls back: then nothing changed)."""
    new = session.execute(update(SharedVersion).where(SharedVersion.name == name)
                          .values(version=SharedVersion.version + 1, updated_at=utcnow())
                          .returning(SharedVersion.version)).scalar_one_or_none()
    if new is None:
        session.execute(insert(SharedVersion).values(name=name, version=1, updated_at=utcnow()))
        new = 1
    bind = session.get_bind() if isinstance(session, Session) else session
    if bind.dialect.name == "postgresql":
        session.execute(select(func.pg_notify(NOTIFY_CHANNEL, f"{name}:{new}")))
    return int(new)


def read_version(session: Session | Connection, name: str = INDEX) -> int:
    """The committed number of counter ``name`` (0 when it was never bumped); one primary-key read."""
    value = session.execute(select(SharedVersion.version).where(SharedVersion.name == name)).scalar_one_or_none()
    return int(value or 0)
