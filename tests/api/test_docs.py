"""The OpenAPI docs page works offline: its assets are served by the app itself; no page the
server answers loads anything from outside it (ReDoc, which loads from CDNs, is not served)."""
from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.api.web.conftest import login, seed
from xfd.api import web
from xfd.api.app import create_app
from xfd.api.settings import Settings

#: a URL with a scheme or protocol-relative (``//host``) in src/href/action/url(...)/@import
EXTERNAL = re.compile(r"""(?:\b(?:src|href|action)\s*=\s*["']?|url\(\s*["']?|@import\s+["'])\s*(?:[a-z][a-z0-9+.-]*:|//)""",
                      re.IGNORECASE)


def test_docs_page_and_assets_are_local(tmp_path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", model="lexical"))
    with TestClient(app) as c:
        page = c.get("/docs")
        assert page.status_code == 200
        assert "/docs-static/swagger-ui-bundle.js" in page.text
        assert "cdn" not in page.text.lower()
        assert not EXTERNAL.search(page.text)
        assert '"validatorUrl": null' in page.text  # Swagger UI's default would be validator.swagger.io
        js = c.get("/docs-static/swagger-ui-bundle.js")
        assert js.status_code == 200 and len(js.content) > 100_000
        assert c.get("/openapi.json").json()["info"]["title"].startswith("xfd")


def test_redoc_is_not_served(tmp_path) -> None:
    """FastAPI's ReDoc page loads cdn.jsdelivr.net, fonts.googleapis.com and fastapi.tiangolo.com."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", model="lexical"))
    with TestClient(app) as c:
        assert c.get("/redoc").status_code == 404
    assert app.redoc_url is None


def test_the_pattern_finds_external_references() -> None:
    for html in ('<script src="https://cdn.jsdelivr.net/x.js">', "<link href='//fonts.googleapis.com/css'>",
                 "body { background: url(http://x/y.png) }", '@import "https://x/y.css";', '<img src=HTTPS://x>'):
        assert EXTERNAL.search(html), html
    for html in ('<script src="/static/app.js">', '<a href="/demands/D1">', '<a href="#top">', "url(/static/a.svg)",
                 '<form action="/login">', "mailto is text here: https://example.org"):
        assert not EXTERNAL.search(html), html


def test_no_page_references_anything_outside_the_server(tmp_path) -> None:
    """Every GET route without path parameters, signed out and signed in as the office and an admin:
    the HTML (and CSS) it answers names no other host."""
    from tests.fakes import FakeScorer, greedy_planner

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'web.db'}"), scorer_factory=FakeScorer,
                     planner=greedy_planner)
    routes = [r for router in web.ROUTERS for r in router.routes] + list(app.routes)
    paths = sorted({r.path for r in routes if "GET" in (getattr(r, "methods", None) or ()) and "{" not in r.path})
    assert "/docs" in paths and "/demands" in paths
    with TestClient(app, follow_redirects=False) as c:
        seed(app)
        checked = 0
        for who in (None, "office1", "admin1"):
            if who:
                login(c, who)
            for path in paths:
                r = c.get(path)
                kind = r.headers.get("content-type", "")
                if r.status_code == 200 and ("html" in kind or "css" in kind):
                    checked += 1
                    assert not EXTERNAL.search(r.text), (who, path, EXTERNAL.search(r.text))
        css = c.get("/static/xfd.css")
        assert css.status_code == 200 and not EXTERNAL.search(css.text)
        assert checked > 10
