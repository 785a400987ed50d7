"""The OpenAPI docs page works offline: its assets are served by the app itself."""
from __future__ import annotations

from fastapi.testclient import TestClient

from xfd.api.app import create_app
from xfd.api.settings import Settings


def test_docs_page_and_assets_are_local(tmp_path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", model="lexical"))
    with TestClient(app) as c:
        page = c.get("/docs")
        assert page.status_code == 200
        assert "/docs-static/swagger-ui-bundle.js" in page.text
        assert "cdn" not in page.text.lower()
        js = c.get("/docs-static/swagger-ui-bundle.js")
        assert js.status_code == 200 and len(js.content) > 100_000
        assert c.get("/openapi.json").json()["info"]["title"].startswith("xfd")
