"""Profiles: upsert by id, list, get, names for recommendation lists."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xfd.api.errors import Conflict, NotFound
from xfd.api.records import profile_fields, profile_from_row
from xfd.api.schemas import ProfilesUpserted
from xfd.api.storage.models import ProfileRow
from xfd.api.storage.shared_state import bump_version
from xfd.matching.types import Profile

#: ids looked up per ``IN (…)`` query (keeps SQLite's parameter limit far away)
ID_CHUNK = 500
#: attempts of an upsert racing a concurrent writer of the same new id
WRITE_ATTEMPTS = 3
CONCURRENT_WRITE = "并发冲突，请重试 conflicting concurrent write, retry"


def upsert_profiles(session: Session, profiles: Sequence[Profile]) -> ProfilesUpserted:
    """Insert or replace profiles by id (last one wins within the list); the caller commits.

    Bumps the shared ``index`` version in the same transaction, so every service
    process refits once this commits (``xfd.api.sync``), and not when it rolls back."""
    by_id: dict[str, Profile] = {}
    for p in profiles:
        by_id[p.id] = p
    ids = list(by_id)
    existing: dict[str, ProfileRow] = {}
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        existing.update({r.id: r for r in session.scalars(select(ProfileRow).where(ProfileRow.id.in_(chunk)))})
    for pid, p in by_id.items():
        fields = profile_fields(p)
        row = existing.get(pid)
        if row is None:
            session.add(ProfileRow(id=pid, **fields))
        else:
            for name, value in fields.items():
                setattr(row, name, value)
    session.flush()
    if ids:
        bump_version(session)
    return ProfilesUpserted(upserted=len(ids), created=len(ids) - len(existing), updated=len(existing), ids=ids)


def commit_profiles(session: Session, profiles: Sequence[Profile]) -> ProfilesUpserted:
    """Upsert and commit, retrying when a concurrent writer inserted one of the ids first
    (``Conflict`` after ``WRITE_ATTEMPTS`` tries)."""
    for _attempt in range(WRITE_ATTEMPTS):
        try:
            result = upsert_profiles(session, profiles)
            session.commit()
            return result
        except IntegrityError:
            session.rollback()
    raise Conflict(CONCURRENT_WRITE)


def profiles_query() -> Select:
    """``select(ProfileRow)`` ordered by id."""
    return select(ProfileRow).order_by(ProfileRow.id)


def list_profiles(session: Session, limit: int | None = None, offset: int = 0) -> list[ProfileRow]:
    """Profile rows ordered by id; ``limit`` None means all."""
    return list(session.scalars(profiles_query().offset(offset).limit(limit)))


def get_profile(session: Session, profile_id: str) -> ProfileRow:
    """The row, or ``NotFound("profile", id)``."""
    row = session.get(ProfileRow, profile_id)
    if row is None:
        raise NotFound("profile", profile_id)
    return row


#: a profile kind in Chinese, for the reason a non-teacher profile cannot carry a teacher key
KIND_ZH = {"teacher": "教师", "student": "学生", "team": "团队"}


def teacher_profile_problem(session: Session, profile_id: str) -> str | None:
    """Why ``profile_id`` cannot bind a teacher key or account — no stored profile has that id,
    or the stored one is a student or a team — as one line, Chinese then English, naming the id;
    None when it is a stored teacher's profile.  The rule of ``xfd keys create --role teacher``,
    ``xfd users create --role teacher`` and the pages ``/admin/keys`` and ``/admin/users``."""
    kind = session.scalar(select(ProfileRow.kind).where(ProfileRow.id == profile_id))
    if kind is None:
        return f"没有这位教师 no teacher profile with id {profile_id!r}"
    if kind != "teacher":
        return f"{profile_id!r} 是{KIND_ZH.get(kind, kind)}，不是教师 is a {kind} profile, not a teacher"
    return None


def load_profiles(session: Session) -> list[Profile]:
    """Every stored profile as a domain record, ordered by id (what the match index is fitted on)."""
    return [profile_from_row(r) for r in list_profiles(session)]


def count_profiles(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ProfileRow)) or 0


def profile_labels(session: Session, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """``{profile id: (name, kind)}`` of the ids that exist (in one transaction)."""
    labels: dict[str, tuple[str, str]] = {}
    for start in range(0, len(ids), ID_CHUNK):
        chunk = list(ids[start : start + ID_CHUNK])
        for r in session.execute(select(ProfileRow.id, ProfileRow.name, ProfileRow.kind).where(ProfileRow.id.in_(chunk))):
            labels[r.id] = (r.name, r.kind)
    return labels
