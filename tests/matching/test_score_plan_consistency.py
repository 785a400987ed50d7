"""The plan's member scores are exactly what ``xfd score`` reports for the same pairs,
and the objective is their sum (INTERFACES: plan.objective)."""
from __future__ import annotations

import json
from pathlib import Path

from xfd.api.cli import main
from xfd.corpora import demo_path


def test_plan_scores_equal_score_file_on_demo(tmp_path: Path) -> None:
    p, d = demo_path("profiles.jsonl"), demo_path("demands.jsonl")
    scores, plan = tmp_path / "s.jsonl", tmp_path / "plan.json"
    assert main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(scores),
                 "--model", "lexical", "--top-k", "0"]) == 0
    assert main(["assign", "--profiles", str(p), "--demands", str(d), "--out", str(plan), "--model", "lexical"]) == 0
    table = {}
    for line in scores.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        for m in row["matches"]:
            table[(row["demand_id"], m["profile_id"])] = m["score"]
    doc = json.loads(plan.read_text(encoding="utf-8"))
    total = 0.0
    n_members = 0
    for team in doc["teams"]:
        roles = [m["role"] for m in team["members"]]
        assert roles.count("lead") == 1
        for m in team["members"]:
            assert m["score"] == table[(team["demand_id"], m["profile_id"])]
            total += m["score"]
            n_members += 1
    assert n_members > 0
    assert abs(doc["objective"] - total) < 1e-6
    staffed = {t["demand_id"] for t in doc["teams"]}
    unassigned = {u["demand_id"] for u in doc["unassigned"]}
    assert not staffed & unassigned
    assert len(staffed) + len(unassigned) == len(d.read_text(encoding="utf-8").splitlines())
    assert all(u["reason"] for u in doc["unassigned"])
