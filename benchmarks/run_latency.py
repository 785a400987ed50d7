"""Recommendation latency while a batch run executes (issue 13 item 2).

Starts a real ``xfd serve`` (one HTTP process, its run worker process) on a fresh database
holding the solver generator's instance (``_bench_util.write_assign_instance``: ~1,300
demands, ~3 profiles per demand, every demand ``accepted``), then times
``GET /v1/demands/{id}/recommendations?k=10`` one request at a time:

1. idle: ``--requests`` requests (after a warm-up), before the run — the run worker may still
   be loading its model and fitting its index then — and again after the run (worker warm and
   idle: the reference the limit uses);
2. during a batch run of every demand (``POST /v1/assignment-runs``): requests back to back
   from the moment the worker claims the run until it is done; only answers received while
   the run was ``running`` count.

Prints p50 / p95 beside the limit (during p95 <= 2 x idle-after p95) and the run's time.
``--in-process`` runs the old layout for comparison (the run executes in a thread of the
server process: ``create_app(run_threads=1)`` under uvicorn).

    python benchmarks/run_latency.py                      # lexical, SQLite, 1,300 demands
    python benchmarks/run_latency.py --in-process         # the same with the run in the server
    python benchmarks/run_latency.py --model e5-small --demands 1300
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _bench_util import loadavg, percentile, write_assign_instance

IN_PROCESS_SERVER = """
import sys, uvicorn
from xfd.api.app import create_app
from xfd.api.settings import Settings
uvicorn.run(create_app(Settings(), run_threads=1), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def seed(url: str, profiles_path: Path, demands_path: Path) -> str:
    """Migrate ``url``, store the profiles and the demands (all ``accepted``); returns an office key."""
    from xfd.api import crud
    from xfd.api.crud.lifecycle import change_demand_status
    from xfd.api.security import Principal
    from xfd.api.storage.db import make_engine, make_session_factory, upgrade_to_head
    from xfd.matching.readers import read_demands, read_profiles

    engine = make_engine(url)
    upgrade_to_head(engine)
    profiles, demands = read_profiles(profiles_path), read_demands(demands_path)
    with make_session_factory(engine)() as s:
        crud.upsert_profiles(s, profiles)
        for d in demands:
            crud.ensure_enterprise(s, d.enterprise)
            s.flush()
            crud.add_demand(s, d)
        row, key = crud.create_key(s, "office", note="run_latency")
        s.commit()
        office = Principal(row.id, "office", None)
        for d in demands:
            change_demand_status(s, office, d.id, "accepted")
    engine.dispose()
    return key


def start_server(url: str, model: str, port: int, in_process: bool, log: Path) -> subprocess.Popen:
    env = {**os.environ, "XFD_DATABASE_URL": url, "XFD_MODEL": model, "HF_HUB_OFFLINE": "1",
           "XFD_RATE_LIMIT": "100000/minute", "XFD_RATE_LIMIT_PER_ADDRESS": "100000/minute"}
    if in_process:
        cmd = [sys.executable, "-c", IN_PROCESS_SERVER, str(port)]
    else:
        cmd = [sys.executable, "-m", "xfd.api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode})")
        try:
            body = requests.get(f"{base}/healthz", timeout=5).json()
            if body.get("index_ready") and body.get("profiles", 0) > 0:
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not get ready")


def recommend(session: requests.Session, base: str, demand_id: str) -> float:
    """Seconds for one recommendation (status 200 required)."""
    t0 = time.perf_counter()
    r = session.get(f"{base}/v1/demands/{demand_id}/recommendations", params={"k": 10}, timeout=120)
    dt = time.perf_counter() - t0
    if r.status_code != 200:
        raise SystemExit(f"recommendation answered {r.status_code}: {r.text[:200]}")
    return dt


def during_run(session: requests.Session, base: str, ids: list[str], rng: random.Random,
               timeout: float) -> tuple[list[float], float, dict]:
    """Latencies while the run is ``running`` (claimed, not done), the run's seconds, its last body."""
    t_post = time.perf_counter()
    rid = session.post(f"{base}/v1/assignment-runs", timeout=60).json()["id"]
    times: list[float] = []
    started = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = session.get(f"{base}/v1/assignment-runs/{rid}", timeout=60).json()
        if body["status"] != "running":
            return times, time.perf_counter() - t_post, body
        if body.get("state") == "running" or started is not None:
            started = started or time.perf_counter()
            dt = recommend(session, base, rng.choice(ids))
            if session.get(f"{base}/v1/assignment-runs/{rid}", timeout=60).json()["status"] == "running":
                times.append(dt)
        else:
            time.sleep(0.05)
    raise SystemExit(f"the run did not finish in {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demands", type=int, default=1300)
    ap.add_argument("--model", default="lexical")
    ap.add_argument("--requests", type=int, default=200, help="idle requests timed")
    ap.add_argument("--database-url", default=None, help="an empty database (default: a temp SQLite file)")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--in-process", action="store_true", help="the old layout: the run in the server process")
    ap.add_argument("--timeout", type=float, default=1800.0, help="longest run (s)")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="xfd-run-latency-"))
    url = args.database_url or f"sqlite:///{work / 'bench.db'}"
    pp, dp = write_assign_instance(args.demands, work, texts="keywords")
    key = seed(url, pp, dp)
    ids = [json.loads(line)["id"] for line in dp.read_text(encoding="utf-8").splitlines()]
    n_profiles = len(pp.read_text(encoding="utf-8").splitlines())
    base = f"http://127.0.0.1:{args.port}"
    load0 = loadavg()
    proc = start_server(url, args.model, args.port, args.in_process, work / "serve.log")
    try:
        wait_ready(base, proc)
        rng = random.Random(0)
        with requests.Session() as s:
            s.headers["Authorization"] = f"Bearer {key}"
            for _ in range(20):
                recommend(s, base, rng.choice(ids))                     # warm-up
            before = [recommend(s, base, rng.choice(ids)) for _ in range(args.requests)]
            busy, run_seconds, body = during_run(s, base, ids, rng, args.timeout)
            idle = [recommend(s, base, rng.choice(ids)) for _ in range(args.requests)]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    load1 = loadavg()
    idle_p50, idle_p95 = percentile(idle, 50) * 1e3, percentile(idle, 95) * 1e3
    limit = 2 * idle_p95
    layout = "run in the server process (old)" if args.in_process else "run in a worker process (xfd serve)"
    print(f"run latency — {args.model}, {args.demands} demands x {n_profiles} profiles, {layout}")
    print(f"  database {url.split(':')[0]}; load average before {load0[0]:.2f}, after {load1[0]:.2f} (2 cores)")
    print(f"  idle before   p50 {percentile(before, 50) * 1e3:8.1f} ms   p95 {percentile(before, 95) * 1e3:8.1f} ms"
          f"   ({len(before)} requests; the worker may still be starting)")
    print(f"  idle after    p50 {idle_p50:8.1f} ms   p95 {idle_p95:8.1f} ms   ({len(idle)} requests)")
    if busy:
        busy_p50, busy_p95 = percentile(busy, 50) * 1e3, percentile(busy, 95) * 1e3
        verdict = "yes" if busy_p95 <= limit else "NO"
        print(f"  during a run  p50 {busy_p50:8.1f} ms   p95 {busy_p95:8.1f} ms   ({len(busy)} requests)")
        print(f"  limit: p95 during <= 2 x idle-after p95 = {limit:.1f} ms -> {verdict} ({busy_p95 / idle_p95:.2f}x)")
    else:
        print("  during a run: no request completed while the run was running")
    print(f"  run: {body['status']} in {run_seconds:.1f} s (POST to done), "
          f"{len(body['plan']['teams']) if body.get('plan') else 0} teams")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
