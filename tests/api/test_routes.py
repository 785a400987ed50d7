"""The HTTP service: every route and role, isolation, idempotency, limits.

Uses a temp SQLite file, the fake scorer and greedy planner of
``tests.fakes`` (no neural model).
"""
from __future__ import annotations

import io
import json
import time
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient

from tests.fakes import FakeScorer, greedy_planner
from xfd.api.app import create_app
from xfd.api.security import create_key
from xfd.api.settings import Settings
from xfd.models import pipeline

PROFILES = [
    {"id": "T001", "name": "张伟", "kind": "teacher", "college": "机械工程学院", "title": "副教授",
     "disciplines": ["机械工程", "控制科学与工程"], "keywords": ["机器视觉", "缺陷检测"], "capacity": 2,
     "documents": [{"kind": "paper", "title": "基于机器视觉的表面缺陷检测", "text": "提出一种钢板表面缺陷检测方法", "year": 2023}]},
    {"id": "T002", "name": "李娜", "kind": "teacher", "disciplines": ["食品科学与工程"],
     "keywords": ["果蔬保鲜", "冷链"], "conflicts": ["E2"],
     "documents": [{"kind": "project", "title": "苹果冷链保鲜技术", "text": "果蔬采后保鲜与冷链物流"}]},
    {"id": "T003", "name": "王强", "kind": "teacher", "disciplines": ["计算机科学与技术"],
     "keywords": ["深度学习", "图像识别"],
     "documents": [{"kind": "paper", "title": "深度学习图像识别", "text": "卷积神经网络用于工业图像缺陷识别"}]},
    {"id": "S001", "name": "赵敏", "kind": "student", "major": "机械电子工程", "grade": 3, "skills": ["机器视觉", "Python"]},
    {"id": "S002", "name": "钱进", "kind": "student", "major": "食品科学", "grade": 2, "skills": ["冷链", "保鲜"]},
    {"id": "S003", "name": "孙丽", "kind": "student", "major": "计算机", "grade": 4, "skills": ["图像识别", "深度学习"]},
]

DEMAND_A = {"id": "DA1", "enterprise": "E1", "county": "城关区", "industry": "C",
            "title": "钢板表面缺陷检测", "description": "希望用机器视觉自动检测钢板表面缺陷",
            "disciplines": ["机械工程"], "team_size": [2, 3]}
DEMAND_B = {"id": "DB1", "enterprise": "E2", "title": "苹果冷链保鲜", "description": "苹果采后保鲜与冷链物流损耗高",
            "team_size": [2, 3]}


def make_settings(db: Path, **kw) -> Settings:
    return Settings(**{"database_url": f"sqlite:///{db}", "model": "fake", **kw})


def make_app(db: Path, **kw):
    return create_app(make_settings(db, **kw), scorer_factory=FakeScorer, planner=greedy_planner)


def add_key(app, role: str, enterprise: str | None = None) -> dict[str, str]:
    with app.state.sessions() as s:
        _, key = create_key(s, role, enterprise)
        s.commit()
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "xfd.db"


@pytest.fixture
def app(db: Path):
    return make_app(db)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def keys(app, client) -> dict[str, dict[str, str]]:
    return {"office": add_key(app, "office"), "admin": add_key(app, "admin"),
            "a": add_key(app, "enterprise", "E1"), "b": add_key(app, "enterprise", "E2")}


@pytest.fixture
def loaded(client, keys):
    r = client.post("/v1/profiles", json=PROFILES, headers=keys["office"])
    assert r.status_code == 200, r.text
    assert client.post("/v1/demands", json=DEMAND_A, headers=keys["a"]).status_code == 201
    assert client.post("/v1/demands", json=DEMAND_B, headers=keys["b"]).status_code == 201
    return keys


# -- health, auth -------------------------------------------------------------------
def test_healthz_needs_no_key(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"},
                                     {"Authorization": "Bearer "}, {"Authorization": "bearer xfd_x_" + "y" * 500}])
def test_unknown_key_is_401_bilingual(client, keys, headers):
    r = client.get("/v1/demands", headers=headers)
    assert r.status_code == 401
    assert "API" in r.json()["detail"] and "未认证" in r.json()["detail"]
    assert r.headers["www-authenticate"] == "Bearer"


def test_revoked_key_is_401(app, client, keys):
    ids = client.get("/v1/keys", headers=keys["admin"]).json()
    office_id = [k["id"] for k in ids if k["role"] == "office"][0]
    assert client.delete(f"/v1/keys/{office_id}", headers=keys["admin"]).status_code == 200
    assert client.get("/v1/demands", headers=keys["office"]).status_code == 401


@pytest.mark.parametrize("method,path", [
    ("post", "/v1/profiles"), ("get", "/v1/profiles"), ("get", "/v1/profiles/T001"),
    ("get", "/v1/demands/DA1/recommendations"), ("post", "/v1/demands/DA1/team-proposal"),
    ("post", "/v1/assignment-runs"), ("get", "/v1/assignment-runs"), ("get", "/v1/assignment-runs/x"),
    ("post", "/v1/assignment-runs/x/accept"), ("get", "/v1/keys"),
])
def test_enterprise_cannot_use_office_routes(loaded, client, method, path):
    kw = {"json": []} if method == "post" and "team-proposal" not in path else {}
    r = getattr(client, method)(path, headers=loaded["a"], **kw)
    assert r.status_code == 403, r.text


def test_office_cannot_manage_keys(client, keys):
    assert client.get("/v1/keys", headers=keys["office"]).status_code == 403
    assert client.post("/v1/keys", json={"role": "office"}, headers=keys["office"]).status_code == 403


def test_admin_creates_usable_keys(client, keys):
    r = client.post("/v1/keys", json={"role": "enterprise", "enterprise": "E9"}, headers=keys["admin"])
    assert r.status_code == 201
    new = {"Authorization": f"Bearer {r.json()['key']}"}
    assert client.get("/v1/demands", headers=new).json() == []
    assert client.post("/v1/keys", json={"role": "enterprise"}, headers=keys["admin"]).status_code == 422
    assert client.post("/v1/keys", json={"role": "office", "enterprise": "E1"}, headers=keys["admin"]).status_code == 422
    listed = client.get("/v1/keys", headers=keys["admin"]).json()
    assert all("key" not in k and "key_hash" not in k for k in listed)


# -- profiles ------------------------------------------------------------------------
def test_profiles_upsert_by_id(client, keys):
    r = client.post("/v1/profiles", json=PROFILES, headers=keys["office"])
    assert r.json() == {"upserted": 6, "created": 6, "updated": 0, "ids": [p["id"] for p in PROFILES]}
    changed = dict(PROFILES[0], name="张伟伟", capacity=3)
    r = client.post("/v1/profiles", json=[changed], headers=keys["office"])
    assert r.json()["updated"] == 1 and r.json()["created"] == 0
    one = client.get("/v1/profiles/T001", headers=keys["office"]).json()
    assert one["name"] == "张伟伟" and one["capacity"] == 3
    assert one["documents"][0]["title"] == "基于机器视觉的表面缺陷检测"
    assert len(client.get("/v1/profiles", headers=keys["office"]).json()) == 6
    assert client.get("/v1/profiles/NOPE", headers=keys["office"]).status_code == 404
    # defaults from the readers: student capacity 1
    assert client.get("/v1/profiles/S001", headers=keys["office"]).json()["capacity"] == 1


def test_admin_may_do_office_work(client, keys):
    assert client.post("/v1/profiles", json=PROFILES[:1], headers=keys["admin"]).status_code == 200


@pytest.mark.parametrize("bad,field", [
    ([{"name": "no id", "keywords": ["x"]}], "id"),
    ([{"id": "T9", "capacity": -1, "keywords": ["x"]}], "capacity"),
    ([{"id": "T9", "capacity": "two", "keywords": ["x"]}], "capacity"),
    ([{"id": "T9", "kind": "robot", "keywords": ["x"]}], "kind"),
    ([{"id": "T9", "grade": 7, "kind": "student", "skills": ["x"]}], "grade"),
    ([{"id": "T9", "keywords": 5}], "keywords"),  # a string is a ;-separated list, as in files
    ([{"id": "T9", "documents": [{"text": "x", "year": "abc"}]}], "year"),
    ([{"id": "T9"}], None),                    # no text to match on (readers)
    ([{"id": "a/b", "keywords": ["x"]}], "id"),
    ({"id": "T9"}, None),                       # not an array
    ([1, 2], None),
])
def test_bad_profiles_are_422_naming_the_field_and_write_nothing(client, keys, bad, field):
    body = [PROFILES[0], *bad] if isinstance(bad, list) else bad
    r = client.post("/v1/profiles", json=body, headers=keys["office"])
    assert r.status_code == 422, r.text
    if field:
        assert field in json.dumps(r.json(), ensure_ascii=False)
    assert client.get("/v1/profiles", headers=keys["office"]).json() == []  # all or nothing


def test_profile_import_jsonl_csv_xlsx(client, keys):
    jsonl = "\n".join(json.dumps(p, ensure_ascii=False) for p in PROFILES[:3]).encode()
    r = client.post("/v1/profiles/import", files={"file": ("p.jsonl", jsonl)}, headers=keys["office"])
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 3
    csv_text = "id,name,kind,keywords,disciplines\nT010,周,teacher,机器视觉;图像,机械工程\nT011,吴,teacher,冷链,食品科学与工程\n"
    r = client.post("/v1/profiles/import", files={"file": ("p.csv", csv_text.encode())}, headers=keys["office"])
    assert r.status_code == 200, r.text
    assert client.get("/v1/profiles/T010", headers=keys["office"]).json()["keywords"] == ["机器视觉", "图像"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "name", "keywords"])
    ws.append(["T020", "郑", "传感器"])
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post("/v1/profiles/import", files={"file": ("p.xlsx", buf.getvalue())}, headers=keys["office"])
    assert r.status_code == 200, r.text
    assert r.json()["ids"] == ["T020"]


def test_profile_import_is_all_or_nothing(client, keys):
    lines = [json.dumps(PROFILES[0], ensure_ascii=False), json.dumps({"id": "T9", "capacity": "many", "keywords": ["x"]})]
    r = client.post("/v1/profiles/import", files={"file": ("people.jsonl", "\n".join(lines).encode())}, headers=keys["office"])
    assert r.status_code == 422
    msg = json.dumps(r.json(), ensure_ascii=False)
    assert "people.jsonl" in msg and "capacity" in msg and "2" in msg
    assert client.get("/v1/profiles", headers=keys["office"]).json() == []


@pytest.mark.parametrize("name,content", [("p.pdf", b"%PDF"), ("p.xlsx", b"not a zip"), ("p.jsonl", b"\xff\xfe\x00bad"),
                                          ("p.csv", b""), ("p.jsonl", b"{not json")])
def test_profile_import_bad_files_are_4xx(client, keys, name, content):
    r = client.post("/v1/profiles/import", files={"file": (name, content)}, headers=keys["office"])
    assert 400 <= r.status_code < 500, r.text


def test_profile_import_without_file_is_422(client, keys):
    assert client.post("/v1/profiles/import", headers=keys["office"]).status_code == 422


# -- demands, isolation --------------------------------------------------------------------
def test_enterprise_key_fixes_enterprise(client, keys):
    r = client.post("/v1/demands", json=dict(DEMAND_A, id="DX", enterprise="E2"), headers=keys["a"])
    assert r.status_code == 201
    body = r.json()
    assert body["enterprise"] == "E1" and body["status"] == "submitted" and body["team_size"] == [2, 3]
    assert client.get("/v1/demands/DX", headers=keys["b"]).status_code == 404


def test_isolation_between_enterprises(loaded, client):
    a, b, office = loaded["a"], loaded["b"], loaded["office"]
    assert [d["id"] for d in client.get("/v1/demands", headers=a).json()] == ["DA1"]
    assert [d["id"] for d in client.get("/v1/demands", headers=b).json()] == ["DB1"]
    assert sorted(d["id"] for d in client.get("/v1/demands", headers=office).json()) == ["DA1", "DB1"]
    assert client.get("/v1/demands/DA1", headers=a).json()["title"] == DEMAND_A["title"]
    # another enterprise's demand: 404, same as a missing one, and no content
    r = client.get("/v1/demands/DA1", headers=b)
    missing = client.get("/v1/demands/NOPE", headers=b)
    assert r.status_code == missing.status_code == 404
    assert DEMAND_A["title"] not in r.text and "E1" not in r.text
    # office-only routes: 403 for any enterprise key, its own demand, another's or a missing one alike
    for did in ("DA1", "DB1", "NOPE"):
        assert client.get(f"/v1/demands/{did}/recommendations", headers=b).status_code == 403
        assert client.post(f"/v1/demands/{did}/team-proposal", headers=b).status_code == 403
    r = client.post("/v1/feedback", json={"demand_id": "DA1", "profile_id": "T001", "verdict": "accepted"}, headers=b)
    assert r.status_code == 404
    # the enterprise filter cannot widen an enterprise's view
    assert [d["id"] for d in client.get("/v1/demands?enterprise=E1", headers=b).json()] == ["DB1"]
    # another enterprise's id is B's own new demand (201, as for any new id): nothing of A's is touched or told
    r = client.post("/v1/demands", json=dict(DEMAND_B, id="DA1"), headers=b)
    assert r.status_code == 201 and DEMAND_A["title"] not in r.text
    assert r.json()["id"] == "DA1" and r.json()["enterprise"] == "E2"
    assert client.get("/v1/demands/DA1", headers=a).json()["title"] == DEMAND_A["title"]
    assert client.get("/v1/demands/DA1", headers=b).json()["title"] == DEMAND_B["title"]
    assert len(client.get("/v1/demands", headers=office).json()) == 3


def test_resubmission_without_key_is_stored_once(loaded, client):
    r = client.post("/v1/demands", json=DEMAND_A, headers=loaded["a"])
    assert r.status_code == 201
    assert len(client.get("/v1/demands", headers=loaded["a"]).json()) == 1


def test_idempotency_key_replays_and_stores_once(client, keys):
    h = dict(keys["a"], **{"Idempotency-Key": "k-1"})
    first = client.post("/v1/demands", json=DEMAND_A, headers=h)
    again = client.post("/v1/demands", json=DEMAND_A, headers=h)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert len(client.get("/v1/demands", headers=keys["a"]).json()) == 1
    other = client.post("/v1/demands", json=dict(DEMAND_A, title="另一个"), headers=h)
    assert other.status_code in (409, 422)
    assert "Idempotency-Key" in other.text
    # the key is scoped to the API key: another enterprise's same key is a new request
    hb = dict(keys["b"], **{"Idempotency-Key": "k-1"})
    r = client.post("/v1/demands", json=DEMAND_B, headers=hb)
    assert r.status_code == 201 and r.json()["id"] == "DB1"


def test_idempotency_survives_restart(db, app, client, keys):
    h = dict(keys["a"], **{"Idempotency-Key": "restart-1"})
    first = client.post("/v1/demands", json=DEMAND_A, headers=h).json()
    with TestClient(make_app(db)) as c2:
        again = c2.post("/v1/demands", json=DEMAND_A, headers=h)
        assert again.status_code == 201 and again.json() == first


@pytest.mark.parametrize("body,field", [
    ({"title": "x"}, "id"),
    ({"id": "D1"}, None),                                   # neither title nor description
    ({"id": "D1", "title": "x", "team_size": [5, 3]}, "team_size"),
    ({"id": "D1", "title": "x", "team_size": [3, 4, 5]}, "team_size"),  # [3] is an exact size, as in files
    ({"id": "D1", "title": "x", "team_size": "big"}, "team_size"),
    ({"id": "D1", "title": "x", "disciplines": 3}, "disciplines"),  # "机械" is a one-item list, as in files
    ({"id": "D1", "title": 5.5j if False else ["x"]}, "title"),
    ({"id": "D1", "title": "x" * 3000}, "title"),
    ({"id": "D1", "title": "x", "current_team": [["T1"]]}, "current_team"),  # null items are skipped, as in files
    ({"id": "", "title": "x"}, "id"),
    ({"id": "a/b", "title": "x"}, "id"),
    ([], None),
    ("just a string", None),
])
def test_bad_demands_are_422_naming_the_field(client, keys, body, field):
    r = client.post("/v1/demands", json=body, headers=keys["a"])
    assert r.status_code == 422, r.text
    if field:
        assert field in r.text


@pytest.mark.parametrize("raw,ctype", [(b"{", "application/json"), (b"", "application/json"),
                                       (b"\xff\xfe", "application/json"), (b"id=D1", "application/x-www-form-urlencoded"),
                                       (b'{"id": "D1", "title": NaN}', "application/json"), (b"null", "application/json")])
def test_malformed_bodies_are_4xx(client, keys, raw, ctype):
    r = client.post("/v1/demands", content=raw, headers=dict(keys["a"], **{"Content-Type": ctype}))
    assert 400 <= r.status_code < 500, r.text


def test_body_too_large_is_413(db, keys, client):
    big = dict(DEMAND_A, description="长" * 600_000)  # ~1.8 MB of UTF-8
    r = client.post("/v1/demands", json=big, headers=keys["a"])
    assert r.status_code == 413
    assert client.get("/v1/demands", headers=keys["a"]).json() == []


def test_body_too_large_streamed_is_413(app, client, keys):
    def chunks():
        for _ in range(40):
            yield b"x" * 65536
    r = client.post("/v1/demands", content=chunks(), headers=dict(keys["a"], **{"Content-Type": "application/json"}))
    assert r.status_code == 413


def test_demand_status_filter_and_office_filter(loaded, client):
    office = loaded["office"]
    assert [d["id"] for d in client.get("/v1/demands?enterprise=E2", headers=office).json()] == ["DB1"]
    assert len(client.get("/v1/demands?status=submitted", headers=office).json()) == 2
    assert client.get("/v1/demands?status=weird", headers=office).status_code == 422


# -- recommendations, proposals -------------------------------------------------------------
def test_recommendations_ranked_with_evidence(loaded, client):
    r = client.get("/v1/demands/DA1/recommendations?k=3", headers=loaded["office"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["demand_id"] == "DA1"
    assert len(body["matches"]) == 3
    scores = [m["score"] for m in body["matches"]]
    assert scores == sorted(scores, reverse=True)
    assert body["matches"][0]["profile_id"] == "T001"
    ev = body["matches"][0]["evidence"][0]
    assert set(ev) == {"document", "terms"} and ev["terms"]
    assert len(client.get("/v1/demands/DA1/recommendations?k=0", headers=loaded["office"]).json()["matches"]) == 6
    assert client.get("/v1/demands/NOPE/recommendations", headers=loaded["office"]).status_code == 404
    for bad in ("-1", "abc", "100000"):
        assert client.get(f"/v1/demands/DA1/recommendations?k={bad}", headers=loaded["office"]).status_code == 422


@pytest.mark.parametrize(("query", "msg"), [("k=-1", "不能小于 0 must be at least 0"), ("k=abc", "应为整数 must be a whole number")])
def test_a_422_names_the_field_in_chinese_then_english(loaded, client, query, msg):
    r = client.get(f"/v1/demands/DA1/recommendations?{query}", headers=loaded["office"])
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["query", "k"], "msg": msg, "type": r.json()["detail"][0]["type"]}]


def test_recommendations_do_not_refit_until_profiles_change(app, loaded, client):
    engine = app.state.engine
    client.get("/v1/demands/DA1/recommendations", headers=loaded["office"])
    fits = engine.fit_count
    for _ in range(3):
        client.post("/v1/demands", json=dict(DEMAND_A, id=f"DN{_}"), headers=loaded["a"])
        client.get(f"/v1/demands/DN{_}/recommendations", headers=loaded["office"])
    assert engine.fit_count == fits      # new demands never refit the profile index
    client.post("/v1/profiles", json=[dict(PROFILES[2], keywords=["钢板", "表面缺陷"])], headers=loaded["office"])
    r = client.get("/v1/demands/DA1/recommendations?k=0", headers=loaded["office"]).json()
    assert engine.fit_count > fits
    assert {m["profile_id"] for m in r["matches"]} == {p["id"] for p in PROFILES}


def test_recommendations_without_profiles_are_empty(client, keys):
    client.post("/v1/demands", json=DEMAND_A, headers=keys["a"])
    r = client.get("/v1/demands/DA1/recommendations", headers=keys["office"])
    assert r.status_code == 200 and r.json() == {"demand_id": "DA1", "matches": []}


def test_team_proposal(loaded, client):
    r = client.post("/v1/demands/DA1/team-proposal", headers=loaded["office"])
    assert r.status_code == 200, r.text
    plan = r.json()
    assert set(plan) >= {"objective", "teams", "unassigned", "moves"}
    assert plan["teams"][0]["demand_id"] == "DA1"
    assert client.post("/v1/demands/NOPE/team-proposal", headers=loaded["office"]).status_code == 404


# -- assignment runs ---------------------------------------------------------------------------
def wait_run(client, headers, run_id, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/assignment-runs/{run_id}", headers=headers).json()
        assert 0.0 <= body["progress"] <= 1.0
        if body["status"] != "running":
            return body
        time.sleep(0.05)
    raise AssertionError("run did not finish")


def accept(client: TestClient, office: dict[str, str], *ids: str) -> None:
    """Triage: the office accepts the demands (submitted -> accepted), so runs plan them."""
    for did in ids:
        r = client.patch(f"/v1/demands/{did}", json={"status": "accepted"}, headers=office)
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text


def test_assignment_run_to_done_and_accept(loaded, client):
    office = loaded["office"]
    accept(client, office, "DA1", "DB1")
    r = client.post("/v1/assignment-runs", headers=office)
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    body = wait_run(client, office, run_id)
    assert body["status"] == "done" and body["progress"] == 1.0
    plan = body["plan"]
    assert set(plan) >= {"objective", "teams", "unassigned", "moves"}
    staffed = {t["demand_id"] for t in plan["teams"]}
    assert staffed | {u["demand_id"] for u in plan["unassigned"]} == {"DA1", "DB1"}
    # T002 conflicts with E2 and must never be placed on DB1
    for t in plan["teams"]:
        if t["demand_id"] == "DB1":
            assert "T002" not in [m["profile_id"] for m in t["members"]]
    r = client.post(f"/v1/assignment-runs/{run_id}/accept", headers=office)
    assert r.status_code == 200 and sorted(r.json()["assigned"]) == sorted(staffed)
    for d in staffed:
        got = client.get(f"/v1/demands/{d}", headers=office).json()
        assert got["status"] == "teamed" and got["assigned_team"]
    assert run_id in [x["id"] for x in client.get("/v1/assignment-runs", headers=office).json()]


def test_assignment_run_with_body_options(loaded, client):
    accept(client, loaded["office"], "DA1", "DB1")
    r = client.post("/v1/assignment-runs", json={"demand_ids": ["DA1"], "continuity_bonus": 0.2}, headers=loaded["office"])
    assert r.status_code == 202
    body = wait_run(client, loaded["office"], r.json()["id"])
    assert [t["demand_id"] for t in body["plan"]["teams"]] + [u["demand_id"] for u in body["plan"]["unassigned"]] == ["DA1"]
    assert client.post("/v1/assignment-runs", json={"continuity_bonus": -1}, headers=loaded["office"]).status_code == 422
    assert client.post("/v1/assignment-runs", json=[1], headers=loaded["office"]).status_code == 422


def test_failed_run_records_reason(db, keys):
    def broken(*_a, **_k):
        raise RuntimeError("solver exploded")

    app = create_app(make_settings(db), scorer_factory=FakeScorer, planner=broken)
    with TestClient(app) as c:
        office = add_key(app, "office")
        c.post("/v1/profiles", json=PROFILES, headers=office)
        c.post("/v1/demands", json=DEMAND_A, headers=office)
        accept(c, office, "DA1")
        run_id = c.post("/v1/assignment-runs", headers=office).json()["id"]
        body = wait_run(c, office, run_id)
        assert body["status"] == "failed" and "solver exploded" in body["reason"]
        assert c.post(f"/v1/assignment-runs/{run_id}/accept", headers=office).status_code == 409


def test_unknown_run_is_404(client, keys):
    assert client.get("/v1/assignment-runs/nope", headers=keys["office"]).status_code == 404
    assert client.post("/v1/assignment-runs/nope/accept", headers=keys["office"]).status_code == 404


def test_run_interrupted_by_restart_is_failed(db, app, client, keys):
    from xfd.api.storage.models import AssignmentRun

    with app.state.sessions() as s:
        s.add(AssignmentRun(id="stale", status="running", progress=0.3, params={}))
        s.commit()
    with TestClient(make_app(db)) as c2:
        body = c2.get("/v1/assignment-runs/stale", headers=keys["office"]).json()
        assert body["status"] == "failed" and "restart" in body["reason"]


# -- feedback -------------------------------------------------------------------------------------
def test_feedback(loaded, client):
    r = client.post("/v1/feedback", json={"demand_id": "DA1", "profile_id": "T001", "verdict": "accepted", "note": "好"},
                    headers=loaded["office"])
    assert r.status_code == 201 and r.json()["verdict"] == "accepted"
    body = {"demand_id": "DA1", "profile_id": "T003", "verdict": "outcome", "score": 0.8}
    r = client.post("/v1/feedback", json=body, headers=loaded["a"])
    assert r.status_code == 404  # T003 is not on DA1's team: answered like a missing profile (issue 12)
    assert client.post("/v1/feedback", json=body, headers=loaded["office"]).status_code == 201
    assert client.post("/v1/feedback", json={"demand_id": "DA1", "profile_id": "T001", "verdict": "maybe"},
                       headers=loaded["office"]).status_code == 422
    assert client.post("/v1/feedback", json={"demand_id": "DA1", "profile_id": "NOPE", "verdict": "rejected"},
                       headers=loaded["office"]).status_code == 404
    listed = client.get("/v1/feedback?demand_id=DA1", headers=loaded["office"]).json()
    assert [f["profile_id"] for f in listed] == ["T001", "T003"]


# -- persistence, docs ---------------------------------------------------------------------------
def test_everything_persists_across_restart(db, app, loaded, client):
    run_id = client.post("/v1/assignment-runs", headers=loaded["office"]).json()["id"]
    wait_run(client, loaded["office"], run_id)
    with TestClient(make_app(db)) as c2:
        assert sorted(d["id"] for d in c2.get("/v1/demands", headers=loaded["office"]).json()) == ["DA1", "DB1"]
        assert [d["id"] for d in c2.get("/v1/demands", headers=loaded["b"]).json()] == ["DB1"]
        assert len(c2.get("/v1/profiles", headers=loaded["office"]).json()) == 6
        assert c2.get(f"/v1/assignment-runs/{run_id}", headers=loaded["office"]).json()["status"] == "done"
        r = c2.get("/v1/demands/DA1/recommendations?k=2", headers=loaded["office"])
        assert r.json()["matches"][0]["profile_id"] == "T001"


def test_sqlite_is_wal_and_synchronous_full(app, client):
    with app.state.db.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/healthz", "/v1/profiles", "/v1/profiles/import", "/v1/demands", "/v1/demands/{demand_id}",
              "/v1/demands/{demand_id}/recommendations", "/v1/demands/{demand_id}/team-proposal",
              "/v1/assignment-runs", "/v1/assignment-runs/{run_id}", "/v1/assignment-runs/{run_id}/accept",
              "/v1/feedback"):
        assert p in paths


def test_non_ascii_ids_and_nul_bytes(client, keys):
    r = client.post("/v1/demands", json=dict(DEMAND_A, id="需求-001"), headers=keys["a"])
    assert r.status_code == 201 and r.headers["location"] == "/v1/demands/%E9%9C%80%E6%B1%82-001"
    assert client.get("/v1/demands/需求-001", headers=keys["a"]).json()["id"] == "需求-001"
    assert client.post("/v1/demands", json=dict(DEMAND_A, id="D2", county="a\x00b"), headers=keys["a"]).status_code == 422
    assert client.get("/v1/demands/%00", headers=keys["a"]).status_code == 422
    r = client.post("/v1/demands", content=b'{"id": "D3", "title": "\\ud800"}',
                    headers=dict(keys["a"], **{"Content-Type": "application/json"}))
    assert r.status_code == 422


def test_unknown_solver_is_422_listing_valid_ones(loaded, client):
    r = client.post("/v1/assignment-runs", json={"solver": "magic"}, headers=loaded["office"])
    assert r.status_code == 422 and "solver" in r.text and "exact" in r.text
    r = client.post("/v1/demands/DA1/team-proposal", json={"solver": "magic"}, headers=loaded["office"])
    assert r.status_code == 422


def test_deeply_nested_json_is_4xx(client, keys):
    r = client.post("/v1/demands", content=b"[" * 200_000 + b"]" * 200_000,
                    headers=dict(keys["a"], **{"Content-Type": "application/json"}))
    assert 400 <= r.status_code < 500


# -- with the real scoring core and solver ---------------------------------------------------
def _real_app(db: Path, model: str):
    return create_app(make_settings(db, model=model), scorer_factory=lambda: pipeline.make_scorer(model))


def _real_flow(app):
    with TestClient(app) as c:
        office, ent = add_key(app, "office"), add_key(app, "enterprise", "E1")
        assert c.post("/v1/profiles", json=PROFILES, headers=office).status_code == 200
        assert c.post("/v1/demands", json=DEMAND_A, headers=ent).status_code == 201
        r = c.get("/v1/demands/DA1/recommendations?k=3", headers=office)
        assert r.status_code == 200, r.text
        matches = r.json()["matches"]
        assert len(matches) == 3 and matches[0]["profile_id"] in ("T001", "S001", "T003")
        assert [m["score"] for m in matches] == sorted((m["score"] for m in matches), reverse=True)
        accept(c, office, "DA1")
        run_id = c.post("/v1/assignment-runs", headers=office).json()["id"]
        body = wait_run(c, office, run_id, timeout=120)
        assert body["status"] == "done", body
        plan = body["plan"]
        assert {t["demand_id"] for t in plan["teams"]} | {u["demand_id"] for u in plan["unassigned"]} == {"DA1"}
        proposal = c.post("/v1/demands/DA1/team-proposal", headers=office).json()
        assert set(proposal) >= {"objective", "teams", "unassigned"}


def test_real_lexical_scorer_and_solver(db):
    _real_flow(_real_app(db, "lexical"))


@pytest.mark.slow
def test_real_e5_model(db):
    _real_flow(_real_app(db, "e5-small"))


def test_in_memory_sqlite_works():
    app = create_app(Settings(database_url="sqlite://", model="fake"), scorer_factory=FakeScorer, planner=greedy_planner)
    with TestClient(app) as c:
        office = add_key(app, "office")
        assert c.post("/v1/demands", json=DEMAND_A, headers=office).status_code == 201
        assert len(c.get("/v1/demands", headers=office).json()) == 1


def test_withdraw_demand(loaded, client):
    a, b, office = loaded["a"], loaded["b"], loaded["office"]
    assert client.patch("/v1/demands/DA1", json={"status": "withdrawn"}, headers=b).status_code == 404
    r = client.patch("/v1/demands/DA1", json={"status": "withdrawn"}, headers=a)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    r = client.patch("/v1/demands/DA1", json={"status": "teamed"}, headers=a)
    assert r.status_code == 409 and "withdrawn" in r.json()["detail"] and "teamed" in r.json()["detail"]
    assert client.patch("/v1/demands/DA1", json={"status": "closed"}, headers=a).status_code == 422
    accept(client, office, "DB1")
    run_id = client.post("/v1/assignment-runs", headers=office).json()["id"]
    plan = wait_run(client, office, run_id)["plan"]
    ids = {t["demand_id"] for t in plan["teams"]} | {u["demand_id"] for u in plan["unassigned"]}
    assert ids == {"DB1"}                       # withdrawn demands are not planned
    assert client.patch("/v1/demands/DA1", json={"status": "accepted"}, headers=office).status_code == 409
