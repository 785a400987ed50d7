"""Build the demo corpus's finished previous semester (``2026春``) from the demo
corpus itself: ``corpora/demo/teams.jsonl``, ``activities.jsonl``,
``outcomes.jsonl``, ``ratings.jsonl``.

Each of the corpus's team-kind profiles (G01…G08, standing 小分队) served one
demand last semester: the demand whose text shares most of the team's
keywords (each demand once).  Its members are the team profile's members
(the teacher leads).  Six of the eight demands are finished (solved or not,
with contract amounts, and rated by their enterprise except one), two are
still ``in_service`` and carry over to the next semester with their team as
continuity.  Deterministic: ``python -m xfd.corpora.build_demo_service``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "demo"
SEMESTER = "2026春"
KINDS = ("visit", "on-site", "training", "online", "other")
#: per team (in G01… order): (solved or None while in service, contract yuan, patents, papers, satisfaction or None)
OUTCOMES: list[tuple[bool | None, int, int, int, int | None]] = [
    (True, 180000, 1, 1, 5), (True, 260000, 2, 0, 4), (False, 0, 0, 1, 3), (True, 90000, 0, 1, 5),
    (None, 0, 0, 0, None), (True, 120000, 1, 0, None), (False, 30000, 0, 0, 2), (None, 0, 0, 0, None),
]
NOTES = {"visit": "走访企业，梳理问题清单", "on-site": "驻厂调试与数据采集", "training": "为企业技术人员开展培训",
         "online": "线上会商改进方案", "other": "整理技术报告"}


def _read(name: str) -> list[dict[str, Any]]:
    with (HERE / f"{name}.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write(name: str, rows: list[dict[str, Any]]) -> None:
    with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _overlap(team: dict[str, Any], demand: dict[str, Any]) -> int:
    text = f"{demand.get('title', '')}{demand.get('description', '')}"
    return sum(text.count(k) for k in team.get("keywords", [])) + sum(
        3 for d in demand.get("disciplines") or [] if d in team.get("disciplines", []))


def build() -> dict[str, int]:
    """Write the four files; returns how many rows each got."""
    profiles = {p["id"]: p for p in _read("profiles")}
    demands = _read("demands")
    squads = [p for p in profiles.values() if p.get("kind") == "team"]
    used: set[str] = set()
    teams, activities, outcomes, ratings = [], [], [], []
    for k, squad in enumerate(squads):
        best = max((d for d in demands if d["id"] not in used), key=lambda d: (_overlap(squad, d), -int(d["id"][1:])))
        used.add(best["id"])
        members = [m for m in squad["members"] if m in profiles]
        lead = next(m for m in members if profiles[m].get("kind", "teacher") == "teacher")
        wanted = set(best.get("disciplines") or squad.get("disciplines", []))
        team_id = f"team-2026s-{squad['id'].lower()}"
        teams.append({"id": team_id, "demand_id": best["id"], "semester": SEMESTER, "squad": squad["id"],
                      "members": [{"profile_id": m, "role": "lead" if m == lead else "member",
                                   "covers": [x for x in profiles[m].get("disciplines", []) if x in wanted]}
                                  for m in members]})
        solved, amount, patents, papers, satisfaction = OUTCOMES[k % len(OUTCOMES)]
        for n in range(2 + k % 3):
            kind = KINDS[(k + n) % len(KINDS)]
            activities.append({"team_id": team_id, "date": f"2026-{3 + n:02d}-{10 + k:02d}", "kind": kind,
                               "hours": float(4 + (k * 3 + n * 5) % 9), "participants": members[: 2 + n % 2],
                               "note": NOTES[kind]})
        if solved is not None:
            outcomes.append({"demand_id": best["id"], "solved": solved, "contract_amount": amount,
                             "patents": patents, "papers": papers,
                             "note": "问题已解决，企业验收通过" if solved else "阶段成果已交付，问题未完全解决"})
            if satisfaction is not None:
                ratings.append({"demand_id": best["id"], "satisfaction": satisfaction,
                                "comment": "服务及时，效果明显" if satisfaction >= 4 else "有帮助，但进度偏慢"})
    for name, rows in (("teams", teams), ("activities", activities), ("outcomes", outcomes), ("ratings", ratings)):
        _write(name, rows)
    return {"teams": len(teams), "activities": len(activities), "outcomes": len(outcomes), "ratings": len(ratings)}


if __name__ == "__main__":
    print(build())
