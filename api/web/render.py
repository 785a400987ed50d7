"""Rendering pages: the Jinja2 environment, small filters and the route class
that turns every failure of a page into an HTML page (never JSON, never a 500
with a traceback).

``PageRoute`` maps: no session -> 303 to ``/login?next=…``; ``PageError`` ->
its status; the data layer's ``NotFound``/``Forbidden``/``Conflict``/
``FieldInvalid`` -> 404/403/409/422; a malformed query or form -> 422.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy.exc import SQLAlchemyError

from xfd import corpora
from xfd.api import crud
from xfd.api.crud.profiles import KIND_ZH
from xfd.api.errors import Conflict, DomainError, FieldInvalid, Forbidden, NotFound
from xfd.api.web import messages
from xfd.api.web.auth import CSRF_FIELD, SESSION_COOKIE, LoginRequired, PageError, Viewer, optional_viewer

HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
STATIC_DIR = HERE / "static"

#: Chinese labels of demand statuses (display only; the lifecycle module owns the transitions)
STATUS_LABELS = {
    "submitted": "待审核", "accepted": "已受理", "returned": "已退回", "teamed": "已组队",
    "in_service": "服务中", "solved": "已解决", "unsolved": "未解决", "withdrawn": "已撤回",
    "open": "待处理", "assigned": "已组队", "closed": "已关闭",
}
#: every page: nothing from other origins, no framing, forms only to this server
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
RUN_LABELS = {"queued": "排队中", "running": "运行中", "done": "已完成", "failed": "失败", "cancelled": "已取消"}
KIND_LABELS = KIND_ZH  # one table with the teacher-profile rule (xfd.api.crud.profiles)
ACTOR_LABELS = {"office": "办公室", "enterprise": "企业", "teacher": "教师", "admin": "管理员", "system": "系统", "demo": "演示数据"}


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", status or "")


def highlight(text: str, terms: Iterable[str]) -> Markup:
    """``text`` HTML-escaped with every occurrence of ``terms`` wrapped in ``<mark>``."""
    words = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)
    if not words:
        return escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text):
        out.append(escape(text[last:m.start()]))
        out.append(Markup("<mark>") + escape(m.group(0)) + Markup("</mark>"))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


@functools.cache
def _industries() -> dict[str, str]:
    return corpora.read_industries()


def industry_label(code: str | None) -> str:
    """``C`` -> ``C 制造业`` (GB/T 4754 sections and divisions); unknown codes as given."""
    names = _industries()
    return f"{code} {names[code]}" if code and code in names else (code or "")


def when(value: dt.datetime | str | None) -> str:
    """``2026-12-01 20:55`` in UTC, or an empty string (ISO strings are parsed)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def url_with(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters replaced (None drops one)."""
    params = dict(request.query_params)
    for k, v in changes.items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = str(v)
    return request.url.path + ("?" + urlencode(params) if params else "")


TEMPLATES.env.filters["status"] = status_label
TEMPLATES.env.filters["highlight"] = highlight
TEMPLATES.env.filters["when"] = when
TEMPLATES.env.filters["actor"] = lambda who: ACTOR_LABELS.get(str(who), str(who))
TEMPLATES.env.filters["industry"] = industry_label
TEMPLATES.env.filters["urlq"] = lambda s: quote(str(s), safe="")
TEMPLATES.env.globals.update(RUN_LABELS=RUN_LABELS, KIND_LABELS=KIND_LABELS, CSRF_FIELD=CSRF_FIELD, url_with=url_with)


def page(request: Request, template: str, viewer: Viewer | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the viewer (for the menu and CSRF fields) and ``context``."""
    if viewer is not None:  # the id this viewer knows a demand by (an enterprise's own ``ref``)
        context.setdefault("did", lambda row: crud.public_demand_id(row, viewer.principal))
    response = TEMPLATES.TemplateResponse(request, template, {"viewer": viewer, **context}, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(SECURITY_HEADERS)
    return response


def _signed_in(request: Request) -> Viewer | None:
    """The viewer of this request for an error page's menu: the one a page dependency found,
    else the session cookie's (looked up read-only; none when there is no valid session)."""
    viewer = getattr(request.state, "viewer", None)
    if viewer is not None or not request.cookies.get(SESSION_COOKIE):
        return viewer
    sessions = getattr(request.app.state, "sessions", None)
    if sessions is None:
        return None
    try:
        with sessions() as session:
            return optional_viewer(request, session)
    except SQLAlchemyError:  # the database is down or busy: an error page never fails for want of its menu
        return None


def error_page(request: Request, status: int, message: str, title: str = "") -> HTMLResponse:
    titles = {403: "无权限 Forbidden", 404: "页面不存在 Not found", 405: "不支持此操作 Method not allowed",
              409: "操作冲突 Conflict", 422: "输入有误 Invalid input", 429: "请稍后再试 Too many attempts"}
    return page(request, "error.html", _signed_in(request), status_code=status,
                title=title or titles.get(status, f"错误 {status}"), message=message, status=status)


def _domain_status(exc: DomainError) -> int:
    for cls, status in ((NotFound, 404), (Forbidden, 403), (Conflict, 409), (FieldInvalid, 422)):
        if isinstance(exc, cls):
            return status
    return 400


def _validation_message(exc: RequestValidationError) -> str:
    return messages.summary(list(exc.errors()))


class PageRoute(APIRoute):
    """An APIRoute whose failures are HTML pages (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            except PageError as exc:
                return error_page(request, exc.status, exc.message, exc.title)
            except DomainError as exc:
                return error_page(request, _domain_status(exc), str(exc))
            except RequestValidationError as exc:
                return error_page(request, 422, _validation_message(exc))
            except HTTPException as exc:
                return error_page(request, exc.status_code, str(exc.detail))

        return run
