"""Office pages and API calls on a database the size of a real programme.

Builds a fresh SQLite database (or ``--database-url``, an empty one) through the
project's own data-access functions (``xfd.api.crud``, ``xfd.api.accounts``: the
ones the API, the pages and ``xfd demo`` use): ``--people`` teachers and students
(about a third teachers) of 12 colleges, ``--enterprises`` enterprises in 9
counties with two demands each, ``--teams`` teams in each of two semesters
(``2026春`` and ``2026秋``; half of the spring teams carry on into autumn),
activities, outcomes and ratings, the rest of the demands submitted, accepted or
returned, and ``--audit`` audit-log rows. Then times, one request at a time with
the FastAPI ``TestClient`` (``--model lexical``, so no neural model is needed),
the pages and calls office staff use most, and prints each median and worst time
beside the limit: **1 s per page or call at this scale**. ``xfd report --xlsx``
runs as a new process (as a user runs it), its wall time against the same limit
plus start-up.

    python benchmarks/programme_scale.py                       # 1,100 people, 300 enterprises, 130 teams / semester
    python benchmarks/programme_scale.py --people 3000 --enterprises 900 --teams 400
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _bench_util import loadavg

LIMIT_S = 1.0  # per page / API call at this scale
CLI_LIMIT_S = 1.0  # xfd report --xlsx, beyond the bare start-up of ``xfd --help``
COUNTIES = ("城关区", "七里河区", "西固区", "安宁区", "红古区", "永登县", "皋兰县", "榆中县", "兰州新区")
COLLEGES = ("机械工程学院", "计算机学院", "食品学院", "化工学院", "材料学院", "电气学院", "土木学院", "农学院",
            "生命科学学院", "经济管理学院", "环境学院", "能源学院")
SPRING, AUTUMN = "2026春", "2026秋"
PASSWORD = "programme-scale-1"


def build(url: str, people: int, enterprises: int, teams: int, audit: int, seed: int = 0) -> dict[str, object]:
    """Fill the empty database at ``url``; returns the keys, counts and some ids to open."""
    from xfd import corpora
    from xfd.api import accounts, crud
    from xfd.api.crud import service as crud_service
    from xfd.api.crud.audit import Actor, AuditEntry, record_write
    from xfd.api.crud.lifecycle import change_demand_status
    from xfd.api.crud.teams import latest_team, teams_from_plan
    from xfd.api.security import Principal
    from xfd.api.storage.db import make_engine, make_session_factory, upgrade_to_head
    from xfd.matching.readers import validate_demand, validate_profile

    rng = random.Random(seed)
    discs = [r for r in corpora.read_disciplines() if r.keywords][:40]
    engine = make_engine(url)
    upgrade_to_head(engine)
    sessions = make_session_factory(engine)
    n_teachers = people // 3
    profiles, by_disc_t, by_disc_s = [], {}, {}
    for i in range(people):
        d = rng.sample(discs, 2)
        kind = "teacher" if i < n_teachers else "student"
        pid = f"T{i:05d}" if kind == "teacher" else f"S{i:05d}"
        rec = {"id": pid, "name": f"人员{i}", "kind": kind, "college": COLLEGES[i % len(COLLEGES)],
               "disciplines": [x.name for x in d], "county": COUNTIES[i % len(COUNTIES)],
               "keywords": rng.sample([k for x in d for k in x.keywords], 3)}
        if kind == "student":
            rec.update(major=d[0].name, grade=1 + i % 4, skills=rec["keywords"][:2])
        else:
            rec["title"] = ("教授", "副教授", "讲师")[i % 3]
        profiles.append(validate_profile(rec))
        (by_disc_t if kind == "teacher" else by_disc_s).setdefault(d[0].name, []).append(pid)
    teacher_ids = [p.id for p in profiles if p.kind == "teacher"]
    student_ids = [p.id for p in profiles if p.kind == "student"]
    ent_ids = [f"E{k:04d}" for k in range(enterprises)]
    with sessions() as s:
        crud.commit_profiles(s, profiles)
        for k, e in enumerate(ent_ids):
            crud.ensure_enterprise(s, e, name=f"企业{k}", county=COUNTIES[k % len(COUNTIES)])
        s.flush()
        demands = []
        for k in range(2 * enterprises):
            d = rng.sample(discs, 2)
            rec = {"id": f"D{k:05d}", "enterprise": ent_ids[k % enterprises], "county": COUNTIES[k % len(COUNTIES)],
                   "industry": "C", "title": f"{d[0].keywords[0]}技术需求{k}",
                   "description": "需要" + "、".join(d[0].keywords[:3] + d[1].keywords[:2]) + "方面的技术支持。",
                   "disciplines": [x.name for x in d]}
            demand = validate_demand(rec)
            crud.add_demand(s, demand)
            demands.append(demand)
        office_row, office_key = crud.create_key(s, "office", note="programme_scale")
        _admin_row, admin_key = crud.create_key(s, "admin", note="programme_scale")
        accounts.create_user(s, "office", "office_scale", PASSWORD)
        s.commit()
        office = Principal(office_row.id, "office", None)

        def team_of(i: int) -> list[dict[str, object]]:
            ts, ss = rng.sample(teacher_ids, 2), rng.sample(student_ids, 2)
            return [{"profile_id": ts[0], "role": "lead"}, {"profile_id": ts[1], "role": "member"},
                    *({"profile_id": x, "role": "member"} for x in ss)]

        def activities(team, members) -> int:
            n = rng.randint(4, 12)
            for _ in range(n):
                who = [m["profile_id"] for m in rng.sample(members, 2)]
                crud_service.add_activity(s, office, team.id, dt.date(2026, rng.randint(3, 6), rng.randint(1, 28)),
                                          rng.choice(("visit", "on-site", "training", "online")),
                                          rng.choice((2, 4, 6, 8)), who, "走访企业，现场诊断")
            return n

        def close(demand_id: str, ent: str) -> None:
            solved = rng.random() < 0.7
            crud_service.add_outcome(s, office, demand_id, solved, contract_amount=rng.choice((0, 50000, 150000)) if solved else 0,
                                     patents=rng.randint(0, 2), papers=rng.randint(0, 1))
            crud_service.add_rating(s, Principal(0, "enterprise", ent), demand_id, rng.randint(2, 5), "服务认真")

        ids = [d.id for d in demands]
        ent_of = {d.id: d.enterprise for d in demands}
        n_act = 0
        spring, carried, autumn_new = ids[:teams], ids[: teams // 2], ids[teams: teams + teams - teams // 2]
        for did in ids[: 2 * teams]:
            change_demand_status(s, office, did, "accepted")
        for sem, batch in ((SPRING, spring), (AUTUMN, carried + autumn_new)):
            plan = {"teams": [{"demand_id": did, "members": team_of(0)} for did in batch]}
            teams_from_plan(s, plan, sem, office)  # what accepting a run does
            s.commit()
            for t in plan["teams"]:
                n_act += activities(latest_team(s, t["demand_id"]), t["members"])
            closing = spring[teams // 2:] if sem == SPRING else batch[: len(batch) * 2 // 3]
            for did in closing:
                close(did, ent_of[did])
        rest = ids[2 * teams:]
        for k, did in enumerate(rest):
            if k % 3 == 1:
                change_demand_status(s, office, did, "accepted")
            elif k % 3 == 2:
                change_demand_status(s, office, did, "returned", "请补充需求细节")
        actor = Actor(key_id=office_row.id, key_prefix=office_row.prefix, role="office")
        for k in range(audit):
            record_write(s, AuditEntry(actor, "POST", "/v1/demands", "/v1/demands", 201, ids[k % len(ids)], "127.0.0.1"))
        s.commit()
    engine.dispose()
    return {"office_key": office_key, "admin_key": admin_key, "demand": ids[0], "team_demand": spring[0],
            "counts": {"people": people, "teachers": len(teacher_ids), "students": len(student_ids),
                       "enterprises": enterprises, "demands": len(ids), "teams": len(spring) + len(carried) + len(autumn_new),
                       "activities": n_act, "audit rows": audit}}


def timed(client, path: str, reps: int, headers: dict[str, str] | None = None) -> list[float]:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        r = client.get(path, headers=headers or {})
        times.append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise SystemExit(f"GET {path} answered {r.status_code}: {r.text[:300]}")
    return times


def cli_report(url: str, by: str, out: Path) -> float:
    env = {**os.environ, "XFD_DATABASE_URL": url, "XFD_MODEL": "lexical", "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "xfd.api.cli", "report", "--semester", SPRING, "--by", by,
                        "--xlsx", str(out)], cwd=ROOT, env=env, capture_output=True, text=True)
    dt_ = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"xfd report --by {by} failed: {p.stderr.strip()[:300]}")
    return dt_


def bare_cli(url: str) -> float:
    env = {**os.environ, "XFD_DATABASE_URL": url}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "xfd.api.cli", "--help"], cwd=ROOT, env=env, capture_output=True, check=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=1100)
    ap.add_argument("--enterprises", type=int, default=300)
    ap.add_argument("--teams", type=int, default=130, help="teams per semester")
    ap.add_argument("--audit", type=int, default=20000, help="audit-log rows")
    ap.add_argument("--reps", type=int, default=5, help="requests per figure")
    ap.add_argument("--database-url", default=None, help="an empty database (default: a temp SQLite file)")
    args = ap.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="xfd-programme-"))
    url = args.database_url or f"sqlite:///{work / 'programme.db'}"
    t0 = time.perf_counter()
    built = build(url, args.people, args.enterprises, args.teams, args.audit)
    build_s = time.perf_counter() - t0
    print(f"built in {build_s:.1f} s: " + ", ".join(f"{v} {k}" for k, v in built["counts"].items()), file=sys.stderr)

    from fastapi.testclient import TestClient

    from xfd.api.app import create_app
    from xfd.api.settings import Settings

    app = create_app(Settings(database_url=url, model="lexical", rate_limit="1000000/minute",
                              rate_limit_per_address="1000000/minute", run_workers=0))
    office = {"Authorization": f"Bearer {built['office_key']}"}
    admin = {"Authorization": f"Bearer {built['admin_key']}"}
    demand, team_demand = built["demand"], built["team_demand"]
    figures: list[tuple[str, list[float]]] = []
    load0 = loadavg()
    with TestClient(app, follow_redirects=False) as c:
        deadline = time.monotonic() + 600
        while not c.get("/healthz").json().get("index_ready") and time.monotonic() < deadline:
            time.sleep(0.2)
        html = c.get("/login").text
        token = re.search(r'name="csrf_token" (?:value|content)="([^"]+)"', html).group(1)
        r = c.post("/login", data={"username": "office_scale", "password": PASSWORD, "csrf_token": token})
        if r.status_code not in (200, 303):
            raise SystemExit(f"login answered {r.status_code}")
        pages = [
            ("page /demands", "/demands"),
            ("page /demands?page=20&sort=title", "/demands?page=20&sort=title"),
            ("page /demands?sort=enterprise&status=accepted", "/demands?sort=enterprise&status=accepted"),
            ("page /demands?q=技术", "/demands?q=%E6%8A%80%E6%9C%AF&page=3"),
            (f"page /demands/{demand}", f"/demands/{demand}"),
            (f"page /demands/{team_demand} (with teams)", f"/demands/{team_demand}"),
            ("page /teams (latest semester)", "/teams"),
            (f"page /teams?semester={SPRING}", f"/teams?semester={SPRING}"),
            *((f"page /reports?by={by}", f"/reports?semester={SPRING}&by={by}") for by in ("team", "teacher", "college", "county")),
            ("page /reports/performance.xlsx?by=teacher", f"/reports/performance.xlsx?semester={SPRING}&by=teacher"),
            ("page /directory (profiles)", "/directory"),
            ("page /directory?page=30&sort=name", "/directory?page=30&sort=name"),
            ("page /directory?q=机械&kind=student", "/directory?q=%E6%9C%BA%E6%A2%B0&kind=student"),
            ("page /office/inbox", "/office/inbox"),
            ("page /office/inbox?page=5", "/office/inbox?page=5"),
        ]
        for name, path in pages:
            c.get(path)  # warm-up
            figures.append((name, timed(c, path, args.reps)))
        c.cookies.clear()
        calls = [
            ("GET /v1/demands (all rows)", "/v1/demands", office),
            ("GET /v1/demands?limit=50&offset=500", "/v1/demands?limit=50&offset=500", office),
            (f"GET /v1/demands/{demand}", f"/v1/demands/{demand}", office),
            (f"GET /v1/demands/{team_demand}/history", f"/v1/demands/{team_demand}/history", office),
            ("GET /v1/teams (all rows, both semesters)", "/v1/teams", office),
            (f"GET /v1/teams?semester={AUTUMN}&limit=50", f"/v1/teams?semester={AUTUMN}&limit=50", office),
            *((f"GET /v1/reports/performance?by={by}", f"/v1/reports/performance?semester={SPRING}&by={by}", office)
              for by in ("team", "teacher", "college", "county")),
            ("GET /v1/profiles (all rows)", "/v1/profiles", office),
            ("GET /v1/profiles?limit=100&offset=900", "/v1/profiles?limit=100&offset=900", office),
            ("GET /v1/audit?limit=100", "/v1/audit?limit=100", admin),
            ("GET /v1/audit?limit=100&offset=15000", "/v1/audit?limit=100&offset=15000", admin),
            ("GET /v1/audit (all rows)", "/v1/audit", admin),
        ]
        for name, path, h in calls:
            c.get(path, headers=h)
            figures.append((name, timed(c, path, args.reps, h)))
    starts = []
    for by in ("team", "teacher", "college", "county"):
        runs = []
        for _ in range(max(1, args.reps // 2)):
            starts.append(bare_cli(url))  # interleaved: the start-up is what load changes most
            runs.append(cli_report(url, by, work / f"r-{by}.xlsx") - starts[-1])
        figures.append((f"xfd report --by {by} --xlsx (process)", runs))
    start = statistics.median(starts)
    load1 = loadavg()

    counts = built["counts"]
    print(f"programme scale — {', '.join(f'{v:,} {k}' for k, v in counts.items())}; "
          f"database {url.split(':')[0]}, model lexical; {args.reps} requests per figure")
    print(f"  load average before {load0[0]:.2f}, after {load1[0]:.2f}; build {build_s:.0f} s; "
          f"xfd report figures are minus the start-up of `xfd --help` run just before (median {start:.2f} s)")
    print(f"  limit: {LIMIT_S:.1f} s per page or call (worst of the requests)")
    width = max(len(n) for n, _ in figures)
    print(f"  {'figure':<{width}} | median s | worst s | limit s | ok")
    print(f"  {'-' * width}-+----------+---------+---------+----")
    slow = 0
    for name, ts in figures:
        worst = max(ts)
        ok = worst <= LIMIT_S
        slow += not ok
        print(f"  {name:<{width}} | {statistics.median(ts):8.3f} | {worst:7.3f} | {LIMIT_S:7.1f} | {'yes' if ok else 'NO'}")
    print(f"  {len(figures) - slow} of {len(figures)} within the limit")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
