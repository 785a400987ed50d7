"""API keys and roles.

A key looks like ``xfd_<8 hex prefix>_<43 url-safe chars>``; only its sha256
hex digest and the display prefix are stored.  Roles: ``enterprise`` (scoped
to one enterprise id), ``office`` and ``admin`` (admin may do all office does,
plus manage keys).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.orm import Session

from xfd.api.storage.models import ApiKey, Enterprise
from xfd.matching.record_fields import normalize_id

Role = Literal["office", "enterprise", "teacher", "admin"]
ROLES: tuple[str, ...] = ("office", "enterprise", "teacher", "admin")
STAFF_ROLES: frozenset[str] = frozenset({"office", "admin"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's row id, its role and (for enterprises) the enterprise id."""

    key_id: int
    role: str
    enterprise_id: str | None
    #: a person logged in through the web UI (``xfd.api.accounts``): their ``users.id``; ``key_id`` is then 0
    user_id: int | None = None
    #: a teacher's own profile id (teacher accounts)
    profile_id: str | None = None

    @property
    def is_staff(self) -> bool:
        """Office or admin: sees every enterprise's demands."""
        return self.role in STAFF_ROLES


class KeyError_(ValueError):
    """A key cannot be created with these arguments (message names the argument)."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def bound_record_id(value: str) -> str | None:
    """``value`` under xfd's one id rule (``normalize_id``: NFKC so ``Ｔ００１`` is ``T001``,
    stripped; at most 200 characters, no control characters, whitespace or ``/ ? #``), the id
    a key or account is bound to; None when the rule refuses it."""
    try:
        return normalize_id(value)
    except PydanticCustomError:
        return None


def create_key(session: Session, role: str, enterprise: str | None = None, note: str = "",
               profile: str | None = None) -> tuple[ApiKey, str]:
    """Store a new key and return ``(row, plaintext)``; the plaintext is never stored.

    An enterprise key needs ``enterprise``; a teacher key needs ``profile`` (the
    teacher's own profile id; the profile may be imported later); other keys
    have neither.  The caller commits.
    """
    if role not in ROLES:
        raise KeyError_(f"role 角色必须是 must be one of {', '.join(ROLES)}, got {role!r}")
    enterprise = (enterprise or "").strip() or None
    if role == "enterprise" and not enterprise:
        raise KeyError_("enterprise 企业密钥需要 --enterprise ID (an enterprise key needs --enterprise ID)")
    if role != "enterprise" and enterprise:
        raise KeyError_(f"enterprise: 只有企业密钥带企业编号 only enterprise keys carry an enterprise id (role {role})")
    profile = (profile or "").strip() or None
    if role == "teacher" and not profile:
        raise KeyError_("profile 教师密钥需要 --profile ID (a teacher key needs --profile ID)")
    if role != "teacher" and profile:
        raise KeyError_(f"profile: 只有教师密钥带人员编号 only teacher keys carry a profile id (role {role})")
    if profile is not None and (profile := bound_record_id(raw := profile)) is None:
        raise KeyError_(f"profile: 人员编号无效 invalid profile id {raw!r}")
    if "\x00" in note:  # PostgreSQL cannot store NUL
        raise KeyError_("note: 备注含有非法字符 the note contains the character U+0000")
    if enterprise is not None:
        if (enterprise := bound_record_id(raw := enterprise)) is None:
            raise KeyError_(f"enterprise: 企业编号无效 invalid enterprise id {raw!r}")
        if session.get(Enterprise, enterprise) is None:
            session.add(Enterprise(id=enterprise))
    prefix = secrets.token_hex(4)
    plaintext = f"xfd_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(key_hash=hash_key(plaintext), prefix=f"xfd_{prefix}", role=role, enterprise_id=enterprise,
                 profile_id=profile, note=note[:200])
    session.add(row)
    session.flush()
    return row, plaintext


def lookup_key(session: Session, plaintext: str) -> Principal | None:
    """The principal of a presented key, or None when unknown or revoked."""
    if not plaintext or len(plaintext) > 200:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(plaintext)))
    if row is None or row.revoked:
        return None
    return Principal(key_id=row.id, role=row.role, enterprise_id=row.enterprise_id, profile_id=row.profile_id)
