"""The service on PostgreSQL: migrations, upserts, isolation, idempotency, a run, persistence.

Runs when ``XFD_TEST_POSTGRES_URL`` names an empty-able database (``.ci/run``
starts a local server and sets it); skipped otherwise.
"""
from __future__ import annotations

import os
import time

import pytest
from fastapi.testclient import TestClient

from tests.fakes import FakeScorer, reset_database
from xfd.api.app import create_app
from xfd.api.security import create_key
from xfd.api.settings import Settings

URL = os.environ.get("XFD_TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(not URL, reason="XFD_TEST_POSTGRES_URL not set (no PostgreSQL server)")

PROFILES = [
    {"id": "T1", "kind": "teacher", "disciplines": ["机械工程"], "keywords": ["机器视觉", "缺陷检测"],
     "documents": [{"kind": "paper", "title": "钢板表面缺陷的机器视觉检测", "text": "深度学习识别缺陷"}]},
    {"id": "T2", "kind": "teacher", "disciplines": ["食品科学与工程"], "keywords": ["冷链", "保鲜"]},
    {"id": "S1", "kind": "student", "major": "机械电子工程", "grade": 2, "disciplines": ["机械工程"], "skills": ["Python"]},
]


@pytest.fixture()
def pg_url() -> str:
    reset_database(URL)
    return URL


def _app(url: str):
    return create_app(Settings(database_url=url, model="fake"), scorer_factory=FakeScorer)


def _key(app, role: str, enterprise: str | None = None) -> dict[str, str]:
    with app.state.sessions() as s:
        _, key = create_key(s, role, enterprise)
        s.commit()
    return {"Authorization": f"Bearer {key}"}


def test_service_flow_on_postgres(pg_url: str) -> None:
    app = _app(pg_url)
    with TestClient(app) as c:
        office, e1, e2 = _key(app, "office"), _key(app, "enterprise", "E1"), _key(app, "enterprise", "E2")
        assert c.post("/v1/profiles", json=PROFILES, headers=office).status_code in (200, 201)
        assert c.post("/v1/profiles", json=PROFILES[:1], headers=office).status_code in (200, 201)  # upsert
        d1 = {"id": "D1", "title": "钢板缺陷检测", "description": "机器视觉检测钢板表面缺陷", "team_size": [2, 3],
              "disciplines": ["机械工程"]}
        r = c.post("/v1/demands", json=d1, headers={**e1, "Idempotency-Key": "k1"})
        assert r.status_code == 201 and r.json()["enterprise"] == "E1"
        again = c.post("/v1/demands", json=d1, headers={**e1, "Idempotency-Key": "k1"})
        assert again.status_code == 201 and again.json() == r.json()
        assert c.post("/v1/demands", json={"id": "D2", "title": "冷链保鲜"}, headers=e2).status_code == 201
        assert [d["id"] for d in c.get("/v1/demands", headers=e1).json()] == ["D1"]
        assert c.get("/v1/demands/D2", headers=e1).status_code == 404
        assert c.post("/v1/demands", json={"id": "D3"}, headers=e1).status_code == 422
        rec = c.get("/v1/demands/D1/recommendations?k=2", headers=office)
        assert rec.status_code == 200 and rec.json()["matches"][0]["profile_id"] == "T1"
        assert c.patch("/v1/demands/D1", json={"status": "accepted"}, headers=office).status_code == 200  # triage
        run = c.post("/v1/assignment-runs", headers=office)
        assert run.status_code == 202
        for _ in range(200):
            st = c.get(f"/v1/assignment-runs/{run.json()['id']}", headers=office).json()
            if st["status"] != "running":
                break
            time.sleep(0.05)
        assert st["status"] == "done", st
        team = {t["demand_id"]: t for t in st["plan"]["teams"]}["D1"]
        members = {m["profile_id"] for m in team["members"]}
        assert "T1" in members and 2 <= len(members) <= 3 and not team["missing_disciplines"]
    # a new app on the same database sees everything that was acknowledged
    app2 = _app(pg_url)
    with TestClient(app2) as c:
        office = _key(app2, "office")
        ids = sorted(d["id"] for d in c.get("/v1/demands", headers=office).json())
        assert ids == ["D1", "D2"]
        assert len(c.get("/v1/profiles", headers=office).json()) == 3
