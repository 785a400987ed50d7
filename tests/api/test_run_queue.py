"""The run queue (``xfd.api.crud.runs`` + ``xfd.api.runs.RunWorker``) on SQLite and PostgreSQL:
claims exactly once under concurrent claimers, cancel at every phase, leases of dead workers,
batched scoring equal to one-shot scoring, and the 202/poll contract for a queued run.

PostgreSQL cases run when ``XFD_TEST_POSTGRES_URL`` is set (CI) and drop every table there.
"""
from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.fakes import FakeScorer, greedy_planner, reset_database
from xfd.api import crud
from xfd.api.app import create_app
from xfd.api.crud import runs as rq
from xfd.api.engine import MatchEngine
from xfd.api.errors import Conflict
from xfd.api.runs import SHUTDOWN, RunWorker, default_planner
from xfd.api.security import create_key
from xfd.api.settings import Settings
from xfd.api.storage.db import make_engine, make_session_factory, upgrade_to_head
from xfd.api.storage.models import AssignmentRun
from xfd.matching.readers import validate_profile

POSTGRES_URL = os.environ.get("XFD_TEST_POSTGRES_URL", "")
needs_pg = pytest.mark.skipif(not POSTGRES_URL, reason="XFD_TEST_POSTGRES_URL not set (no PostgreSQL server)")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=needs_pg)]

PROFILES = [
    {"id": "T1", "kind": "teacher", "disciplines": ["机械工程"], "keywords": ["机器视觉", "缺陷检测"]},
    {"id": "T2", "kind": "teacher", "disciplines": ["食品科学与工程"], "keywords": ["冷链", "保鲜"]},
    {"id": "S1", "kind": "student", "major": "机械电子工程", "grade": 2, "disciplines": ["机械工程"],
     "skills": ["机器视觉"]},
]
PARAMS = {"demand_ids": None, "solver": "greedy", "continuity_bonus": 0.0, "semester": "2026秋"}


def database_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'q.db'}"
    reset_database(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path: Path) -> str:
    url = database_url(request.param, tmp_path)
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    return url


@pytest.fixture()
def sessions(url: str):
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def queue(sessions, n: int) -> list[str]:
    ids = []
    with sessions() as s:
        for _ in range(n):
            ids.append(crud.create_run(s, dict(PARAMS), None).id)
    return ids


def add_demands(sessions, *ids: str) -> None:
    """Profiles plus ``accepted`` demands (``ids``), which runs plan."""
    from xfd.matching.readers import validate_demand

    with sessions() as s:
        crud.commit_profiles(s, [validate_profile(p) for p in PROFILES])
        crud.ensure_enterprise(s, "E1")
        for did in ids:
            row = crud.add_demand(s, validate_demand({"id": did, "title": "机器视觉缺陷检测", "enterprise": "E1"}))
            row.status = "accepted"
        s.commit()


def fake_engine(sessions) -> MatchEngine:
    def load() -> list:
        with sessions() as s:
            return crud.load_profiles(s)

    return MatchEngine(FakeScorer, load, model_name="fake")


class RecordingPlanner:
    """``greedy_planner`` that records the demand ids of every call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, profiles, demands, scores, required, solver, bonus):
        self.calls.append([d.id for d in demands])
        return greedy_planner(profiles, demands, scores, required, solver, bonus)


# -- claims -------------------------------------------------------------------------------------
def test_claim_exactly_once_with_concurrent_claimers(url: str) -> None:
    """8 claimers, each on its own engine (its own connections), race for 40 queued runs: every run
    is claimed by exactly one of them, and its row names that claimer."""
    setup = make_engine(url)
    ids = queue(make_session_factory(setup), 40)
    got: dict[str, list[str]] = {}
    start = threading.Barrier(8)

    def claimer(name: str) -> None:
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        mine: list[str] = []
        start.wait()
        while True:
            with sessions() as s:
                run = rq.claim_run(s, name)
            if run is None:
                break
            assert run.status == "running" and run.owner == name
            mine.append(run.id)
        got[name] = mine
        engine.dispose()

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    claimed = [rid for mine in got.values() for rid in mine]
    assert len(got) == 8 and sorted(claimed) == sorted(ids)          # each run exactly once
    with make_session_factory(setup)() as s:
        owners = {r.id: r.owner for r in s.scalars(sa.select(AssignmentRun))}
    assert owners == {rid: name for name, mine in got.items() for rid in mine}
    setup.dispose()


def test_claims_oldest_first_and_none_when_empty(sessions) -> None:
    first, second = queue(sessions, 2)
    with sessions() as s:
        assert rq.claim_run(s, "a").id == first
        assert rq.claim_run(s, "b").id == second
        assert rq.claim_run(s, "c") is None
        # a claimed run's writes belong to its owner only
        assert rq.set_run_progress(s, first, "a", 0.5, "scoring")
        assert not rq.set_run_progress(s, first, "b", 0.7, "scoring")
        assert not rq.finish_run(s, first, "b", {"teams": []})
        assert rq.finish_run(s, first, "a", {"teams": []})
        assert not rq.heartbeat_run(s, first, "a")               # done: no longer running
        run = crud.get_run(s, first)
        s.refresh(run)
        assert (run.status, run.progress, run.plan) == ("done", 1.0, {"teams": []})


# -- leases -------------------------------------------------------------------------------------
def test_expired_lease_fails_the_run_and_the_dead_owner_cannot_store(sessions) -> None:
    (rid,) = queue(sessions, 1)
    with sessions() as s:
        rq.claim_run(s, "dead")
        assert rq.expire_leases(s, 60.0) == 0                    # fresh heartbeat: alive
        s.execute(update(AssignmentRun).where(AssignmentRun.id == rid)
                  .values(heartbeat_at=rq.utcnow() - dt.timedelta(seconds=61)))
        s.commit()
        assert rq.expire_leases(s, 60.0) == 1
        assert not rq.finish_run(s, rid, "dead", {"teams": []})  # the late result is refused
        run = s.get(AssignmentRun, rid, populate_existing=True)
        assert run.status == "failed" and run.plan is None and "lease expired" in run.reason


def test_heartbeat_keeps_a_slow_run_alive_past_the_lease(sessions) -> None:
    """Lease 1 s, heartbeat 0.1 s, a planner taking 2.5 s, and another worker expiring leases
    all along: the run still finishes (done, with its plan)."""
    add_demands(sessions, "D1")
    (rid,) = queue(sessions, 1)

    def slow(*args):
        time.sleep(2.5)
        return greedy_planner(*args)

    worker = RunWorker(sessions, fake_engine(sessions), slow, owner="slow", lease=1.0, heartbeat=0.1)
    t = threading.Thread(target=worker.run_once)
    t.start()
    while t.is_alive():
        with sessions() as s:
            assert rq.expire_leases(s, 1.0) == 0
        time.sleep(0.1)
    with sessions() as s:
        run = s.get(AssignmentRun, rid)
        assert run.status == "done" and run.plan["teams"][0]["demand_id"] == "D1"


def test_a_worker_without_heartbeats_loses_its_run(sessions) -> None:
    """A worker that stops beating (simulated: its heartbeat interval longer than the planner)
    has its run failed by another worker's ``run_once``, and then its own result is dropped."""
    add_demands(sessions, "D1")
    (rid,) = queue(sessions, 1)
    reaped = threading.Event()

    def stalls(*args):
        other = RunWorker(sessions, fake_engine(sessions), greedy_planner, owner="other", lease=0.5, heartbeat=0.2)
        time.sleep(0.8)
        assert other.run_once() is None and not other.executed   # it expired the lease, found nothing queued
        reaped.set()
        return greedy_planner(*args)

    stalled = RunWorker(sessions, fake_engine(sessions), stalls, owner="stalled", lease=0.5, heartbeat=0.2)
    stalled.heartbeat = 60.0  # no beat during the planner (a frozen process)
    assert stalled.run_once() == rid and reaped.is_set()
    with sessions() as s:
        run = s.get(AssignmentRun, rid)
        assert run.status == "failed" and "lease expired" in run.reason and run.plan is None


# -- cancel -------------------------------------------------------------------------------------
def test_cancel_a_queued_run_at_once(sessions) -> None:
    (rid,) = queue(sessions, 1)
    with sessions() as s:
        assert crud.cancel_run(s, rid).status == "cancelled"
        assert rq.claim_run(s, "w") is None
        with pytest.raises(Conflict, match="run is cancelled"):
            crud.cancel_run(s, rid)


@pytest.mark.parametrize("phase", ["scoring", "solving", "storing"])
def test_cancel_at_each_phase(sessions, phase: str) -> None:
    """The office cancels while the worker is at ``phase``: the run ends ``cancelled`` without a plan,
    and nothing after that phase ran (the planner only when cancelled before storing)."""
    add_demands(sessions, "D1", "D2", "D3")
    (rid,) = queue(sessions, 1)
    seen: list[str] = []

    def on_phase(run_id: str, name: str) -> None:
        seen.append(name)
        if name == phase and seen.count(name) == 1:
            with sessions() as s:
                run = crud.cancel_run(s, run_id)
                assert run.status == "running" and run.cancel_requested_at is not None

    planner = RecordingPlanner()
    worker = RunWorker(sessions, fake_engine(sessions), planner, score_batch=1, on_phase=on_phase)
    assert worker.run_once() == rid
    with sessions() as s:
        run = s.get(AssignmentRun, rid)
        assert run.status == "cancelled" and run.plan is None and "cancelled" in run.reason
        with pytest.raises(Conflict, match="run is cancelled"):
            crud.cancel_run(s, rid)
    assert seen[-1] == phase and seen.count("scoring") == (1 if phase == "scoring" else 3)
    assert planner.calls == ([["D1", "D2", "D3"]] if phase == "storing" else [])


def test_cancel_a_finished_run_is_a_conflict_naming_its_state(sessions) -> None:
    (rid,) = queue(sessions, 1)
    with sessions() as s:
        rq.claim_run(s, "w")
        rq.fail_run(s, rid, "w", "boom")
        with pytest.raises(Conflict, match="run is failed"):
            crud.cancel_run(s, rid)


def test_a_stopping_worker_fails_its_run_at_the_next_phase(sessions) -> None:
    add_demands(sessions, "D1")
    (rid,) = queue(sessions, 1)
    worker = RunWorker(sessions, fake_engine(sessions), greedy_planner,
                       on_phase=lambda _r, name: worker.stopping.set() if name == "solving" else None)
    worker.run_once()
    with sessions() as s:
        run = s.get(AssignmentRun, rid)
        assert run.status == "failed" and run.reason == SHUTDOWN and run.plan is None


# -- scoring in batches -------------------------------------------------------------------------
def test_batched_scoring_equals_one_shot(sessions) -> None:
    add_demands(sessions, "D1", "D2", "D3", "D4", "D5")
    from xfd.api.crud.teams import planned_demands

    with sessions() as s:
        demands = planned_demands(s, None, "2026秋")
    engine = fake_engine(sessions)
    profiles, whole, required = engine.score(demands)
    got: dict[int, np.ndarray] = {}

    def planner(p, d, scores, req, solver, bonus):
        assert [x.id for x in p] == [x.id for x in profiles] and list(req) == list(required)
        got[len(got)] = scores
        return greedy_planner(p, d, scores, req, solver, bonus)

    for batch in (1, 2, 5, 100):
        queue(sessions, 1)
        RunWorker(sessions, engine, planner, score_batch=batch).run_once()
    assert len(got) == 4 and all(np.array_equal(m, whole) for m in got.values())


# -- the HTTP contract with a queue and no local worker ---------------------------------------
def test_queued_run_answers_running_and_can_be_cancelled_over_http(url: str) -> None:
    app = create_app(Settings(database_url=url, model="fake"), scorer_factory=FakeScorer, planner=greedy_planner,
                     run_threads=0)
    with TestClient(app) as c:
        with app.state.sessions() as s:
            _, key = create_key(s, "office")
            _, ent = create_key(s, "enterprise", "E1")
            s.commit()
        office, enterprise = {"Authorization": f"Bearer {key}"}, {"Authorization": f"Bearer {ent}"}
        r = c.post("/v1/assignment-runs", headers=office)
        assert r.status_code == 202 and r.json()["status"] == "running" and r.json()["state"] == "queued"
        rid = r.json()["id"]
        body = c.get(f"/v1/assignment-runs/{rid}", headers=office).json()
        assert (body["status"], body["state"], body["progress"], body["plan"]) == ("running", "queued", 0.0, None)
        assert c.post(f"/v1/assignment-runs/{rid}/cancel", headers=enterprise).status_code == 403
        assert c.post("/v1/assignment-runs/nope/cancel", headers=office).status_code == 404
        r = c.post(f"/v1/assignment-runs/{rid}/cancel", headers=office)
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        r = c.post(f"/v1/assignment-runs/{rid}/cancel", headers=office)
        assert r.status_code == 409 and "cancelled" in r.json()["detail"]
        assert c.post(f"/v1/assignment-runs/{rid}/accept", headers=office).status_code == 409


# -- migration 0007 -------------------------------------------------------------------------------
def test_migration_0007_keeps_old_runs_and_a_left_running_one_is_failed(tmp_path: Path) -> None:
    """A database at 0006 with a done run and a run left ``running`` by an old process: after the
    upgrade the done run is untouched and the running one (no heartbeat) is failed by the first
    lease check, never claimed; downgrading to 0006 drops the columns again."""
    from alembic import command

    from xfd.api.storage.db import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
        for rid, status in (("old-done", "done"), ("old-running", "running")):
            conn.execute(sa.text("INSERT INTO assignment_runs (id, status, progress, params, created_at) "
                                 "VALUES (:i, :s, 0.5, '{}', '2026-11-30 10:00:00')"), {"i": rid, "s": status})
    upgrade_to_head(engine)
    sessions = make_session_factory(engine)
    with sessions() as s:
        assert rq.claim_run(s, "w") is None
        assert rq.expire_leases(s, 60.0) == 1
        assert crud.get_run(s, "old-done").status == "done"
        assert crud.get_run(s, "old-running").status == "failed"
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    columns = {c["name"] for c in sa.inspect(engine).get_columns("assignment_runs")}
    assert "owner" not in columns and "heartbeat_at" not in columns and "status" in columns
    engine.dispose()


# -- isolated solving: a cancel stops a long solve ----------------------------------------------
def slow_planner(profiles, demands, scores, required, solver, bonus):
    """Stands for a long HiGHS solve (only ever runs in the forked child)."""
    time.sleep(120)
    return greedy_planner(profiles, demands, scores, required, solver, bonus)


def failing_planner(profiles, demands, scores, required, solver, bonus):
    raise ValueError("solver input broke")


@pytest.mark.parametrize("planner", [greedy_planner, default_planner])
def test_an_isolated_solve_gives_the_same_plan(sessions, planner) -> None:
    """Also with the real planner (HiGHS in the forked child)."""
    add_demands(sessions, "D1", "D2")
    with sessions() as s:
        ids = [crud.create_run(s, {**PARAMS, "solver": "exact"}, None).id for _ in range(2)]
    engine = fake_engine(sessions)
    RunWorker(sessions, engine, planner).run_once()
    RunWorker(sessions, engine, planner, isolate=True).run_once()
    with sessions() as s:
        runs = [s.get(AssignmentRun, i) for i in ids]
        assert [r.status for r in runs] == ["done", "done"]
        plans = [{**r.plan, "stats": {**r.plan.get("stats", {}), "seconds": 0}} for r in runs]  # but the time taken
        assert plans[0] == plans[1]


def test_an_isolated_solve_that_raises_fails_the_run_with_its_reason(sessions) -> None:
    add_demands(sessions, "D1")
    (rid,) = queue(sessions, 1)
    RunWorker(sessions, fake_engine(sessions), failing_planner, isolate=True).run_once()
    with sessions() as s:
        run = s.get(AssignmentRun, rid)
        assert run.status == "failed" and run.reason == "ValueError: solver input broke"


@pytest.mark.parametrize("stop", ["cancel", "shutdown"])
def test_cancel_or_shutdown_during_an_isolated_solve_stops_it_at_once(sessions, stop: str) -> None:
    add_demands(sessions, "D1")
    (rid,) = queue(sessions, 1)
    solving = threading.Event()
    worker = RunWorker(sessions, fake_engine(sessions), slow_planner, isolate=True,
                       on_phase=lambda _r, name: solving.set() if name == "solving" else None)
    t = threading.Thread(target=worker.run_once)
    t.start()
    assert solving.wait(30)
    time.sleep(1.0)  # the child is solving
    t0 = time.monotonic()
    if stop == "cancel":
        with sessions() as s:
            crud.cancel_run(s, rid)
    else:
        worker.stopping.set()
    t.join(timeout=60)
    assert not t.is_alive(), f"still solving {time.monotonic() - t0:.0f} s later"  # the 120 s solve was killed
    with sessions() as s:
        run = s.get(AssignmentRun, rid)
        assert run.plan is None
        assert (run.status, run.reason) == (("cancelled", run.reason) if stop == "cancel" else ("failed", SHUTDOWN))
    assert not [c for c in __import__("multiprocessing").active_children() if c.name == "xfd-solve"]
