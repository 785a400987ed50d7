"""Time the team solver on synthetic but structured batches.

    python benchmarks/assign_bench.py [--sizes 250,1000,4000] [--seed 0]
        [--time-limit S] [--cli] [--no-greedy] [--students LO,HI] [--distinct-grades G]

For each size: ~3 profiles per demand (40 % teachers, capacity 2; 60 %
students, capacity 1, grades 1..4), 12 disciplines, conflicts, current teams
for a fifth of the demands, scores from topic vectors
(``matching.assign.synth``); demands take the ``Demand`` defaults for
``students`` ([1, 3]) and ``distinct_grades`` (1) unless ``--students`` /
``--distinct-grades`` set them for every demand.  Prints the wall time of ``plan_teams``, demands
staffed (and the proven bound), objective, upper bound and gap, hard-constraint
violations (must be 0) and the greedy baseline's objective.  ``--cli`` also
times ``xfd assign --model lexical`` end to end on the same records written
as JSONL (needs the scoring core; the scores then come from the lexical model).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xfd.matching.assign import check_plan, encode_problem, plan_teams
from xfd.matching.assign.synth import make_batch


def members_of(plan, index):
    row = index.demand_row()
    col = index.profile_col()
    out = [[] for _ in index.demand_ids]
    for t in plan.teams:
        out[row[t.demand_id]] = [col[m.profile_id] for m in t.members]
    return out


def profile_json(p) -> dict:
    d = {"id": p.id, "kind": p.kind, "disciplines": list(p.disciplines), "capacity": p.capacity,
         "conflicts": list(p.conflicts)}
    if p.kind == "student":
        d.update(major=p.major or p.disciplines[0], grade=p.grade, skills=list(p.disciplines))
    else:
        d.update(keywords=list(p.disciplines), documents=[{"kind": "paper", "title": "、".join(p.disciplines),
                                                           "text": "研究方向：" + "，".join(p.disciplines)}])
    return d


def demand_json(d) -> dict:
    return {"id": d.id, "enterprise": d.enterprise, "title": d.title,
            "description": "需要" + "、".join(d.disciplines) + "方面的技术支持",
            "disciplines": list(d.disciplines), "team_size": list(d.team_size),
            "current_team": list(d.current_team)}


def run_cli(batch, time_limit: float | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pp, dp, out = Path(tmp, "p.jsonl"), Path(tmp, "d.jsonl"), Path(tmp, "plan.json")
        pp.write_text("".join(json.dumps(profile_json(p), ensure_ascii=False) + "\n" for p in batch.profiles),
                      encoding="utf-8")
        dp.write_text("".join(json.dumps(demand_json(d), ensure_ascii=False) + "\n" for d in batch.demands),
                      encoding="utf-8")
        cmd = [sys.executable, "-m", "xfd.api.cli", "assign", "--profiles", str(pp), "--demands", str(dp),
               "--out", str(out), "--model", "lexical"]
        if time_limit:
            cmd += ["--time-limit", str(time_limit)]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            print(f"  xfd assign --model lexical: exit {r.returncode}: {r.stderr.strip().splitlines()[-1:]}")
            return
        plan = json.loads(out.read_text(encoding="utf-8"))
        st = plan.get("stats", {})
        print(f"  xfd assign --model lexical: {dt:.1f} s end to end, staffed {st.get('staffed')}, "
              f"objective {plan['objective']:.3f}, gap {st.get('gap')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="250,1000,4000")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--cli", action="store_true", help="also time xfd assign --model lexical")
    ap.add_argument("--no-greedy", action="store_true")
    ap.add_argument("--students", default=None, help="LO,HI: every demand's students bound (default: the Demand default)")
    ap.add_argument("--distinct-grades", type=int, default=None, help="every demand's distinct_grades")
    args = ap.parse_args()
    print(f"{'demands':>7} {'profiles':>8} {'seconds':>8} {'staffed':>12} {'objective':>12} "
          f"{'upper_bd':>12} {'gap':>9} {'viol':>4} {'greedy_obj':>11} {'greedy_staffed':>14}")
    for n in [int(x) for x in args.sizes.split(",") if x.strip()]:
        batch = make_batch(n, seed=args.seed)
        over = {}
        if args.students:
            over["students"] = tuple(int(x) for x in args.students.split(","))
        if args.distinct_grades is not None:
            over["distinct_grades"] = args.distinct_grades
        if over:
            batch = batch._replace(demands=[dataclasses.replace(d, **over) for d in batch.demands])
        problem, index = encode_problem(batch.profiles, batch.demands, batch.scores, batch.required)
        t0 = time.perf_counter()
        plan = plan_teams(batch.profiles, batch.demands, batch.scores, batch.required,
                          time_limit=args.time_limit)
        dt = time.perf_counter() - t0
        viol = check_plan(problem, members_of(plan, index))
        st = plan.stats
        g_obj, g_st = "", ""
        if not args.no_greedy:
            g = plan_teams(batch.profiles, batch.demands, batch.scores, batch.required, solver="greedy")
            assert not check_plan(problem, members_of(g, index))
            g_obj, g_st = f"{g.objective:.3f}", f"{g.stats.staffed}"
        ub = "-" if plan.upper_bound is None else f"{plan.upper_bound:.3f}"
        gap = "-" if st.gap is None else f"{st.gap:.2e}"
        print(f"{n:>7} {len(batch.profiles):>8} {dt:>8.1f} {f'{st.staffed}/{st.staffed_upper_bound}':>12} "
              f"{plan.objective:>12.3f} {ub:>12} {gap:>9} {len(viol):>4} {g_obj:>11} {g_st:>14}", flush=True)
        print(f"  continuity bonus {plan.continuity_bonus:.3f}, mixed-grade teams {st.mixed_grade_teams}/"
              f"{st.teams_with_students}, columns {st.columns}, pricing rounds {st.pricing_rounds}, "
              f"status {st.status}; {'; '.join(st.phases)}", flush=True)
        if viol:
            print(f"  VIOLATIONS: {viol[:5]}")
        if args.cli:
            run_cli(batch, args.time_limit)


if __name__ == "__main__":
    main()
