"""The web UI for people: server-rendered Chinese pages (Jinja2) on the same
server as the API, with every asset served from ``static/`` (no CDN).

``mount(app)`` adds the static files and the page routers; each page module
is a thin router over ``xfd.api.crud`` / ``xfd.api.accounts``.
"""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from xfd.api.web import admin, calibration, demands, login, office, proposal, runs, service, teacher
from xfd.api.web.render import STATIC_DIR, error_page

#: every page router, in the order they are included
ROUTERS = [login.router, demands.router, proposal.router, office.router, runs.router, teacher.router, service.router,
           admin.router, calibration.router]


#: path prefixes that belong to the HTTP API and machines: their 404s stay JSON
API_PREFIXES = ("/v1/", "/healthz", "/docs", "/openapi.json", "/static/")


def wants_page(request: Request) -> bool:
    """A person's browser asking for a page: HTML accepted and not an API path."""
    path = request.url.path
    api = path == "/v1" or path.startswith(API_PREFIXES)
    return not api and "text/html" in request.headers.get("accept", "")


async def not_found_page(request: Request, exc: StarletteHTTPException) -> Response:
    """404 of an unknown page and 405 of a form-only URL: the Chinese error page for browsers
    (405 keeps its ``Allow`` header), FastAPI's JSON otherwise."""
    if exc.status_code == 404 and wants_page(request):
        return error_page(request, 404, "没有这个页面 there is no such page: " + request.url.path[:200])
    if exc.status_code == 405 and wants_page(request):
        allow = (exc.headers or {}).get("Allow", "")
        if "GET" in allow.upper().replace(" ", "").split(","):
            method = request.method[:20]
            message = f"此网址不支持 {method} 请求 this address does not take {method} (allowed: {allow})"
        else:
            message = ("此网址只接受表单提交，不能直接打开；请回到上一页使用页面上的按钮 "
                       f"this address only takes a form submission ({allow or 'POST'}); go back and use the button on the page")
        response = error_page(request, 405, message)
        if allow:
            response.headers["Allow"] = allow
        return response
    return await http_exception_handler(request, exc)


def mount(app: FastAPI) -> None:
    """Serve ``/static`` and every page router on ``app``; unknown pages get the HTML 404."""
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="web-static")
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(StarletteHTTPException, not_found_page)
