"""How fast a profile written on one instance reaches another's recommendations (issue 13 item 3).

Starts two real ``xfd serve`` processes (A, B) on one database holding ``--profiles`` profiles
and one demand, then ``--trials`` times: POSTs one new profile (its text = the demand's, so it
ranks first) to A and polls ``GET /v1/demands/D/recommendations?k=5`` on B and on A every 50 ms
until it is listed.  Prints the seconds per trial, median and max, beside the bound (10 s: hidden
acceptance), the CPU seconds B spent meanwhile (its refit) and the machine load.

Profiles: ``--source demo`` replicates the demo corpus' profiles with new ids (documents repeat
every 34 profiles); ``--source csl`` builds them from CSL abstracts (``../shared/data``, 3 distinct
documents each, as ``benchmarks/run.py``).  ``--no-memo`` starts the servers with
``MatchEngine(memo=False)`` (the refit of session 2: every document tokenised again), for a
before/after comparison on the same tree.

    python benchmarks/instances.py --database-url postgresql+psycopg://xfd:xfd@127.0.0.1:5432/xfd_bench
    python benchmarks/instances.py --profiles 3400 --source csl --database-url ... [--no-memo]
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
#: ``python -c`` starting ``xfd serve`` with the refit memos off (``--no-memo``)
NO_MEMO = ("import runpy, sys; import xfd.api.engine as e; e.MatchEngine.__init__.__kwdefaults__['memo'] = False; "
           "sys.argv = ['xfd', *sys.argv[1:]]; runpy.run_module('xfd.api.cli', run_name='__main__')")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env: dict[str, str], log: Path, memo: bool = True) -> tuple[subprocess.Popen, str]:
    port = _port()
    head = ["-m", "xfd.api.cli"] if memo else ["-c", NO_MEMO]
    proc = subprocess.Popen([sys.executable, *head, "serve", "--port", str(port)],
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its threads so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def demo_profiles(n: int) -> list[dict]:
    """``n`` copies of the demo corpus' profiles (ids ``<id>-<copy>``, team members dropped)."""
    rows = [json.loads(line) for line in (ROOT / "corpora" / "demo" / "profiles.jsonl").open(encoding="utf-8")]
    out = []
    for i in range(n):
        p = dict(rows[i % len(rows)])
        p["id"] = f"{p['id']}-{i // len(rows)}"
        p.pop("members", None)  # team members may name ids that the copies do not have
        out.append(p)
    return out


def csl_profiles(n: int) -> list[dict]:
    """``n`` profiles of 3 distinct CSL documents each (``_bench_util.make_profiles``) as POST bodies."""
    sys.path.insert(0, str(HERE))
    from _bench_util import load_source, make_profiles

    return [{"id": p.id, "kind": p.kind, "disciplines": list(p.disciplines),
             "documents": [{"kind": d.kind, "title": d.title, "text": d.text, "year": d.year} for d in p.documents]}
            for p in make_profiles(load_source(), n)]


def _until_listed(base: str, office: dict[str, str], pid: str, t0: float) -> float:
    while True:
        r = requests.get(f"{base}/v1/demands/D1/recommendations?k=5", headers=office, timeout=60)
        r.raise_for_status()
        if pid in {m["profile_id"] for m in r.json()["matches"]}:
            return time.monotonic() - t0
        if time.monotonic() - t0 > 120:
            return float("inf")
        time.sleep(0.05)


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=None, help="throw-away database (default: a SQLite file in a temp dir)")
    ap.add_argument("--model", default="lexical")
    ap.add_argument("--profiles", type=int, default=340)
    ap.add_argument("--source", choices=("demo", "csl"), default="demo")
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--no-memo", action="store_true", help="servers refit without memos (before/after)")
    return ap.parse_args()


def _line(label: str, xs: list[float]) -> str:
    return (f"{label}: " + ", ".join(f"{x:.2f}" for x in xs)
            + f"  median {statistics.median(xs):.2f}, max {max(xs):.2f}")


def main() -> int:
    args = _args()
    tmp = Path(tempfile.mkdtemp(prefix="xfd-instances-"))
    url = args.database_url or f"sqlite:///{tmp / 'shared.db'}"
    office = _office_key(url)
    env = {"XFD_DATABASE_URL": url, "XFD_MODEL": args.model}
    memo = not args.no_memo
    procs = []
    try:
        a_proc, a = _serve(env, tmp / "a.log", memo)
        procs.append(a_proc)
        body = demo_profiles(args.profiles) if args.source == "demo" else csl_profiles(args.profiles)
        for i in range(0, len(body), 1000):
            requests.post(f"{a}/v1/profiles", json=body[i:i + 1000], headers=office, timeout=600).raise_for_status()
        demand = {"id": "D1", "title": "抹茶加工工艺标准化与连续化生产线改进",
                  "description": "杀青、揉捻、烘干各工序的关键工艺参数标准与设备连续化改造", "disciplines": []}
        requests.post(f"{a}/v1/demands", json=demand, headers=office, timeout=60).raise_for_status()
        b_proc, b = _serve(env, tmp / "b.log", memo)
        procs.append(b_proc)
        for base in (a, b):
            requests.get(f"{base}/v1/demands/D1/recommendations?k=5", headers=office, timeout=900).raise_for_status()
        on_b, on_a, cpu_b, loads = [], [], [], []
        for t in range(args.trials):
            pid = f"NEW{t}"
            c0 = cpu_seconds(b_proc.pid)
            t0 = time.monotonic()
            requests.post(f"{a}/v1/profiles", json=[{"id": pid, "keywords": ["抹茶", "杀青"], "documents": [
                {"kind": "project", "title": demand["title"], "text": demand["description"]}]}],
                headers=office, timeout=60).raise_for_status()
            on_b.append(_until_listed(b, office, pid, t0))
            cpu_b.append(cpu_seconds(b_proc.pid) - c0)
            on_a.append(_until_listed(a, office, pid, t0))
            loads.append(os.getloadavg()[0])
        backend = sa.engine.make_url(url).get_backend_name()
        print(f"{args.profiles} profiles ({args.source}), model {args.model}, {backend}, refit memo "
              f"{'on' if memo else 'off'}, load {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores")
        print(_line("posted on A, listed on B (s)", on_b) + f" (bound {BOUND_S:.0f} s: "
              + ("yes" if max(on_b) <= BOUND_S else "NO") + ")")
        print(_line("B's CPU seconds meanwhile", cpu_b))
        print(_line("posted on A, listed on A (s)", on_a))
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
