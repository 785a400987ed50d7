"""API keys: create (the plaintext is returned once), list, revoke."""
from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from xfd.api.errors import NotFound
from xfd.api.security import create_key as _create_key
from xfd.api.storage.models import ApiKey


def create_key(session: Session, role: str, enterprise: str | None = None, note: str = "") -> tuple[ApiKey, str]:
    """Store a new key and commit; returns ``(row, plaintext)``.

    Bad arguments raise ``xfd.api.security.KeyError_`` naming the argument (nothing stored).
    """
    row, plaintext = _create_key(session, role, enterprise, note)
    session.commit()
    return row, plaintext


def keys_query() -> Select:
    """``select(ApiKey)`` of every key by id (revoked ones included; no secrets are stored)."""
    return select(ApiKey).order_by(ApiKey.id)


def list_keys(session: Session) -> list[ApiKey]:
    """Every key row by id (revoked ones included; no secrets are stored)."""
    return list(session.scalars(keys_query()))


def revoke_key(session: Session, key_id: int) -> ApiKey:
    """Mark the key revoked and commit; ``NotFound("key", id)`` when there is none."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound("key", key_id)
    row.revoked = True
    session.commit()
    return row
