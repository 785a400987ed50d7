"""Team composition: ``students`` bounds and ``distinct_grades`` as hard
constraints in every solver, the checker, the preflight and the reasons;
brute force and the full MILP as known answers."""
from __future__ import annotations

import numpy as np
import pytest

from tests.matching.assign.helpers import brute_force, random_problem, solution_key, teams_of
from xfd.matching.assign import TeamProblem, check_plan, encode_problem, plan_teams
from xfd.matching.assign.solve import SolveOptions, solve
from xfd.matching.types import Demand, Profile

EXACT = SolveOptions(grade_bonus=0.0, tie_break=0.0)


def test_exact_matches_brute_force_with_student_rules():
    for seed in range(120):
        pb = random_problem(seed, rules=True)
        best = brute_force(pb, 0.1)
        sol = solve(pb, "exact", SolveOptions(grade_bonus=0.0, continuity_bonus=0.1, tie_break=0.0))
        assert check_plan(pb, sol.members) == [], seed
        got = solution_key(pb, sol.members, 0.1)
        assert got[0] == best[0] and got[1] == pytest.approx(best[1], abs=1e-9), (seed, got, best)
        assert sol.stats.optimal, seed
        for name in ("greedy", "lsa"):
            h = solve(pb, name, SolveOptions(grade_bonus=0.0, continuity_bonus=0.1))
            assert check_plan(pb, h.members) == [], (name, seed)
            assert solution_key(pb, h.members, 0.1) <= (best[0], best[1] + 1e-9), (name, seed)


def pool(**over) -> TeamProblem:
    """1 demand; T0, T1 teachers; S2 (grade 1), S3 (grade 1), S4 (grade 2), S5 (no grade)."""
    base = dict(
        scores=np.array([[0.5, 0.4, 0.9, 0.8, 0.3, 0.95]]), is_teacher=np.array([1, 1, 0, 0, 0, 0], dtype=bool),
        capacity=np.ones(6, dtype=np.int64), forbidden=np.zeros((1, 6), dtype=bool),
        covers=np.zeros((6, 0), dtype=bool), required=np.zeros((1, 0), dtype=bool),
        size_min=np.array([1]), size_max=np.array([4]), grade=np.array([0, 0, 1, 1, 2, 0]),
        current=np.zeros((1, 6), dtype=bool))
    base.update(over)
    return TeamProblem(**base).validate()


@pytest.mark.parametrize("solver", ["exact", "greedy", "lsa"])
def test_hand_worked_compositions(solver):
    # no rule: the best 4 = S5, S2, S3, T0 (0.95 + 0.9 + 0.8 + 0.5)
    assert teams_of(solve(pool(), solver, EXACT)) == [[0, 2, 3, 5]]
    # teachers only
    assert teams_of(solve(pool(students_min=np.array([0]), students_max=np.array([0])), solver, EXACT)) == [[0, 1]]
    # at most one student: S5 (0.95)
    one = pool(students_min=np.array([1]), students_max=np.array([1]))
    assert teams_of(solve(one, solver, EXACT)) == [[0, 1, 5]]
    # two students of two distinct known grades: S2 (grade 1) + S4 (grade 2), S5 has no grade
    two = pool(students_min=np.array([2]), students_max=np.array([2]), distinct_grades=np.array([2]))
    assert teams_of(solve(two, solver, EXACT)) == [[0, 1, 2, 4]]
    # three students, at least two grades: S5, S2, S3 has one grade only -> S5, S2, S4 (or S2, S3, S4)
    three = pool(students_min=np.array([3]), students_max=np.array([3]), distinct_grades=np.array([2]))
    assert teams_of(solve(three, "exact", EXACT)) == [[0, 2, 4, 5]]
    assert check_plan(three, solve(three, solver, EXACT).members) == []


def test_checker_catches_student_and_grade_violations():
    pb = pool(students_min=np.array([1]), students_max=np.array([2]), distinct_grades=np.array([2]))
    assert check_plan(pb, [[0, 2, 4]]) == []
    assert {v.kind for v in check_plan(pb, [[0, 1]])} == {"students"}
    assert {v.kind for v in check_plan(pb, [[0, 2, 4, 5]])} == {"students"}
    assert {v.kind for v in check_plan(pb, [[0, 2, 3]])} == {"grades"}
    assert {v.kind for v in check_plan(pb, [[0, 2, 5]])} == {"grades"}     # S5 adds no grade


def test_validation_names_both_values():
    with pytest.raises(ValueError, match="students_min 3 is greater than students_max 2"):
        pool(students_min=np.array([3]), students_max=np.array([2]))
    with pytest.raises(ValueError, match="distinct_grades must lie in 0..4 but is 5"):
        pool(distinct_grades=np.array([5]))
    with pytest.raises(ValueError, match="1 rows \\(demands\\) but students_max has 2"):
        pool(students_max=np.array([1, 2]))


def people() -> list[Profile]:
    return [Profile(id="T1", kind="teacher", disciplines=("A",), capacity=2),
            Profile(id="S1", kind="student", disciplines=("A",), capacity=1, grade=1),
            Profile(id="S2", kind="student", disciplines=("A",), capacity=1, grade=1)]


def test_reasons_name_the_student_shortage():
    demands = [Demand(id="D1", title="x", disciplines=("A",), team_size=(2, 4), students=(3, 3)),
               Demand(id="D2", title="y", disciplines=("A",), team_size=(2, 4), students=(2, 2), distinct_grades=2),
               Demand(id="D3", title="z", disciplines=("A",), team_size=(2, 2), students=(2, 2)),
               Demand(id="D4", title="w", disciplines=("A",), team_size=(2, 3), students=(1, 1))]
    plan = plan_teams(people(), demands, np.full((4, 3), 0.5), [("A",)] * 4)
    reasons = {u.demand_id: u.reason for u in plan.unassigned}
    assert "没有足够的空闲学生" in reasons["D1"] and "not enough free students (need 3, 2 free)" in reasons["D1"]
    assert "fewer than 2 distinct grades among free students (1)" in reasons["D2"]
    assert "leaves no room for a teacher and 2 students" in reasons["D3"]
    assert [t.demand_id for t in plan.teams] == ["D4"]


def test_student_taken_by_another_demand_is_explained():
    demands = [Demand(id="D1", title="x", disciplines=("A",), team_size=(2, 2), students=(1, 1)),
               Demand(id="D2", title="y", disciplines=("A",), team_size=(2, 2), students=(1, 1))]
    ppl = people()[:2]
    plan = plan_teams(ppl, demands, np.array([[0.9, 0.9], [0.5, 0.5]]), [("A",)] * 2)
    assert [t.demand_id for t in plan.teams] == ["D1"]
    (u,) = plan.unassigned
    assert "没有足够的空闲学生" in u.reason and "容量已被其他需求占用" in u.reason


def test_encode_reads_students_and_grades():
    demands = [Demand(id="D1", title="x", students=(0, 0)), Demand(id="D2", title="y", distinct_grades=2),
               Demand(id="D3", title="z")]
    pb, _ = encode_problem(people(), demands, np.full((3, 3), 0.5), [(), (), ()])
    assert pb.students_min.tolist() == [0, 1, 1] and pb.students_max.tolist() == [0, 3, 3]
    assert pb.distinct_grades.tolist() == [1, 2, 1]


@pytest.mark.parametrize("n", [40, 100])
def test_rules_on_medium_batches_match_the_full_milp(n):
    """Synthetic batches with students (2..3, two grades) vs the MILP over every pair."""
    from xfd.matching.assign.synth import make_batch

    b = make_batch(n, seed=n + 1)
    demands = [Demand(**{**d.__dict__, "students": (1, 2) if i % 2 else (2, 3), "distinct_grades": 2})
               for i, d in enumerate(b.demands)]
    pb, _ = encode_problem(b.profiles, demands, b.scores, b.required)
    fast = solve(pb, "exact", SolveOptions(grade_bonus=0.0))
    full = solve(pb, "exact", SolveOptions(grade_bonus=0.0, candidates=pb.n_profiles, per_profile=0))
    assert check_plan(pb, fast.members) == [] and check_plan(pb, full.members) == []
    assert fast.stats.staffed == full.stats.staffed
    assert fast.value >= full.value * (1 - 1e-4)
    assert fast.upper_bound >= full.value - 1e-6
    for name in ("greedy", "lsa"):
        h = solve(pb, name, SolveOptions(grade_bonus=0.0))
        assert check_plan(pb, h.members) == []
        assert h.stats.staffed <= fast.stats.staffed
