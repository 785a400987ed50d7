"""The web UI for people: server-rendered Chinese pages (Jinja2) on the same
server as the API, with every asset served from ``static/`` (no CDN).

``mount(app)`` adds the static files and the page routers; each page module
is a thin router over ``xfd.api.crud`` / ``xfd.api.accounts``.
"""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from xfd.api.web import admin, demands, login, office, proposal, runs, service, teacher
from xfd.api.web.render import STATIC_DIR

#: every page router, in the order they are included
ROUTERS = [login.router, demands.router, proposal.router, office.router, runs.router, teacher.router, service.router,
           admin.router]


def mount(app: FastAPI) -> None:
    """Serve ``/static`` and every page router on ``app``."""
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="web-static")
    for router in ROUTERS:
        app.include_router(router)
