"""The FastAPI application factory.

``create_app(settings)`` wires storage, the warm scoring engine and the
run manager (queued runs, executed by worker threads or processes) onto
``app.state``; the lifespan migrates the database to head, loads the model
once and fails runs whose worker stopped answering (lease expired).
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from swagger_ui_bundle import swagger_ui_path

from xfd.api import web
from xfd.api.edge import install_edge
from xfd.api.engine import IndexUnavailable, Scorer, default_scorer_factory
from xfd.api.errors import Conflict, FieldInvalid, Forbidden, NotFound
from xfd.api.routers import calibrations, demands, feedback, health, keys, lifecycle, profiles, reports, runs, teams
from xfd.api.runs import Planner, RunManager, default_planner
from xfd.api.settings import Settings
from xfd.api.storage.db import make_engine, make_session_factory, upgrade_to_head
from xfd.api.sync import embedding_store, synced_engine
from xfd.api.web.messages import error_text

log = logging.getLogger("xfd.api")

DESCRIPTION = """小分队匹配服务 — enterprises submit technical problems, the tech-transfer
office gets ranked teachers/students with evidence and batch team plans.

Every call but `/healthz` needs `Authorization: Bearer <key>` (`xfd keys create`).
"""

def mount_offline_docs(app: FastAPI) -> None:
    """``/docs`` with Swagger UI files from the ``swagger-ui-bundle`` package (no CDN)."""
    app.mount("/docs-static", StaticFiles(directory=swagger_ui_path), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def _docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API docs",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/docs-static/favicon-32x32.png",
            # Swagger UI's validator badge would fetch validator.swagger.io (not shown by this
            # layout, but off in any case: nothing is loaded from outside the server)
            swagger_ui_parameters={"validatorUrl": None},
        )


#: a body FastAPI did not decode as JSON (no ``application/json`` content type): it validates the raw bytes
BODY_NOT_JSON = "请求体应为 JSON 对象 body must be a JSON object (Content-Type: application/json)"


def _body_msg(error: dict) -> str:
    """``error_text`` of one validation error; a whole body that arrived as bytes (not sent as
    JSON) gets :data:`BODY_NOT_JSON` rather than a message quoting the bytes' repr."""
    if tuple(error.get("loc", ())) == ("body",) and isinstance(error.get("input"), (bytes, bytearray)):
        return BODY_NOT_JSON
    return error_text(error)


def install_domain_error_handlers(app: FastAPI) -> None:
    """Answer ``xfd.api.errors`` exceptions (raised by ``xfd.api.crud``) as HTTP errors:
    ``NotFound`` 404, ``Forbidden`` 403, ``Conflict`` 409, ``FieldInvalid`` 422 in
    FastAPI's validation shape; the body is ``{"detail": …}`` as for ``HTTPException``."""

    @app.exception_handler(NotFound)
    async def _not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Forbidden)
    async def _forbidden(_request: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(Conflict)
    async def _conflict(_request: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(FieldInvalid)
    async def _field(_request: Request, exc: FieldInvalid) -> JSONResponse:
        return JSONResponse({"detail": [{"loc": exc.loc, "msg": exc.message, "type": "value_error"}]}, status_code=422)


def create_app(
    settings: Settings | None = None,
    *,
    scorer_factory: Callable[[], Scorer] | None = None,
    planner: Planner | None = None,
    run_threads: int = 1,
) -> FastAPI:
    """Build the service.  ``scorer_factory`` / ``planner`` replace the scoring
    core and the team solver (tests pass fakes); defaults follow ``settings.model``
    and ``matching.assign``.  ``run_threads`` worker threads of this process execute
    queued runs (``xfd.api.runs.RunWorker``); ``xfd serve`` passes 0 and runs them in
    separate worker processes instead (``xfd.api.worker``)."""
    settings = settings or Settings()
    db = make_engine(settings.database_url)
    sessions = make_session_factory(db)
    # the index follows the shared version counter (profiles and the active calibration of the database)
    synced = synced_engine(settings, db, scorer_factory or default_scorer_factory(
        settings.model, lambda: embedding_store(settings, db)))
    engine = synced.engine
    run_manager = RunManager(sessions, engine, planner or default_planner, solver=settings.solver,
                             continuity_bonus=settings.continuity_bonus, threads=run_threads, lease=settings.run_lease,
                             heartbeat=settings.run_heartbeat, poll=settings.run_poll,
                             score_batch=settings.run_score_batch)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            upgrade_to_head(db)
        n = run_manager.recover()
        if n:
            log.warning("%d interrupted assignment run(s) marked failed (their worker stopped answering)", n)
        run_manager.open()
        engine.start()  # fits with the active calibration, if any (read at every refit)
        synced.watcher.start()
        try:
            yield
        finally:
            run_manager.close()
            synced.watcher.close()
            engine.close()
            db.dispose()

    app = FastAPI(
        title="xfd 小分队匹配",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below from the bundled Swagger UI: no CDN, works offline
        redoc_url=None,  # ReDoc loads its script and fonts from CDNs; /docs is the (local) API reference
    )
    mount_offline_docs(app)
    app.state.settings = settings
    app.state.db = db
    app.state.sessions = sessions
    app.state.engine = engine
    app.state.version_watcher = synced.watcher
    app.state.runs = run_manager

    install_edge(app, settings)  # size limits, rate limits, OPTIONS/405 Allow, audit log + GET /v1/audit

    install_domain_error_handlers(app)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's body, minus the echoed "input"/"ctx" (may hold NaN or megabytes); "msg" Chinese + English
        detail = [{"loc": list(e.get("loc", ())), "msg": _body_msg(e), "type": str(e.get("type", ""))}
                  for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(IndexUnavailable)
    async def _index_down(_request: Request, exc: IndexUnavailable) -> JSONResponse:
        return JSONResponse({"detail": f"匹配索引不可用 matching index unavailable: {exc}"}, status_code=503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(OperationalError)
    async def _db_busy(_request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database error: %s", exc)
        return JSONResponse({"detail": "数据库繁忙，请稍后重试 database busy, retry later"}, status_code=503,
                            headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _bug(_request: Request, exc: Exception) -> JSONResponse:
        # Starlette re-raises after this handler, so tests (TestClient) still see the bug.
        log.error("unhandled error: %s: %s", type(exc).__name__, exc)
        return JSONResponse({"detail": "服务内部错误 internal server error"}, status_code=500)

    for module in (health, profiles, demands, lifecycle, teams, reports, runs, feedback, keys, calibrations):
        app.include_router(module.router)
    web.mount(app)  # the pages for people (api/web), after the API routes
    return app
