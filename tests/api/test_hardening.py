"""Hardening probes of issue 12, in process: rate limits, the audit log,
pagination on every list, OPTIONS/405 ``Allow``, timestamps, key revocation,
feedback without a profile oracle.

Oversized requests against a real server: ``test_hardening_server.py``.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.test_routes import add_key, make_settings
from tests.fakes import FakeScorer, greedy_planner
from xfd.api.app import create_app
from xfd.api.settings import Settings

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
WRITE_METHODS = ("post", "put", "patch", "delete")


def make_app(db: Path, **kw):
    """The routes tests' app, with a rate limit no test here reaches unless it sets its own."""
    settings = make_settings(db, **{"rate_limit": "100000/minute", **kw})
    return create_app(settings, scorer_factory=FakeScorer, planner=greedy_planner)


@pytest.fixture
def app(tmp_path: Path):
    return make_app(tmp_path / "xfd.db")


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def keys(app, client) -> dict[str, dict[str, str]]:
    return {"office": add_key(app, "office"), "admin": add_key(app, "admin"),
            "a": add_key(app, "enterprise", "E1"), "b": add_key(app, "enterprise", "E2")}


# -- rate limits -------------------------------------------------------------------------------
def test_n_plus_one_requests_in_the_window_the_last_is_429(tmp_path: Path):
    app = make_app(tmp_path / "r.db", rate_limit="5/minute")
    with TestClient(app) as client:
        office, other = add_key(app, "office"), add_key(app, "office")
        codes = [client.get("/v1/demands", headers=office).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        last = client.get("/v1/demands", headers=office)
        assert last.status_code == 429
        assert 1 <= int(last.headers["Retry-After"]) <= 60
        assert "请求过于频繁" in last.json()["detail"] and "too many requests (limit 5/minute)" in last.json()["detail"]
        assert client.get("/v1/demands", headers=other).status_code == 200  # per key
        assert [client.get("/healthz").status_code for _ in range(10)] == [200] * 10  # exempt


def test_rate_limit_per_address_counts_every_key(tmp_path: Path):
    app = make_app(tmp_path / "r.db", rate_limit_per_address="4/minute")
    with TestClient(app) as client:
        codes = [client.get("/v1/demands", headers={"Authorization": f"Bearer made-up-{i}"}).status_code
                 for i in range(5)]
        assert codes == [401] * 4 + [429]


def test_login_rate_is_shared_and_counted_per_name(tmp_path: Path):
    from starlette.requests import Request

    from xfd.api.ratelimit import hit_login

    app = make_app(tmp_path / "r.db", rate_limit_login="2/minute")
    request = Request({"type": "http", "app": app, "headers": [], "method": "POST", "path": "/login"})
    assert hit_login(request, "Zhang") is None
    assert hit_login(request, "zhang ") is None
    limited = hit_login(request, "ZHANG")
    assert limited is not None and 0 < limited.retry_after <= 60
    assert hit_login(request, "li") is None


def test_bad_rate_setting_names_the_value():
    with pytest.raises(ValueError, match="invalid rate 'lots'"):
        Settings(rate_limit="lots")


# -- audit log --------------------------------------------------------------------------------
def _fill(path: str, operation: dict) -> str:
    params = {p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "path"}
    for name, p in params.items():
        kind = p.get("schema", {}).get("type")
        path = path.replace("{" + name + "}", "999999" if kind == "integer" else "zz-none")
    return path


def test_every_write_route_in_the_openapi_document_leaves_an_audit_row(client, keys):
    schema = client.get("/openapi.json").json()
    expected = []
    for path, item in schema["paths"].items():
        for method in WRITE_METHODS:
            if method in item:
                r = client.request(method.upper(), _fill(path, item[method]), headers=keys["admin"], json={})
                assert r.status_code < 500, (method, path, r.status_code, r.text[:200])
                expected.append((method.upper(), path, r.status_code))
    assert len(expected) >= 8
    rows = client.get("/v1/audit?limit=1000", headers=keys["admin"]).json()
    logged = {(row["method"], row["route"], row["status"]) for row in rows}
    missing = [e for e in expected if e not in logged]
    assert not missing, missing
    assert all(row["role"] == "admin" and row["key_prefix"].startswith("xfd_") for row in rows)


def test_audit_row_says_who_what_and_target(client, keys):
    r = client.post("/v1/demands", headers=keys["a"], json={"id": "DA1", "title": "钢板表面缺陷检测"})
    assert r.status_code == 201
    client.patch("/v1/demands/DA1", headers={"Authorization": "Bearer nope"}, json={"status": "withdrawn"})
    rows = client.get("/v1/audit", headers=keys["admin"]).json()
    assert [row["method"] for row in rows] == ["PATCH", "POST"]  # newest first, GETs are not logged
    patch, post = rows
    assert (post["role"], post["status"], post["route"], post["target_id"]) == ("enterprise", 201, "/v1/demands", "DA1")
    assert post["key_id"] is not None and ISO_UTC.match(post["at"])
    assert (patch["role"], patch["key_id"], patch["status"], patch["target_id"]) == (None, None, 401, "DA1")
    assert patch["route"] == "/v1/demands/{demand_id}"


def test_audit_is_admin_only_and_filters(client, keys):
    for who in ("office", "a"):
        assert client.get("/v1/audit", headers=keys[who]).status_code == 403
    assert client.get("/v1/audit").status_code == 401
    client.post("/v1/demands", headers=keys["office"], json={"id": "D1", "title": "t", "enterprise": "E1"})
    client.post("/v1/demands", headers=keys["a"], json={"id": "D2", "title": "t"})
    rows = client.get("/v1/audit?target_id=D2", headers=keys["admin"]).json()
    assert [row["target_id"] for row in rows] == ["D2"]
    assert client.get("/v1/audit?method=GET", headers=keys["admin"]).status_code == 422
    since = client.get("/v1/audit?since=2999-01-01T00:00:00Z", headers=keys["admin"])
    assert since.status_code == 200 and since.json() == []


# -- OPTIONS and 405 -------------------------------------------------------------------------
@pytest.mark.parametrize("path,allow", [
    ("/v1/demands", "GET, HEAD, POST, OPTIONS"),
    ("/v1/keys/3", "DELETE, OPTIONS"),
    ("/healthz", "GET, HEAD, OPTIONS"),
])
def test_options_lists_every_method_of_the_path(client, path, allow):
    r = client.options(path)
    assert r.status_code == 204
    assert r.headers["allow"] == allow


def test_options_on_unknown_path_is_404(client):
    assert client.options("/v1/nothing-here").status_code == 404


def test_405_carries_the_full_allow(client, keys):
    r = client.put("/v1/demands", headers=keys["office"], json={})
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD, POST, OPTIONS"


# -- pagination --------------------------------------------------------------------------------
def _links(header: str) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', header)}


def test_demands_paginated_by_limit_offset_with_total_and_next(client, keys):
    for i in range(5):
        assert client.post("/v1/demands", headers=keys["a"], json={"id": f"D{i}", "title": f"需求 {i}"}).status_code == 201
    client.post("/v1/demands", headers=keys["b"], json={"id": "X1", "title": "别家的"})
    r = client.get("/v1/demands?limit=2", headers=keys["a"])
    assert r.status_code == 200 and isinstance(r.json(), list)  # the body stays a JSON array
    assert [d["id"] for d in r.json()] == ["D0", "D1"]
    assert r.headers["X-Total-Count"] == "5"  # only what this key may see
    seen, url = [], "/v1/demands?limit=2"
    while url:
        page = client.get(url, headers=keys["a"])
        seen += [d["id"] for d in page.json()]
        url = _links(page.headers["Link"]).get("next")
    assert seen == ["D0", "D1", "D2", "D3", "D4"]
    last = client.get("/v1/demands?limit=2&offset=4", headers=keys["a"])
    assert [d["id"] for d in last.json()] == ["D4"]
    assert "next" not in _links(last.headers["Link"]) and "offset=2" in _links(last.headers["Link"])["prev"]
    assert len(client.get("/v1/demands", headers=keys["office"]).json()) == 6  # no limit: all


def test_a_list_without_limit_is_every_item_past_one_thousand(client, keys):
    """A plain GET lists everything (a programme has 1000+ people): no silent first page."""
    body = [{"id": f"T{i:04d}", "keywords": ["冷链"]} for i in range(1100)]
    assert client.post("/v1/profiles", headers=keys["office"], json=body).status_code == 200
    r = client.get("/v1/profiles", headers=keys["office"])
    assert r.status_code == 200 and len(r.json()) == 1100 and r.headers["X-Total-Count"] == "1100"
    assert "next" not in _links(r.headers["Link"])
    tail = client.get("/v1/profiles?offset=1098", headers=keys["office"]).json()
    assert [p["id"] for p in tail] == ["T1098", "T1099"]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "offset=-1", "limit=x"])
def test_bad_page_parameters_are_422(client, keys, query):
    r = client.get(f"/v1/demands?{query}", headers=keys["office"])
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][0] == "query"


def test_every_list_route_is_paginated(client, keys):
    """Every GET without path parameters that answers a JSON array takes limit/offset and
    answers X-Total-Count and Link (covers lists added by other modules too)."""
    schema = client.get("/openapi.json").json()
    lists = [path for path, item in schema["paths"].items()
             if "get" in item and "{" not in path
             and item["get"]["responses"].get("200", {}).get("content", {}).get("application/json", {})
             .get("schema", {}).get("type") == "array"]
    assert {"/v1/demands", "/v1/profiles", "/v1/assignment-runs", "/v1/feedback", "/v1/keys", "/v1/audit"} <= set(lists)
    for path in lists:
        names = {p["name"] for p in schema["paths"][path]["get"].get("parameters", [])}
        assert {"limit", "offset"} <= names, path
        required = [p for p in schema["paths"][path]["get"].get("parameters", []) if p.get("required")]
        if required:
            continue  # e.g. a report needing its semester: covered by its own tests
        r = client.get(f"{path}?limit=1", headers=keys["admin"])
        assert r.status_code == 200, (path, r.text[:200])
        assert "X-Total-Count" in r.headers and 'rel="first"' in r.headers["Link"], path


# -- keys ----------------------------------------------------------------------------------------
def test_admin_key_cannot_revoke_itself_nor_the_last_admin_key(app, client, keys):
    me = client.get("/v1/keys?limit=1000", headers=keys["admin"]).json()
    admin_id = next(k["id"] for k in me if k["role"] == "admin")
    r = client.delete(f"/v1/keys/{admin_id}", headers=keys["admin"])
    assert r.status_code == 409 and "cannot revoke itself" in r.json()["detail"]
    second = add_key(app, "admin")
    ids = [k["id"] for k in client.get("/v1/keys", headers=keys["admin"]).json() if k["role"] == "admin"]
    other_id = max(ids)
    assert client.delete(f"/v1/keys/{other_id}", headers=keys["admin"]).status_code == 200  # two active: fine
    assert client.get("/v1/keys", headers=second).status_code == 401
    # the remaining admin key is the last one: even another admin cannot revoke it
    third = add_key(app, "admin")
    third_id = max(k["id"] for k in client.get("/v1/keys", headers=third).json())
    assert client.delete(f"/v1/keys/{admin_id}", headers=third).status_code == 200
    r = client.delete(f"/v1/keys/{third_id}", headers=third)
    assert r.status_code == 409 and "cannot revoke itself" in r.json()["detail"]
    with app.state.sessions() as s:
        from xfd.api.crud.keys import revoke_key
        from xfd.api.errors import Conflict
        with pytest.raises(Conflict, match="last active admin key"):
            revoke_key(s, third_id)


# -- feedback --------------------------------------------------------------------------------------
def _team_demand(app, client, keys) -> None:
    """E1's demand DA1 whose team is T1 (set directly: how a team is formed is not the point here)."""
    client.post("/v1/profiles", headers=keys["office"], json=[
        {"id": "T1", "keywords": ["机器视觉"]}, {"id": "T2", "keywords": ["冷链"]}])
    assert client.post("/v1/demands", headers=keys["a"], json={"id": "DA1", "title": "缺陷检测"}).status_code == 201
    from xfd.api.storage.models import DemandRow
    with app.state.sessions() as s:
        for row in s.query(DemandRow).all():
            row.assigned_team = ["T1"]
        s.commit()


def test_enterprise_cannot_probe_profile_ids_through_feedback(app, client, keys):
    _team_demand(app, client, keys)
    body = {"demand_id": "DA1", "verdict": "accepted"}
    real_not_shown = client.post("/v1/feedback", headers=keys["a"], json={**body, "profile_id": "T2"})
    missing = client.post("/v1/feedback", headers=keys["a"], json={**body, "profile_id": "T9"})
    assert real_not_shown.status_code == missing.status_code == 404
    assert real_not_shown.json()["detail"].replace("T2", "?") == missing.json()["detail"].replace("T9", "?")
    ok = client.post("/v1/feedback", headers=keys["a"], json={**body, "profile_id": "T1"})
    assert ok.status_code == 201 and ok.json()["demand_id"] == "DA1"
    # the office may record feedback on any real profile
    assert client.post("/v1/feedback", headers=keys["office"], json={**body, "profile_id": "T2"}).status_code == 201
    # another enterprise: the demand is not found, whatever the profile
    other = client.post("/v1/feedback", headers=keys["b"], json={**body, "profile_id": "T1"})
    assert other.status_code == 404


def test_enterprise_lists_feedback_on_its_own_demands_only(app, client, keys):
    _team_demand(app, client, keys)
    client.post("/v1/feedback", headers=keys["a"], json={"demand_id": "DA1", "profile_id": "T1", "verdict": "accepted"})
    mine = client.get("/v1/feedback", headers=keys["a"])
    assert mine.status_code == 200 and [f["demand_id"] for f in mine.json()] == ["DA1"]
    assert mine.headers["X-Total-Count"] == "1"
    assert client.get("/v1/feedback", headers=keys["b"]).json() == []
    assert client.get("/v1/feedback?demand_id=DA1", headers=keys["b"]).json() == []
    assert len(client.get("/v1/feedback", headers=keys["office"]).json()) == 1


# -- timestamps --------------------------------------------------------------------------------------
def _times(obj) -> list[str]:
    if isinstance(obj, dict):
        return [v for k, v in obj.items() if k.endswith("_at") or k == "at"] + [t for v in obj.values() for t in _times(v)]
    if isinstance(obj, list):
        return [t for v in obj for t in _times(v)]
    return []


def test_timestamps_are_utc_with_z_in_every_answer(client, keys):
    created = client.post("/v1/demands", headers=keys["a"], json={"id": "DT", "title": "时间"})
    key = client.post("/v1/keys", headers=keys["admin"], json={"role": "office"})
    answers = [created.json(), key.json(), client.get("/v1/demands/DT", headers=keys["a"]).json(),
               client.get("/v1/demands", headers=keys["office"]).json(), client.get("/v1/keys", headers=keys["admin"]).json(),
               client.get("/v1/audit", headers=keys["admin"]).json()]
    times = [t for a in answers for t in _times(a) if t is not None]
    assert len(times) >= 8
    bad = [t for t in times if not ISO_UTC.match(t)]
    assert not bad, bad
    assert created.json()["created_at"] == answers[2]["created_at"]  # the same instant, written the same way


def test_head_is_get_without_the_body(client, keys):
    get, head = client.get("/healthz"), client.head("/healthz")
    assert head.status_code == get.status_code == 200
    assert head.content == b"" and head.headers["content-length"] == str(len(get.content))
    assert client.head("/v1/demands", headers=keys["office"]).status_code == 200
    assert client.head("/v1/demands").status_code == 401
    r = client.head("/v1/keys/3", headers=keys["admin"])
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, OPTIONS"


def test_page_writes_are_audited_with_the_username(app, client, keys):
    from xfd.api import accounts

    with app.state.sessions() as s:
        accounts.create_user(s, "enterprise", "ent1", "correct horse battery", enterprise="E1")
        s.commit()
    login = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
    form = {"username": "ent1", "password": "correct horse battery", "csrf_token": csrf}
    assert client.post("/login", data=form, follow_redirects=False).status_code in (302, 303)
    page = client.get("/demands/new")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/demands/new", data={"csrf_token": token, "title": "页面提交", "description": "网页表单提交的需求"},
                follow_redirects=False)
    rows = client.get("/v1/audit", headers=keys["admin"]).json()
    page_rows = [r for r in rows if r["route"] == "/demands/new"]
    assert page_rows and page_rows[0]["username"] == "ent1" and page_rows[0]["role"] == "enterprise"
    assert page_rows[0]["key_id"] is None


def test_upload_paths_take_the_import_limit(tmp_path: Path):
    app = make_app(tmp_path / "l.db", max_body_bytes=2048, max_import_bytes=8192)
    with TestClient(app) as client:
        office = add_key(app, "office")
        big = b"[" + b" " * 4000 + b"]"
        assert client.post("/v1/demands", headers={**office, "Content-Type": "application/json"}, content=big).status_code == 413
        assert client.post("/v1/profiles", headers={**office, "Content-Type": "application/json"}, content=big).status_code != 413
        r = client.post("/v1/profiles", headers={**office, "Content-Type": "application/json"}, content=big + b" " * 8192)
        assert r.status_code == 413 and "limit 8192 bytes" in r.json()["detail"]
        # the pages' import form shares the upload limit
        assert client.post("/profiles/import", content=b"x" * 4000).status_code != 413
