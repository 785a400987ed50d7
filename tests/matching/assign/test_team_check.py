"""``check_team``: one hand-picked team against every hard constraint, with known answers.

Six profiles, one demand of enterprise E1 needing 机械工程 and 计算机科学与技术,
team_size [2, 4], students [1, 3], distinct_grades 2.  Scores are given per profile.
"""
from __future__ import annotations

import numpy as np
import pytest

from xfd.matching.assign.team_check import check_team, with_capacity_left
from xfd.matching.types import Demand, Profile

PROFILES = [
    Profile("T1", "teacher", disciplines=("机械工程",), capacity=2),
    Profile("T2", "teacher", disciplines=("计算机科学与技术",), capacity=3),
    Profile("T9", "teacher", disciplines=("机械工程",), conflicts=("E1",)),
    Profile("S1", "student", disciplines=("机械工程",), capacity=1, grade=3),
    Profile("S2", "student", disciplines=("计算机科学与技术",), capacity=1, grade=3),
    Profile("G1", "team", members=("T1", "S1")),
]
SCORES = np.array([0.5, 0.8, 0.9, 0.25, 0.4, 0.7])
DEMAND = Demand("D1", enterprise="E1", disciplines=("机械工程", "计算机科学与技术"), team_size=(2, 4),
                students=(1, 3), distinct_grades=2)
REQUIRED = ("机械工程", "计算机科学与技术")


def _check(members, used=None):
    return check_team(PROFILES, DEMAND, SCORES, REQUIRED, members, used or {}, "2026秋")


def test_a_valid_team_is_decoded_as_a_plan_would() -> None:
    got = _check(["S1", "T1", "T2"])
    assert got.ok and got.refusals == ()
    team = got.plan["teams"][0]
    assert team["demand_id"] == "D1" and team["missing_disciplines"] == []
    # teachers first, best score first: T2 (0.8) leads, T1 is the other teacher, S1 the student
    assert [(m["profile_id"], m["role"], m["score"], m["covers"]) for m in team["members"]] == [
        ("T2", "lead", 0.8, ["计算机科学与技术"]), ("T1", "member", 0.5, ["机械工程"]), ("S1", "student", 0.25, ["机械工程"])]
    assert got.plan["objective"] == pytest.approx(1.55)


@pytest.mark.parametrize(("members", "used", "kinds", "needle"), [
    (["T9", "T2", "S1"], {}, ["conflict"], "成员冲突 conflict: T9"),
    (["T1", "T2", "S1"], {"T1": 2}, ["capacity"], "容量已满 capacity: T1 本学期 2026秋 已在其他 2 个小分队，容量为 2"),
    (["T1", "T2", "S1"], {"S1": 1}, ["capacity"], "S1 already serves 1 other team(s) in 2026秋, capacity 1"),
    (["S1", "S2"], {}, ["no_teacher", "grades"], "缺少教师 no teacher"),  # both students are in grade 3
    (["S1"], {}, ["no_teacher", "size", "coverage"], "人数不符 team_size: 小分队有 1 名成员，需求要求 2–4 人"),
    (["T1", "T2"], {}, ["students"], "学生人数不符 students: 小分队有 0 名学生，需求要求 1–3 名"),
    (["T1", "T2", "S1", "S2"], {}, ["grades"], "年级不足 distinct_grades: 学生来自 1 个年级（3），需求要求至少 2 个"),
    (["T1", "S1"], {}, ["coverage"], "学科未覆盖 disciplines: 没有成员的学科包含“计算机科学与技术”"),
    (["G1", "T1", "T2", "S1"], {}, ["team_kind"], "团队档案不能作为成员 team-kind profile: G1"),
    (["T1", "T2", "S1", "X7"], {}, ["unknown"], "人员不存在 unknown profile: 没有编号为 X7"),
    (["T1", "T2", "T2", "S1"], {}, ["duplicate"], "成员重复 duplicate: T2"),
    ([], {}, ["empty"], "小分队没有成员"),
])
def test_each_broken_constraint_is_one_refusal_naming_it(members, used, kinds, needle) -> None:
    got = _check(members, used)
    assert not got.ok and got.plan is None
    assert [r.kind for r in got.refusals] == kinds, got.refusals
    assert any(needle in r.message for r in got.refusals), got.refusals


def test_capacity_left_counts_used_teams_never_below_zero() -> None:
    left = with_capacity_left(PROFILES, {"T1": 1, "S1": 4})
    assert [p.capacity for p in left] == [1, 3, 2, 0, 1, PROFILES[5].capacity]
    assert left[1] is PROFILES[1]  # untouched profiles are the same records
