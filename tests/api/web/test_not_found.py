"""Unknown paths and form-only URLs: a browser gets the Chinese 404/405 page (with the menu when
signed in), API clients keep FastAPI's JSON."""
from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.web.conftest import login

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


def test_get_on_a_form_only_page_is_the_chinese_405_page(client: TestClient) -> None:
    login(client, "office1")
    for path in ("/demands/D1/proposal", "/teams/T1/activities", "/admin/users/office1/disable"):
        r = client.get(path, headers=HTML)
        assert r.status_code == 405, path
        assert r.headers["content-type"].startswith("text/html") and "POST" in r.headers["allow"]
        assert "此网址只接受表单提交" in r.text and "Method Not Allowed" not in r.text
        assert client.get(path).json() == {"detail": "Method Not Allowed"}  # a program still gets JSON
    r = client.put("/v1/demands", headers=HTML)
    assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}


def test_error_pages_keep_the_menu_of_a_signed_in_person(client: TestClient) -> None:
    anonymous = client.get("/no-such-page", headers=HTML)
    assert 'aria-label="主菜单"' not in anonymous.text
    login(client, "ent1")
    for r in (client.get("/no-such-page", headers=HTML),        # 404 of no route
              client.get("/demands/NOPE", headers=HTML),         # 404 of a page
              client.get("/office/inbox", headers=HTML),         # 403 of the role check
              client.get("/demands/D1/proposal", headers=HTML),  # 405
              client.get("/demands?page=0", headers=HTML)):      # 422 of a bad query
        assert r.status_code in (403, 404, 405, 422), r.status_code
        assert 'aria-label="主菜单"' in r.text and "我的需求" in r.text and "退出" in r.text, r.status_code
