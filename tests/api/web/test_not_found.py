"""Unknown paths: a browser gets the Chinese 404 page, API clients keep FastAPI's JSON 404."""
from __future__ import annotations

from fastapi.testclient import TestClient

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_unknown_page_is_the_chinese_error_page_for_a_browser(client: TestClient) -> None:
    r = client.get("/no-such-page", headers=HTML)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "页面不存在" in r.text and "/no-such-page" in r.text


def test_unknown_api_path_and_non_browser_clients_stay_json(client: TestClient) -> None:
    for path, headers in (("/v1/no-such-thing", HTML), ("/no-such-page", {"accept": "application/json"})):
        r = client.get(path, headers=headers)
        assert r.status_code == 404, path
        assert r.json() == {"detail": "Not Found"}, path


def test_method_not_allowed_keeps_its_allow_header(client: TestClient) -> None:
    r = client.put("/healthz", headers=HTML)
    assert r.status_code == 405
    assert "GET" in r.headers["allow"]
