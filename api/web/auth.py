"""Who is looking at a page: the signed session cookie, role checks and CSRF.

The cookie ``xfd_session`` holds a random token signed with itsdangerous
(key: ``accounts.cookie_secret``); it is HttpOnly, SameSite=Lax, expires with
the session (``accounts.SESSION_LIFETIME``) and is Secure when the page was
served over https.  Every POST carries ``csrf_token``: the session's token
once logged in, or on the login form the token of the ``xfd_login`` cookie
(double submit).  A missing or wrong token is a 403 page.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from itsdangerous import BadSignature, TimestampSigner
from sqlalchemy.orm import Session

from xfd.api import accounts
from xfd.api.deps import SessionDep
from xfd.api.security import Principal

SESSION_COOKIE = "xfd_session"
LOGIN_COOKIE = "xfd_login"
CSRF_FIELD = "csrf_token"
LOGIN_COOKIE_AGE = 3600


class LoginRequired(Exception):
    """No valid session: the page answers with a redirect to ``/login?next=…``."""


class PageError(Exception):
    """A page-level failure rendered as an HTML page with ``status`` and a Chinese + English message."""

    def __init__(self, status: int, message: str, title: str = "") -> None:
        self.status, self.message, self.title = status, message, title
        super().__init__(message)


CSRF_FAILED = "表单已失效或来源不明，请返回上一页刷新后重新提交 the form's security token is missing or invalid; reload the page and submit again"


@dataclass(frozen=True)
class Viewer:
    """The logged-in person of this request and their session's CSRF token."""

    account: accounts.Account
    csrf: str

    @property
    def principal(self) -> Principal:
        """The same principal the API's data access takes (``key_id`` 0: not an API key)."""
        a = self.account
        return Principal(key_id=0, role=a.role, enterprise_id=a.enterprise_id, user_id=a.user_id, profile_id=a.profile_id)


def _signer(request: Request, session: Session) -> TimestampSigner:
    signer = getattr(request.app.state, "web_signer", None)
    if signer is None:
        signer = TimestampSigner(accounts.cookie_secret(session), salt="xfd-web-session")
        request.app.state.web_signer = signer
    return signer


def sign(request: Request, session: Session, value: str) -> str:
    return _signer(request, session).sign(value).decode("ascii")


def unsign(request: Request, session: Session, cookie: str | None, max_age: int) -> str | None:
    """The signed value of a cookie, or None when absent, forged or older than ``max_age`` seconds."""
    if not cookie or len(cookie) > 400:
        return None
    try:
        return _signer(request, session).unsign(cookie, max_age=max_age).decode("ascii")
    except (BadSignature, UnicodeDecodeError):
        return None


def session_token(request: Request, session: Session) -> str | None:
    return unsign(request, session, request.cookies.get(SESSION_COOKIE), int(accounts.SESSION_LIFETIME.total_seconds()))


def optional_viewer(request: Request, session: SessionDep) -> Viewer | None:
    token = session_token(request, session)
    found = accounts.lookup_session(session, token) if token else None
    if found is None:
        return None
    account, row = found
    viewer = Viewer(account, row.csrf)
    request.state.principal = viewer.principal  # who, for the audit log (xfd.api.audit)
    request.state.viewer = viewer  # for the menu of an error page
    return viewer


def get_viewer(viewer: Annotated[Viewer | None, Depends(optional_viewer)]) -> Viewer:
    if viewer is None:
        raise LoginRequired()
    return viewer


OptionalViewerDep = Annotated[Viewer | None, Depends(optional_viewer)]
ViewerDep = Annotated[Viewer, Depends(get_viewer)]

ROLE_NEEDED = {"office": "办公室", "enterprise": "企业", "teacher": "教师", "admin": "管理员"}


def require(*roles: str) -> Callable[[Viewer], Viewer]:
    """A dependency admitting only these roles (403 page otherwise); ``office`` admits admin too."""
    allowed = set(roles) | ({"admin"} if "office" in roles else set())

    def check(viewer: ViewerDep) -> Viewer:
        if viewer.account.role not in allowed:
            names = "、".join(ROLE_NEEDED.get(r, r) for r in roles)
            raise PageError(403, f"无权限：此页面只对{names}开放 forbidden: this page is for {', '.join(roles)}", "无权限 Forbidden")
        return viewer

    return check


async def form_token(request: Request) -> str:
    form = await request.form()
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


async def check_csrf(request: Request, viewer: ViewerDep) -> Viewer:
    """The viewer, once the posted form carries their session's CSRF token (403 page otherwise)."""
    if not secrets.compare_digest(await form_token(request), viewer.csrf):
        raise PageError(403, CSRF_FAILED, "请求被拒绝 Forbidden")
    return viewer


def csrf_for(*roles: str) -> Callable[..., Viewer]:
    """A dependency for form POSTs: CSRF checked first, then the role."""
    role_check = require(*roles)

    async def check(request: Request, viewer: ViewerDep) -> Viewer:
        await check_csrf(request, viewer)
        return role_check(viewer)

    return check


CsrfDep = Annotated[Viewer, Depends(check_csrf)]
