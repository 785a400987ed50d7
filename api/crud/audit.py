"""Data access for the audit log (``xfd.api.storage.audit.AuditRow``)."""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from xfd.api.security import Principal, hash_key
from xfd.api.storage.accounts import User
from xfd.api.storage.audit import AuditRow
from xfd.api.storage.models import ApiKey
from xfd.api.storage.timestamps import aware_utc


class Actor(NamedTuple):
    """Who made a request, as far as the audit log knows: all None when unauthenticated."""

    key_id: int | None = None
    key_prefix: str | None = None
    username: str | None = None
    role: str | None = None


class AuditEntry(NamedTuple):
    """One write request and its answer (see ``AuditRow`` for the fields)."""

    actor: Actor
    method: str
    route: str
    path: str
    status: int
    target_id: str | None
    address: str


def key_actor(session: Session, plaintext: str) -> Actor:
    """The actor of a presented API key; an unknown or revoked key is nobody."""
    if not plaintext or len(plaintext) > 200:
        return Actor()
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(plaintext)))
    if row is None or row.revoked:
        return Actor()
    return Actor(key_id=row.id, key_prefix=row.prefix, role=row.role)


def principal_actor(session: Session, principal: Principal) -> Actor:
    """The actor of a principal resolved by the app (API key or logged-in person)."""
    prefix = username = None
    if principal.key_id:
        key = session.get(ApiKey, principal.key_id)
        prefix = key.prefix if key is not None else None
    if principal.user_id is not None:
        user = session.get(User, principal.user_id)
        username = user.username if user is not None else None
    return Actor(key_id=principal.key_id or None, key_prefix=prefix, username=username, role=principal.role)


def record_write(session: Session, entry: AuditEntry) -> AuditRow:
    """Store one audit row; commits."""
    row = AuditRow(key_id=entry.actor.key_id, key_prefix=entry.actor.key_prefix, username=entry.actor.username,
                   role=entry.actor.role, method=entry.method, route=entry.route[:200], path=entry.path,
                   status=entry.status, target_id=entry.target_id[:200] if entry.target_id else None,
                   address=entry.address[:100])
    session.add(row)
    session.commit()
    return row


def audit_query(key_id: int | None = None, method: str | None = None, target_id: str | None = None,
                since: dt.datetime | None = None) -> Select:
    """Audit rows, newest first, filtered by the given fields."""
    query = select(AuditRow).order_by(AuditRow.id.desc())
    if key_id is not None:
        query = query.where(AuditRow.key_id == key_id)
    if method is not None:
        query = query.where(AuditRow.method == method)
    if target_id is not None:
        query = query.where(AuditRow.target_id == target_id)
    if since is not None:
        query = query.where(AuditRow.at >= aware_utc(since))
    return query
