"""People's accounts: create, list, disable, authenticate, browser sessions.

The functions the login pages, the admin pages, ``xfd users`` and ``xfd demo``
all call.  Passwords are hashed with argon2id (``argon2-cffi``) and never
stored, logged or returned in clear.  A browser session is a random token in a
signed cookie; the database keeps only its sha256, its CSRF token and its
expiry.  Failed logins are counted per (username, client address): after
``MAX_FAILURES`` within ``FAILURE_WINDOW`` further attempts are refused
(``Throttled``) until the window has passed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xfd.api.crud.profiles import teacher_profile_problem
from xfd.api.security import bound_record_id
from xfd.api.storage.accounts import LoginFailure, User, WebSecret, WebSession
from xfd.api.storage.models import Enterprise, ProfileRow, utcnow

ROLES: tuple[str, ...] = ("office", "enterprise", "teacher", "admin")
ROLE_NAMES_ZH = {"office": "办公室", "enterprise": "企业", "teacher": "教师", "admin": "管理员"}
MIN_PASSWORD = 8
MAX_PASSWORD = 200
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
SESSION_LIFETIME = dt.timedelta(hours=8)

#: argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~0.1 s on a busy 2-core machine
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


class AccountError(ValueError):
    """An account cannot be created or changed with these values; ``field`` names the argument."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class Throttled(Exception):
    """Too many failed logins for this username from this address; ``retry_after`` in seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"登录失败次数过多，请 {retry_after // 60 + 1} 分钟后再试 too many failed logins, retry later")


@dataclass(frozen=True)
class Account:
    """A logged-in person: user id, username, role and what the role is bound to."""

    user_id: int
    username: str
    role: str
    enterprise_id: str | None
    profile_id: str | None
    display_name: str

    @property
    def is_staff(self) -> bool:
        """Office or admin: sees every enterprise's demands."""
        return self.role in ("office", "admin")

    @property
    def role_zh(self) -> str:
        return ROLE_NAMES_ZH.get(self.role, self.role)


def account_of(user: User) -> Account:
    return Account(user.id, user.username, user.role, user.enterprise_id, user.profile_id, user.display_name or user.username)


def hash_password(password: str) -> str:
    """An argon2id hash string (salted, parameters included)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_username(username: str) -> str:
    username = (username or "").strip()
    if not 1 <= len(username) <= 100 or any(c.isspace() or not c.isprintable() or c in "/?#<>\"'" for c in username):
        raise AccountError("username", f"用户名无效（1–100 个字符，不含空格和 /?#<>\"'） invalid username {username!r}")
    return username


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
        raise AccountError("password", f"密码长度须为 {MIN_PASSWORD}–{MAX_PASSWORD} 个字符 "
                                       f"password must have {MIN_PASSWORD}–{MAX_PASSWORD} characters")


def _check_binding(session: Session, role: str, enterprise: str | None,
                   profile: str | None) -> tuple[str | None, str | None]:
    """``(enterprise, profile)`` under the id rule (``bound_record_id``), or AccountError naming the field."""
    if role not in ROLES:
        raise AccountError("role", f"角色必须是 must be one of {', '.join(ROLES)}, got {role!r}")
    if role == "enterprise" and not enterprise:
        raise AccountError("enterprise", "企业账号需要 --enterprise ID (an enterprise account needs an enterprise id)")
    if role != "enterprise" and enterprise:
        raise AccountError("enterprise", f"只有企业账号绑定企业 only enterprise accounts carry an enterprise id (role {role})")
    if role == "teacher" and not profile:
        raise AccountError("profile", "教师账号需要 --profile ID (a teacher account needs a profile id)")
    if role != "teacher" and profile:
        raise AccountError("profile", f"只有教师账号绑定人员 only teacher accounts carry a profile id (role {role})")
    if enterprise and (enterprise := bound_record_id(raw := enterprise)) is None:
        raise AccountError("enterprise", f"企业编号无效 invalid enterprise id {raw!r}")
    if profile and (profile := bound_record_id(raw := profile)) is None:
        raise AccountError("profile", f"人员编号无效 invalid profile id {raw!r}")
    if profile and (problem := teacher_profile_problem(session, profile)) is not None:
        raise AccountError("profile", problem)
    return enterprise, profile


def create_user(session: Session, role: str, username: str, password: str, *, enterprise: str | None = None,
                profile: str | None = None, display_name: str = "") -> User:
    """Store a new account (the caller commits); the enterprise row is created when missing.

    Raises ``AccountError`` naming the bad argument (role, username taken, short password,
    missing or superfluous binding, unknown teacher profile).
    """
    username = _check_username(username)
    enterprise = (enterprise or "").strip() or None
    profile = (profile or "").strip() or None
    enterprise, profile = _check_binding(session, role, enterprise, profile)
    _check_password(password)
    if "\x00" in display_name:  # PostgreSQL cannot store NUL
        raise AccountError("display_name", "显示名含有非法字符 the display name contains the character U+0000")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError("username", f"用户名已存在 username already taken: {username}")
    if enterprise and session.get(Enterprise, enterprise) is None:
        session.add(Enterprise(id=enterprise))
    user = User(username=username, password_hash=hash_password(password), role=role, enterprise_id=enterprise,
                profile_id=profile, display_name=display_name[:100], disabled=False)
    session.add(user)
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def set_disabled(session: Session, username: str, disabled: bool = True) -> User:
    """Disable (or re-enable) an account; disabling also ends its sessions. The caller commits."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError("username", f"没有这个账号 no account named {username!r}")
    user.disabled = disabled
    if disabled:
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user


def _recent_failures(session: Session, username: str, ip: str, now: dt.datetime) -> Sequence[dt.datetime]:
    return list(session.scalars(select(LoginFailure.at).where(
        LoginFailure.username == username[:100], LoginFailure.ip == ip[:100], LoginFailure.at > now - FAILURE_WINDOW)))


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def authenticate(session: Session, username: str, password: str, ip: str) -> User | None:
    """The active account for these credentials, or None (the failure is recorded; the caller commits).

    Raises ``Throttled`` without checking the password once ``MAX_FAILURES`` failures
    for (username, ip) fall within ``FAILURE_WINDOW``.
    """
    now = utcnow()
    username = (username or "").strip()
    failures = _recent_failures(session, username, ip, now)
    if len(failures) >= MAX_FAILURES:
        oldest = min(_aware(t) for t in failures)
        raise Throttled(max(1, int((oldest + FAILURE_WINDOW - now).total_seconds())))
    user = session.scalar(select(User).where(User.username == username)) if username else None
    ok = user is not None and not user.disabled and len(password or "") <= MAX_PASSWORD \
        and verify_password(user.password_hash, password or "")
    if not ok:
        if user is None:
            hash_password("timing-equaliser")  # an unknown name costs as much as a wrong password
        session.add(LoginFailure(username=username[:100], ip=ip[:100], at=now))
        return None
    session.execute(delete(LoginFailure).where(LoginFailure.username == username, LoginFailure.ip == ip[:100]))
    user.last_login_at = now
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, user: User) -> tuple[str, WebSession]:
    """A new browser session for ``user``: ``(cookie token, row)``; the caller commits."""
    token = secrets.token_urlsafe(32)
    row = WebSession(token_hash=_token_hash(token), user_id=user.id, csrf=secrets.token_urlsafe(32),
                     expires_at=utcnow() + SESSION_LIFETIME)
    session.add(row)
    session.flush()
    return token, row


def lookup_session(session: Session, token: str) -> tuple[Account, WebSession] | None:
    """The account and session row for a cookie token, or None (unknown, expired, disabled)."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _token_hash(token)))
    if row is None or _aware(row.expires_at) <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    return account_of(user), row


def end_session(session: Session, token: str) -> None:
    """Forget this browser session (logout); the caller commits."""
    session.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))


def purge_expired(session: Session) -> int:
    """Delete expired sessions and old failures; returns how many session rows went."""
    now = utcnow()
    n = session.execute(delete(WebSession).where(WebSession.expires_at <= now)).rowcount or 0
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - FAILURE_WINDOW))
    return n


def cookie_secret(session: Session) -> str:
    """The key that signs session cookies: created once, kept in ``web_secrets`` (commits)."""
    row = session.get(WebSecret, "cookie")
    if row is None:
        session.add(WebSecret(name="cookie", value=secrets.token_urlsafe(48)))
        try:
            session.commit()
        except IntegrityError:  # another worker created it first: use theirs
            session.rollback()
        row = session.get(WebSecret, "cookie")
    return row.value


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count(User.id))) or 0)


class DemoAccount(NamedTuple):
    """A demo login printed by ``xfd demo``: username, password, role and what it is bound to."""

    username: str
    password: str
    role: str
    binding: str


def demo_teacher(session: Session) -> str | None:
    """The id of a teacher who leads a team: the lead of the oldest stored team, else the first
    teacher member of the first team profile, else the first teacher."""
    from xfd.api.storage.service import Team, TeamMember  # noqa: PLC0415  (lifecycle tables)

    lead = session.scalar(select(TeamMember.profile_id).join(Team, Team.id == TeamMember.team_id)
                          .where(TeamMember.role == "lead").order_by(Team.created_at, Team.id, TeamMember.position))
    if lead is not None and session.get(ProfileRow, lead) is not None:
        return lead
    for team in session.scalars(select(ProfileRow).where(ProfileRow.kind == "team").order_by(ProfileRow.id)):
        for pid in team.members or []:
            p = session.get(ProfileRow, str(pid))
            if p is not None and p.kind == "teacher":
                return p.id
    return session.scalar(select(ProfileRow.id).where(ProfileRow.kind == "teacher").order_by(ProfileRow.id))


def create_demo_accounts(session: Session, enterprises: Sequence[str], teacher: str | None) -> list[DemoAccount]:
    """Accounts for a demo database (the caller commits): ``office``, ``admin``,
    ``enterprise1``/``enterprise2``… bound to ``enterprises`` and ``teacher`` bound
    to the ``teacher`` profile; each password is ``<username>-demo``."""
    wanted = [("office", "office", None, None), ("admin", "admin", None, None)]
    wanted += [(f"enterprise{i}", "enterprise", e, None) for i, e in enumerate(enterprises, 1)]
    if teacher:
        wanted.append(("teacher", "teacher", None, teacher))
    out = []
    for username, role, enterprise, profile in wanted:
        password = f"{username}-demo"
        create_user(session, role, username, password, enterprise=enterprise, profile=profile)
        out.append(DemoAccount(username, password, role, enterprise or profile or ""))
    return out
