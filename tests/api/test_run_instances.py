"""Two real ``xfd serve`` instances on one PostgreSQL (each with its own run worker process; the
first with two HTTP processes): runs POSTed to either are executed exactly once — one claim in
all the logs, one plan, one owner — and accepting one creates one set of teams.

Runs when ``XFD_TEST_POSTGRES_URL`` is set (CI); drops every table there.
Uses the cluster work's fixture module ``tests/api/multi_instance.py``.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.api.multi_instance import instances, office_key, start_serve
from tests.fakes import reset_database
from xfd.api.storage.db import make_engine

URL = os.environ.get("XFD_TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(not URL, reason="XFD_TEST_POSTGRES_URL not set (no PostgreSQL server)")

PROFILES = [
    {"id": "T1", "kind": "teacher", "disciplines": ["机械工程"], "keywords": ["机器视觉", "缺陷检测"]},
    {"id": "T2", "kind": "teacher", "disciplines": ["食品科学与工程"], "keywords": ["冷链", "保鲜"]},
    {"id": "S1", "kind": "student", "major": "机械电子工程", "grade": 2, "skills": ["机器视觉"]},
    {"id": "S2", "kind": "student", "major": "食品科学", "grade": 3, "skills": ["冷链"]},
]
DEMANDS = [
    {"id": "D1", "title": "钢板表面机器视觉缺陷检测", "enterprise": "E1", "team_size": [1, 2]},
    {"id": "D2", "title": "果蔬冷链保鲜", "enterprise": "E2", "team_size": [1, 2]},
]


def _poll(base: str, office: dict, rid: str, timeout: float = 240.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = requests.get(f"{base}/v1/assignment-runs/{rid}", headers=office, timeout=30).json()
        assert 0.0 <= body["progress"] <= 1.0
        if body["status"] != "running":
            return body
        time.sleep(0.3)
    raise AssertionError(f"run {rid} did not finish")


def test_runs_posted_to_either_instance_run_once(tmp_path: Path) -> None:
    reset_database(URL)
    office = office_key(URL)
    env = {"XFD_DATABASE_URL": URL, "XFD_MODEL": "lexical", "HF_HUB_OFFLINE": "1", "XFD_RUN_POLL": "0.2"}
    first = start_serve(env, tmp_path / "serve-a.log", ["--workers", "2"])
    try:
        with instances(env, tmp_path, n=1) as (second,):
            servers = [first, second]
            a = first.base
            assert requests.post(f"{a}/v1/profiles", json=PROFILES, headers=office, timeout=60).status_code == 200
            for d in DEMANDS:
                assert requests.post(f"{a}/v1/demands", json=d, headers=office, timeout=30).status_code == 201
                assert requests.patch(f"{a}/v1/demands/{d['id']}", json={"status": "accepted"}, headers=office,
                                      timeout=30).status_code == 200
            # six runs at once, alternately to each instance; each polled on the other one
            ids = [requests.post(f"{servers[i % 2].base}/v1/assignment-runs", headers=office, timeout=30).json()["id"]
                   for i in range(6)]
            bodies = [_poll(servers[(i + 1) % 2].base, office, rid) for i, rid in enumerate(ids)]
            assert [b["status"] for b in bodies] == ["done"] * 6, bodies
            plans = {b["id"]: b["plan"] for b in bodies}
            assert all({t["demand_id"] for t in p["teams"]} | {u["demand_id"] for u in p["unassigned"]} == {"D1", "D2"}
                       for p in plans.values())
            r = requests.post(f"{second.base}/v1/assignment-runs/{ids[0]}/accept", headers=office, timeout=30)
            assert r.status_code == 200, r.text
            teams = requests.get(f"{a}/v1/teams", headers=office, params={"semester": _semester(ids[0])},
                                 timeout=30).json()
            assert sorted(t["demand_id"] for t in teams) == sorted(t["demand_id"] for t in plans[ids[0]]["teams"])
        logs = first.tail(10**7) + second.tail(10**7)
    finally:
        first.stop()
    for rid in ids:
        assert logs.count(f"assignment run {rid} claimed by") == 1, rid    # executed exactly once
    engine = make_engine(URL)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, status, owner FROM assignment_runs")).all()
    engine.dispose()
    assert sorted(r.id for r in rows) == sorted(ids) and {r.status for r in rows} == {"done"}
    assert all(r.owner for r in rows)


def _semester(run_id: str) -> str:
    engine = make_engine(URL)
    with engine.connect() as conn:
        params = conn.execute(sa.text("SELECT params FROM assignment_runs WHERE id = :i"), {"i": run_id}).scalar_one()
    engine.dispose()
    return params["semester"] if isinstance(params, dict) else __import__("json").loads(params)["semester"]
