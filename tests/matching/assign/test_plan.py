"""Problem validation, encoding, the plan at the records level (JSON shape,
roles, preflight reasons, moves, continuity), solver choice by name."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.matching.assign.helpers import small_problem
from xfd.matching.assign import encode_problem, plan_teams, plan_to_json, write_plan_xlsx
from xfd.matching.assign.solve import solve
from xfd.matching.registry import UnknownNameError
from xfd.matching.types import Demand, Profile


def test_unknown_solver_lists_valid_ones():
    with pytest.raises(UnknownNameError, match="exact.*greedy"):
        solve(small_problem(), "simplex")


# ------------------------------------------------------------ validation

def test_validation_names_both_values():
    pb = small_problem()
    with pytest.raises(ValueError, match="6 columns.*capacity has 5"):
        small_problem(capacity=np.array([1, 1, 1, 1, 1]))
    with pytest.raises(ValueError, match="size_min 4 is greater than size_max 3"):
        small_problem(size_min=np.array([4, 1]))
    with pytest.raises(ValueError, match=r"scores must lie in \[0, 1\]"):
        small_problem(scores=pb.scores + 1)
    with pytest.raises(ValueError, match="covers has 2 disciplines but required has 3"):
        small_problem(required=np.zeros((2, 3), dtype=bool))


def test_encode_rejects_mismatched_scores():
    profiles = [Profile(id="T1"), Profile(id="T2")]
    demands = [Demand(id="D1", title="x")]
    with pytest.raises(ValueError, match=r"shape \(1, 3\).*1 demands and 2 profiles"):
        encode_problem(profiles, demands, np.zeros((1, 3)), [()])
    with pytest.raises(ValueError, match="required has 2 entries but there are 1 demands"):
        encode_problem(profiles, demands, np.zeros((1, 2)), [(), ()])


# ------------------------------------------------------------ records level

def records():
    profiles = [
        Profile(id="T1", kind="teacher", disciplines=("机械工程",), capacity=1, conflicts=("E9",)),
        Profile(id="T2", kind="teacher", disciplines=("计算机科学与技术",), capacity=1),
        Profile(id="T3", kind="teacher", disciplines=("机械工程", "海洋科学"), capacity=1),
        Profile(id="S1", kind="student", disciplines=("机械工程",), capacity=1, grade=1),
        Profile(id="S2", kind="student", disciplines=("计算机科学与技术",), capacity=1, grade=1),
        Profile(id="S3", kind="student", disciplines=("机械工程",), capacity=1, grade=3),
        Profile(id="G1", kind="team", members=("T1", "S1"), capacity=1),
    ]
    demands = [
        Demand(id="D1", title="a", enterprise="E1", disciplines=("机械工程",), team_size=(2, 3),
               current_team=("T3", "S1")),
        Demand(id="D2", title="b", enterprise="E9", disciplines=("计算机科学与技术",), team_size=(2, 3)),
        Demand(id="D3", title="c", enterprise="E3", disciplines=("化学",), team_size=(2, 3)),
    ]
    scores = np.array([
        [0.9, 0.2, 0.6, 0.7, 0.1, 0.65, 0.99],
        [0.8, 0.9, 0.3, 0.2, 0.8, 0.3, 0.99],
        [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.99],
    ])
    required = [d.disciplines for d in demands]
    return profiles, demands, scores, required


def test_plan_json_shape_roles_and_reasons(tmp_path):
    profiles, demands, scores, required = records()
    plan = plan_teams(profiles, demands, scores, required, continuity_bonus=0.0)
    js = plan_to_json(plan)
    json.dumps(js, ensure_ascii=False)
    teams = {t["demand_id"]: t for t in js["teams"]}
    assert set(teams) == {"D1", "D2"}
    # team-kind profile G1 is never placed; T1 conflicts with E9 (D2)
    placed = [m["profile_id"] for t in js["teams"] for m in t["members"]]
    assert "G1" not in placed
    assert "T1" not in [m["profile_id"] for m in teams["D2"]["members"]]
    for t in js["teams"]:
        roles = [m["role"] for m in t["members"]]
        assert roles.count("lead") == 1 and roles[0] == "lead"
        assert t["missing_disciplines"] == []
    lead1 = teams["D1"]["members"][0]
    assert lead1 == {"profile_id": "T1", "role": "lead", "score": 0.9, "covers": ["机械工程"]}
    # objective = sum of member scores
    assert js["objective"] == pytest.approx(sum(m["score"] for t in js["teams"] for m in t["members"]))
    (un,) = js["unassigned"]
    assert un["demand_id"] == "D3"
    assert "没有空闲的教师覆盖“化学”" in un["reason"] and "no free teacher covers 化学" in un["reason"]
    path = tmp_path / "plan.xlsx"
    write_plan_xlsx(plan, path)
    from openpyxl import load_workbook
    wb = load_workbook(path)
    assert wb.sheetnames == ["团队 teams", "未分配 unassigned", "调整 moves"]


def test_preflight_reasons():
    profiles, demands, scores, required = records()
    demands = demands + [
        Demand(id="D4", title="d", enterprise="E9", disciplines=(), team_size=(5, 6)),
        Demand(id="D5", title="e", enterprise="E9", disciplines=("机械工程",), team_size=(1, 2)),
    ]
    scores = np.vstack([scores, np.full((2, 7), 0.5)])
    required = [d.disciplines for d in demands]
    # every teacher conflicts with E9 except T2, who does not cover 机械工程
    profiles = [p if p.id != "T3" else Profile(id="T3", kind="teacher", disciplines=("机械工程",),
                                                 capacity=1, conflicts=("E9",)) for p in profiles]
    plan = plan_teams(profiles, demands, scores, required)
    reasons = {u.demand_id: u.reason for u in plan.unassigned}
    assert "可用成员不足 5 人 fewer than 5 eligible members" in reasons["D4"]
    assert "覆盖“机械工程”的空闲成员均与企业" not in reasons.get("D5", "")  # students still cover it
    only = [Profile(id="T1", kind="teacher", disciplines=("机械工程",), conflicts=("E9",))]
    p2 = plan_teams(only, [Demand(id="X", title="x", enterprise="E9", team_size=(1, 1))],
                    np.array([[0.5]]), [()])
    assert p2.unassigned[0].reason.startswith("所有候选人均与企业 E9 存在利益冲突")


def test_capacity_taken_reason_after_solving():
    profiles = [Profile(id="T1", kind="teacher", disciplines=("A",), capacity=1)]
    demands = [Demand(id="D1", title="x", disciplines=("A",), team_size=(1, 1), students=(0, 0)),
               Demand(id="D2", title="y", disciplines=("A",), team_size=(1, 1), students=(0, 0))]
    plan = plan_teams(profiles, demands, np.array([[0.9], [0.4]]), [("A",), ("A",)])
    assert [t.demand_id for t in plan.teams] == ["D1"]
    (u,) = plan.unassigned
    assert u.demand_id == "D2" and "容量已被其他需求占用" in u.reason
    assert "“A”的总容量少于需要它的需求数" in u.reason


def test_moves_and_continuity_bonus():
    profiles = [Profile(id="T1", kind="teacher", disciplines=("A",), capacity=1),
                Profile(id="T2", kind="teacher", disciplines=("B",), capacity=1),
                Profile(id="S1", kind="student", disciplines=("A",), capacity=1, grade=1)]
    demands = [Demand(id="D1", title="x", disciplines=("A",), team_size=(1, 2), current_team=("T1", "S1"),
                      students=(0, 1)),
               Demand(id="D2", title="y", disciplines=("B",), team_size=(1, 2), current_team=("T2",),
                      students=(0, 1))]
    # S1 fits D2 slightly better; a bonus of 0.1 keeps it in D1, no bonus moves it
    scores = np.array([[0.9, 0.1, 0.50], [0.1, 0.9, 0.55]])
    req = [("A",), ("B",)]
    keep = plan_teams(profiles, demands, scores, req, continuity_bonus=0.1)
    assert keep.moves == [] and keep.continuity_bonus == pytest.approx(0.3)
    assert keep.objective == pytest.approx(0.9 + 0.5 + 0.9)
    move = plan_teams(profiles, demands, scores, req, continuity_bonus=0.0)
    assert move.continuity_bonus == 0.0
    (mv,) = move.moves
    assert (mv.profile_id, mv.from_, mv.to) == ("S1", "D1", "D2")
    assert "容量已满，调往 D2" in mv.why
    js = plan_to_json(move)
    assert js["moves"] == [{"profile_id": "S1", "from": "D1", "to": "D2", "why": mv.why}]


# ------------------------------------------------------------ pools without disciplines

def plain_pool(n_t: int = 6):
    profiles = [Profile(id=f"T{j}", kind="teacher", capacity=2) for j in range(n_t)]
    demands = [Demand(id=f"D{i}", title="x", team_size=(3, 3), students=(0, 0)) for i in range(4)]
    scores = np.random.default_rng(0).random((4, n_t)).round(3)
    return profiles, demands, scores


def test_inferred_disciplines_nobody_declares_are_not_required():
    profiles, demands, scores = plain_pool()
    inferred = [("力学",), ("力学", "材料科学与工程"), (), ("力学",)]
    plan = plan_teams(profiles, demands, scores, inferred)
    assert len(plan.teams) == 4 and plan.unassigned == []
    assert plan.dropped_disciplines == {"D0": ("力学",), "D1": ("力学", "材料科学与工程"), "D3": ("力学",)}
    (w,) = plan.warnings
    assert "inferred disciplines no profile declares were not required for 3 demands: 力学 (3)" in w
    js = plan_to_json(plan)
    assert js["dropped_disciplines"][0] == {"demand_id": "D0", "disciplines": ["力学"]}
    assert js["warnings"] == [w]
    assert js["stats"]["path"] == "min_cost_flow"


def test_explicit_disciplines_stay_required_and_an_empty_batch_is_warned():
    profiles, demands, scores = plain_pool()
    demands = [Demand(**{**d.__dict__, "disciplines": ("力学",)}) for d in demands]
    plan = plan_teams(profiles, demands, scores, [("力学",)] * 4)
    assert plan.teams == [] and plan.dropped_disciplines == {}
    assert all("no free teacher covers 力学" in u.reason for u in plan.unassigned)
    assert any(w.startswith("没有任何需求组队成功 no demand could be staffed (4 demands)") for w in plan.warnings)
    # explicit "no discipline" (()) is never inferred: nothing dropped, all staffed
    demands = [Demand(**{**d.__dict__, "disciplines": ()}) for d in demands]
    plan = plan_teams(profiles, demands, scores, [()] * 4)
    assert len(plan.teams) == 4 and plan.warnings == [] and plan.dropped_disciplines == {}


def test_workbook_of_a_plan_whose_text_has_control_characters():
    """Records built in code skip the file schema: a discipline "化\\x01学" reaches an unassigned
    reason, and the workbook still saves, with the character dropped (``matching.xlsx``)."""
    import io

    from openpyxl import load_workbook

    from xfd.matching.assign import plan_xlsx_bytes

    profiles, demands, scores, _required = records()
    demands[2] = Demand(id="D3", title="c", enterprise="E3", disciplines=("化\x01学",), team_size=(2, 3))
    plan = plan_teams(profiles, demands, scores, [d.disciplines for d in demands])
    (un,) = plan.unassigned
    assert "化\x01学" in un.reason
    rows = list(load_workbook(io.BytesIO(plan_xlsx_bytes(plan)))["未分配 unassigned"].iter_rows(values_only=True))
    assert rows[1][0] == "D3" and rows[1][1] == un.reason.replace("\x01", "")
