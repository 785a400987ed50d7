"""``xfd assign`` end to end with a stand-in scoring core (the real one is tested elsewhere)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xfd.api.cli import main

PROFILES = [
    {"id": "T1", "kind": "teacher", "disciplines": ["机械工程"], "keywords": ["机器视觉"], "capacity": 1},
    {"id": "T2", "kind": "teacher", "disciplines": ["计算机科学与技术"], "keywords": ["算法"],
     "conflicts": ["E2"]},
    {"id": "T3", "kind": "teacher", "disciplines": ["机械工程", "计算机科学与技术"], "keywords": ["控制"]},
    {"id": "S1", "kind": "student", "major": "机械", "disciplines": ["机械工程"], "grade": 1},
    {"id": "S2", "kind": "student", "major": "计算机", "disciplines": ["计算机科学与技术"], "grade": 2},
]
DEMANDS = [
    {"id": "D1", "enterprise": "E1", "title": "视觉检测", "disciplines": ["机械工程"], "team_size": [2, 3],
     "current_team": ["T2", "S1"]},
    {"id": "D2", "enterprise": "E2", "title": "调度算法", "disciplines": ["计算机科学与技术"], "team_size": [2, 3]},
    {"id": "D3", "enterprise": "E3", "title": "海洋监测", "disciplines": ["海洋科学"], "team_size": [1, 2]},
]
SCORES = np.array([[0.9, 0.3, 0.5, 0.8, 0.1],
                   [0.2, 0.9, 0.7, 0.1, 0.8],
                   [0.1, 0.1, 0.1, 0.1, 0.1]])


class FakeResult:
    def __init__(self, scores, required):
        self.scores, self.required, self.scorer = scores, required, None


@pytest.fixture()
def inputs(tmp_path, monkeypatch):
    import xfd.api.cli.scoring as cs

    def fake(profiles, demands, model=None, fusion=None):
        assert [p.id for p in profiles] == [p["id"] for p in PROFILES]
        return FakeResult(SCORES.copy(), [tuple(d.disciplines) for d in demands])

    monkeypatch.setattr(cs, "compute_scores", fake)
    p, d = tmp_path / "p.jsonl", tmp_path / "d.jsonl"
    p.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in PROFILES), encoding="utf-8")
    d.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in DEMANDS), encoding="utf-8")
    return tmp_path, p, d


def test_assign_writes_plan_and_workbook(inputs):
    tmp, p, d = inputs
    out, xlsx = tmp / "plan.json", tmp / "plan.xlsx"
    rc = main(["assign", "--profiles", str(p), "--demands", str(d), "--out", str(out),
               "--xlsx", str(xlsx), "--model", "lexical"])
    assert rc == 0
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert set(plan) >= {"objective", "teams", "unassigned", "moves"}
    teams = {t["demand_id"]: t for t in plan["teams"]}
    assert set(teams) == {"D1", "D2"}
    assert [u["demand_id"] for u in plan["unassigned"]] == ["D3"]
    assert "海洋科学" in plan["unassigned"][0]["reason"]
    # T2 conflicts with E2; every member score equals the scoring core's
    pcol = {x["id"]: j for j, x in enumerate(PROFILES)}
    drow = {x["id"]: i for i, x in enumerate(DEMANDS)}
    for t in plan["teams"]:
        for m in t["members"]:
            assert m["score"] == pytest.approx(SCORES[drow[t["demand_id"]], pcol[m["profile_id"]]])
    assert "T2" not in [m["profile_id"] for m in teams["D2"]["members"]]
    assert plan["objective"] == pytest.approx(sum(m["score"] for t in plan["teams"] for m in t["members"]))
    assert {m["profile_id"] for m in plan["moves"]} >= {"T2"}    # T2 leaves D1's current team
    assert xlsx.exists()


def test_assign_bad_solver_is_one_line(inputs, capsys):
    tmp, p, d = inputs
    rc = main(["assign", "--profiles", str(p), "--demands", str(d), "--out", str(tmp / "x.json"),
               "--solver", "magic"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "exact" in err[0] and "greedy" in err[0]
    assert not (tmp / "x.json").exists()


def test_assign_missing_out_dir(inputs, capsys):
    tmp, p, d = inputs
    rc = main(["assign", "--profiles", str(p), "--demands", str(d), "--out", str(tmp / "no" / "x.json")])
    assert rc == 2 and "directory does not exist" in capsys.readouterr().err


def test_assign_negative_bonus(inputs, capsys):
    tmp, p, d = inputs
    rc = main(["assign", "--profiles", str(p), "--demands", str(d), "--out", str(tmp / "x.json"),
               "--continuity-bonus", "-1"])
    assert rc == 2 and "--continuity-bonus" in capsys.readouterr().err


def test_plan_warnings_reach_stderr(tmp_path, capsys):
    """A pool that declares no disciplines: inferred requirements are dropped, and the
    plan's warning lines are printed (real lexical scoring, no stand-in)."""
    profiles = [{"id": f"T{i}", "kind": "teacher", "keywords": ["机器视觉", "缺陷检测", "深度学习"]} for i in range(4)]
    demands = [{"id": "D1", "enterprise": "E1", "title": "机器视觉缺陷检测", "description": "产品表面缺陷的深度学习检测",
                "team_size": [2, 2], "students": [0, 0]}]
    p, d, out = tmp_path / "p.jsonl", tmp_path / "d.jsonl", tmp_path / "plan.json"
    p.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in profiles), encoding="utf-8")
    d.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in demands), encoding="utf-8")
    assert main(["assign", "--profiles", str(p), "--demands", str(d), "--out", str(out), "--model", "lexical"]) == 0
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert [t["demand_id"] for t in plan["teams"]] == ["D1"]
    assert plan["dropped_disciplines"] and plan["dropped_disciplines"][0]["demand_id"] == "D1"
    assert len(plan["warnings"]) == 1
    assert f"警告 warning: {plan['warnings'][0]}" in capsys.readouterr().err


def test_an_unwritable_xlsx_writes_no_plan_either(inputs, capsys):
    """--out fine, --xlsx under a regular file (or in /proc): one line naming --xlsx, and no plan.json."""
    tmp, p, d = inputs
    (tmp / "afile").write_text("x", encoding="utf-8")
    bad = [str(tmp / "afile" / "x.xlsx")] + (["/proc/x.xlsx"] if Path("/proc/self").is_dir() else [])
    for xlsx in bad:
        for flag_out, flag_xlsx in ((str(tmp / "pp.json"), xlsx), (xlsx.replace(".xlsx", ".json"), str(tmp / "ok.xlsx"))):
            rc = main(["assign", "--profiles", str(p), "--demands", str(d), "--out", flag_out, "--xlsx", flag_xlsx])
            err = capsys.readouterr().err.strip().splitlines()
            named = "--xlsx" if flag_xlsx == xlsx else "--out"
            assert rc == 2 and len(err) == 1 and err[0].startswith(f"xfd: 错误 error: {named} "), err
    assert sorted(x.name for x in tmp.iterdir()) == ["afile", "d.jsonl", "p.jsonl"]


def test_a_workbook_failing_at_write_time_leaves_neither_output(inputs, capsys, monkeypatch):
    from xfd.matching import writers

    tmp, p, d = inputs
    out, xlsx = tmp / "plan.json", tmp / "plan.xlsx"
    out.write_text('{"old": true}\n', encoding="utf-8")
    real = writers._write_temp

    def write_temp(dest, fill, binary=False):
        if dest == xlsx:
            raise PermissionError(13, "Permission denied", str(dest))
        return real(dest, fill, binary)

    monkeypatch.setattr(writers, "_write_temp", write_temp)
    rc = main(["assign", "--profiles", str(p), "--demands", str(d), "--out", str(out), "--xlsx", str(xlsx)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1] == f"xfd: 错误 error: --xlsx {xlsx}: 无法写入 cannot write: Permission denied"
    assert out.read_text(encoding="utf-8") == '{"old": true}\n' and not xlsx.exists()
    assert sorted(x.name for x in tmp.iterdir()) == ["d.jsonl", "p.jsonl", "plan.json"]


def test_out_and_xlsx_must_differ(inputs, capsys):
    tmp, p, d = inputs
    same = str(tmp / "plan.json")
    assert main(["assign", "--profiles", str(p), "--demands", str(d), "--out", same, "--xlsx", same]) == 2
    assert "same file as --out" in capsys.readouterr().err and not (tmp / "plan.json").exists()

