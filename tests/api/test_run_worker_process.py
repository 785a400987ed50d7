"""Run workers as real processes: a worker killed with SIGKILL mid-run loses its lease (the run
is failed, not stuck), ``xfd worker --once`` executes the queue at a lower priority, and
``xfd serve --workers 2`` serves with two HTTP processes and its run worker.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.api.multi_instance import office_key, start_serve
from tests.api.test_run_queue import PARAMS, add_demands, queue
from xfd.api.crud import runs as rq
from xfd.api.storage.db import make_engine, make_session_factory, upgrade_to_head
from xfd.api.storage.models import AssignmentRun

ROOT = Path(__file__).resolve().parents[2]

#: a worker process (fake scorer) whose planner never returns: it sits in "solving" until killed
STUCK_WORKER = """
import sys, time
from tests.api.test_run_queue import fake_engine
from xfd.api.runs import RunWorker
from xfd.api.storage.db import make_engine, make_session_factory
sessions = make_session_factory(make_engine(sys.argv[1]))
def never(*_a):
    time.sleep(3600)
RunWorker(sessions, fake_engine(sessions), never, owner="doomed", lease=2.0, heartbeat=0.2).run_once()
"""


def _sessions(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    return url, make_session_factory(engine)


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_worker_loses_its_lease_and_the_run_is_failed(tmp_path: Path) -> None:
    url, sessions = _sessions(tmp_path)
    add_demands(sessions, "D1")
    (rid,) = queue(sessions, 1)
    proc = subprocess.Popen([sys.executable, "-c", STUCK_WORKER, url], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE)
    try:
        def phase() -> str | None:
            with sessions() as s:
                return s.get(AssignmentRun, rid, populate_existing=True).phase == "solving"

        _wait(phase, 120, "the worker to reach the solver")
        with sessions() as s:  # alive: its heartbeats keep the 2 s lease over 1 s
            time.sleep(1.0)
            assert rq.expire_leases(s, 2.0) == 0
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    time.sleep(2.5)
    from tests.api.test_run_queue import fake_engine
    from xfd.api.runs import RunWorker

    other = RunWorker(sessions, fake_engine(sessions), lambda *a: {}, owner="survivor", lease=2.0, heartbeat=0.2)
    assert other.run_once() is None            # nothing queued: the dead worker's run is not re-run…
    with sessions() as s:
        run = s.get(AssignmentRun, rid, populate_existing=True)
        assert (run.status, run.owner, run.plan) == ("failed", "doomed", None)   # …it is failed, with the reason
        assert "lease expired" in run.reason


def test_xfd_worker_once_executes_the_queue_niced(tmp_path: Path) -> None:
    url, sessions = _sessions(tmp_path)
    add_demands(sessions, "D1", "D2")
    ids = queue(sessions, 2)
    with sessions() as s:  # a stale run of a process before the queue (no heartbeat) is failed, not executed
        s.add(AssignmentRun(id="stale", status="running", progress=0.3, params=dict(PARAMS)))
        s.commit()
    env = {**os.environ, "XFD_DATABASE_URL": url, "XFD_MODEL": "lexical", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "xfd.api.cli", "worker", "--once"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "nice 10" in done.stderr and "after 2 run(s)" in done.stderr
    with sessions() as s:
        runs = {r.id: r for r in s.query(AssignmentRun)}
        for rid in ids:
            assert runs[rid].status == "done" and runs[rid].owner.split(":")[1].isdigit()
            assert {t["demand_id"] for t in runs[rid].plan["teams"]} | \
                   {u["demand_id"] for u in runs[rid].plan["unassigned"]} == {"D1", "D2"}
        assert runs["stale"].status == "failed" and "restart" in runs["stale"].reason
    bad = subprocess.run([sys.executable, "-m", "xfd.api.cli", "worker", "--once", "--nice", "25"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--nice" in bad.stderr and "Traceback" not in bad.stderr


def test_serve_with_two_http_workers_and_a_run_worker(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    office = office_key(url)
    server = start_serve({"XFD_DATABASE_URL": url, "XFD_MODEL": "lexical", "HF_HUB_OFFLINE": "1"},
                         tmp_path / "serve.log", ["--workers", "2"])
    try:
        base = server.base
        profiles = [{"id": "T1", "kind": "teacher", "disciplines": ["机械工程"], "keywords": ["机器视觉", "缺陷检测"]},
                    {"id": "S1", "kind": "student", "major": "机械电子工程", "grade": 2, "skills": ["机器视觉"]}]
        assert requests.post(f"{base}/v1/profiles", json=profiles, headers=office, timeout=30).status_code == 200
        demand = {"id": "D1", "title": "机器视觉缺陷检测", "enterprise": "E1", "team_size": [1, 2]}
        assert requests.post(f"{base}/v1/demands", json=demand, headers=office, timeout=30).status_code == 201
        assert requests.patch(f"{base}/v1/demands/D1", json={"status": "accepted"}, headers=office,
                              timeout=30).status_code == 200
        rid = requests.post(f"{base}/v1/assignment-runs", headers=office, timeout=30).json()["id"]

        def finished() -> dict | None:
            body = requests.get(f"{base}/v1/assignment-runs/{rid}", headers=office, timeout=30).json()
            return body if body["status"] != "running" else None

        body = _wait(finished, 180, "the run")
        assert body["status"] == "done" and body["plan"]["teams"][0]["demand_id"] == "D1", body
        log = server.tail(100_000)
        assert log.count("Started server process") == 2, log            # two HTTP processes
        assert f"assignment run {rid} claimed by" in log and "run worker(s)" in log
    finally:
        server.stop()
    assert "run worker stopped after 1 run(s)" in server.tail(100_000)   # the worker ended with the server


def test_a_worker_exits_when_its_parent_is_gone(tmp_path: Path) -> None:
    """``xfd worker --parent PID`` stops when PID is not its parent — here a process that already
    exited before the worker started (the worker's parent is this test, not PID)."""
    url, _sessions_ = _sessions(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    env = {**os.environ, "XFD_DATABASE_URL": url, "XFD_MODEL": "lexical", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "xfd.api.cli", "worker", "--parent", str(gone.pid)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "after 0 run(s)" in done.stderr, done.stderr
