"""``/login``, ``/logout`` and ``/``: starting and ending a browser session."""
from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xfd.api import accounts
from xfd.api.deps import SessionDep
from xfd.api.web.auth import (
    CSRF_FAILED,
    LOGIN_COOKIE,
    LOGIN_COOKIE_AGE,
    SESSION_COOKIE,
    OptionalViewerDep,
    ViewerDep,
    check_csrf,
    session_token,
    sign,
    unsign,
)
from xfd.api.web.render import PageRoute, error_page, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

HOME = {"office": "/office/inbox", "admin": "/office/inbox", "enterprise": "/demands", "teacher": "/teacher"}
WRONG = "用户名或密码错误 wrong username or password"


def _safe_next(target: str | None) -> str:
    """Only local paths (``/…``, not ``//host``) are followed after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target and len(target) < 500:
        return target
    return ""


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _login_form(request: Request, session: SessionDep, status_code: int = 200, error: str = "", username: str = "",
                next_: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", None, status_code=status_code, login_csrf=token, error=error,
                    username=username, next=next_)
    response.set_cookie(LOGIN_COOKIE, sign(request, session, token), max_age=LOGIN_COOKIE_AGE, httponly=True,
                        samesite="lax", secure=_secure(request), path="/login")
    return response


@router.get("/", response_class=HTMLResponse)
def home(viewer: OptionalViewerDep) -> Response:
    if viewer is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME.get(viewer.account.role, "/demands"), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, session: SessionDep, viewer: OptionalViewerDep, next: str = "") -> Response:
    if viewer is not None:
        return RedirectResponse(_safe_next(next) or HOME.get(viewer.account.role, "/demands"), status_code=303)
    return _login_form(request, session, next_=_safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    expected = unsign(request, session, request.cookies.get(LOGIN_COOKIE), LOGIN_COOKIE_AGE)
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return error_page(request, 403, CSRF_FAILED, "请求被拒绝 Forbidden")
    ip = request.client.host if request.client else "-"
    try:
        user = accounts.authenticate(session, username, password, ip)
    except accounts.Throttled as exc:
        response = error_page(request, 429, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if user is None:
        session.commit()
        return _login_form(request, session, 401, WRONG, username.strip()[:100], _safe_next(next))
    token, _row = accounts.start_session(session, user)
    accounts.purge_expired(session)
    session.commit()
    response = RedirectResponse(_safe_next(next) or HOME.get(user.role, "/demands"), status_code=303)
    response.set_cookie(SESSION_COOKIE, sign(request, session, token), max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
                        httponly=True, samesite="lax", secure=_secure(request), path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def _logout(request: Request, session: SessionDep) -> Response:
    token = session_token(request, session)
    if token:
        accounts.end_session(session, token)
        session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep, viewer: ViewerDep) -> Response:
    await check_csrf(request, viewer)
    return _logout(request, session)


@router.get("/logout")
def logout_link(request: Request, session: SessionDep) -> Response:
    """A plain link also ends the session (the worst a forged one can do is log someone out)."""
    return _logout(request, session)
