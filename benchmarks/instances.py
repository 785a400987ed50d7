"""How fast a profile written on one instance reaches another's recommendations (issue 13 item 3).

Starts two real ``xfd serve`` processes (A, B) on one database holding the demo
corpus' profiles (replicated with new ids up to ``--profiles``) and one demand,
then ``--trials`` times: POSTs one new profile (its text = the demand's, so it
ranks first) to A and polls ``GET /v1/demands/D/recommendations?k=5`` on B and
on A every 50 ms until it is listed.  Prints the seconds per trial, median and
max, beside the bound (10 s: hidden acceptance) and the machine load.

    python benchmarks/instances.py --database-url postgresql+psycopg://xfd:xfd@127.0.0.1:5432/xfd_bench
    python benchmarks/instances.py --profiles 1000 --model lexical          # SQLite file in a temp dir

The database's tables are dropped first: give it a throw-away database.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BOUND_S = 10.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "xfd.api.cli", "serve", "--port", str(port)],
                            env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"xfd serve exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except requests.RequestException:
            pass
        time.sleep(0.3)
    sys.exit(f"xfd serve did not start: {log.read_text(errors='replace')[-2000:]}")


def _office_key(url: str) -> dict[str, str]:
    from xfd.api.security import create_key
    from xfd.api.storage.db import make_engine, make_session_factory, upgrade_to_head

    engine = make_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)
    upgrade_to_head(engine)
    with make_session_factory(engine)() as s:
        _, key = create_key(s, "office", None)
        s.commit()
    engine.dispose()
    return {"Authorization": f"Bearer {key}"}


def _profiles(n: int) -> list[dict]:
    rows = [json.loads(line) for line in (ROOT / "corpora" / "demo" / "profiles.jsonl").open(encoding="utf-8")]
    out = []
    for i in range(n):
        p = dict(rows[i % len(rows)])
        p["id"] = f"{p['id']}-{i // len(rows)}"
        p.pop("members", None)  # team members may name ids that the copies do not have
        out.append(p)
    return out


def _until_listed(base: str, office: dict[str, str], pid: str, t0: float) -> float:
    while True:
        r = requests.get(f"{base}/v1/demands/D1/recommendations?k=5", headers=office, timeout=60)
        r.raise_for_status()
        if pid in {m["profile_id"] for m in r.json()["matches"]}:
            return time.monotonic() - t0
        if time.monotonic() - t0 > 120:
            return float("inf")
        time.sleep(0.05)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=None, help="throw-away database (default: a SQLite file in a temp dir)")
    ap.add_argument("--model", default="lexical")
    ap.add_argument("--profiles", type=int, default=340)
    ap.add_argument("--trials", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="xfd-instances-"))
    url = args.database_url or f"sqlite:///{tmp / 'shared.db'}"
    office = _office_key(url)
    env = {"XFD_DATABASE_URL": url, "XFD_MODEL": args.model}
    procs = []
    try:
        a_proc, a = _serve(env, tmp / "a.log")
        procs.append(a_proc)
        body = _profiles(args.profiles)
        for i in range(0, len(body), 1000):
            requests.post(f"{a}/v1/profiles", json=body[i:i + 1000], headers=office, timeout=600).raise_for_status()
        demand = {"id": "D1", "title": "抹茶加工工艺标准化与连续化生产线改进",
                  "description": "杀青、揉捻、烘干各工序的关键工艺参数标准与设备连续化改造", "disciplines": []}
        requests.post(f"{a}/v1/demands", json=demand, headers=office, timeout=60).raise_for_status()
        b_proc, b = _serve(env, tmp / "b.log")
        procs.append(b_proc)
        for base in (a, b):
            requests.get(f"{base}/v1/demands/D1/recommendations?k=5", headers=office, timeout=600).raise_for_status()
        on_b, on_a = [], []
        for t in range(args.trials):
            pid = f"NEW{t}"
            t0 = time.monotonic()
            requests.post(f"{a}/v1/profiles", json=[{"id": pid, "keywords": ["抹茶", "杀青"], "documents": [
                {"kind": "project", "title": demand["title"], "text": demand["description"]}]}],
                headers=office, timeout=60).raise_for_status()
            on_b.append(_until_listed(b, office, pid, t0))
            on_a.append(_until_listed(a, office, pid, t0))
        load = os.getloadavg()[0]
        backend = sa.engine.make_url(url).get_backend_name()
        print(f"{args.profiles} profiles, model {args.model}, {backend}, load {load:.1f} on {os.cpu_count()} cores")
        print("posted on A, listed on B (s): " + ", ".join(f"{x:.2f}" for x in on_b)
              + f"  median {statistics.median(on_b):.2f}, max {max(on_b):.2f} (bound {BOUND_S:.0f} s: "
              + ("yes" if max(on_b) <= BOUND_S else "NO") + ")")
        print("posted on A, listed on A (s): " + ", ".join(f"{x:.2f}" for x in on_a)
              + f"  median {statistics.median(on_a):.2f}")
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
