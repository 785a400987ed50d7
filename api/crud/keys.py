"""API keys: create (the plaintext is returned once), list, revoke."""
from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xfd.api.crud.profiles import teacher_profile_problem
from xfd.api.errors import Conflict, NotFound
from xfd.api.security import KeyError_, Principal
from xfd.api.security import create_key as _create_key
from xfd.api.storage.models import ApiKey


class FormAlreadySubmitted(Conflict):
    """The form (``form_id``) already created a key: a re-submission creates no second one."""

    def __init__(self) -> None:
        super().__init__("此表单已提交，未再创建新密钥 this form was already submitted; no new key was created")


def create_key(session: Session, role: str, enterprise: str | None = None, note: str = "",
               profile: str | None = None, *, known_teacher: bool = False,
               form_id: str | None = None) -> tuple[ApiKey, str]:
    """Store a new key and commit; returns ``(row, plaintext)``.

    Bad arguments raise ``xfd.api.security.KeyError_`` naming the argument (nothing stored).
    ``known_teacher`` (``xfd keys create`` and ``/admin/keys``): a teacher key's ``profile``
    must be a stored teacher's profile (:func:`~xfd.api.crud.profiles.teacher_profile_problem`);
    without it the profile may be imported later (``POST /v1/keys``).
    ``form_id`` (``/admin/keys``): the single-use id of the rendered form, stored with the key
    (unique); a form that already created a key raises :class:`FormAlreadySubmitted`, nothing stored.
    """
    if form_id and session.scalar(select(ApiKey.id).where(ApiKey.form_id == form_id)) is not None:
        raise FormAlreadySubmitted
    row, plaintext = _create_key(session, role, enterprise, note, profile)
    if known_teacher and row.profile_id is not None:
        if (problem := teacher_profile_problem(session, row.profile_id)) is not None:
            session.rollback()
            raise KeyError_(f"profile: {problem}")
    row.form_id = form_id or None
    try:
        session.commit()
    except IntegrityError:  # two submissions of one form at once: the other one stored its key
        session.rollback()
        if form_id and session.scalar(select(ApiKey.id).where(ApiKey.form_id == form_id)) is not None:
            raise FormAlreadySubmitted from None
        raise
    return row, plaintext


def keys_query() -> Select:
    """``select(ApiKey)`` of every key by id (revoked ones included; no secrets are stored)."""
    return select(ApiKey).order_by(ApiKey.id)


def list_keys(session: Session) -> list[ApiKey]:
    """Every key row by id (revoked ones included; no secrets are stored)."""
    return list(session.scalars(keys_query()))


def revoke_key(session: Session, key_id: int, by: Principal | None = None) -> ApiKey:
    """Mark the key revoked and commit; ``NotFound("key", id)`` when there is none.

    ``Conflict`` (nothing changed) when ``by`` would revoke the key it is using, or when
    the key is the last active admin key (key management would be locked out).
    """
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound("key", key_id)
    if by is not None and by.key_id == key_id:
        raise Conflict(f"不能吊销正在使用的密钥 a key cannot revoke itself (key {key_id}); use another admin key")
    if row.role == "admin" and not row.revoked:
        active = session.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.role == "admin", ApiKey.revoked.is_(False)))
        if (active or 0) <= 1:
            raise Conflict(f"不能吊销最后一个有效的管理员密钥 key {key_id} is the last active admin key; create another first")
    row.revoked = True
    session.commit()
    return row
