"""The exact solver's min-cost-flow path: chosen only without side constraints,
same optimum as column generation and brute force, reported in the stats."""
from __future__ import annotations

import numpy as np
import pytest

from tests.matching.assign.helpers import brute_force, solution_key
from tests.matching.assign.test_exact_phases import reviewer_instance, teachers_only
from xfd.matching.assign import check_plan
from xfd.matching.assign.options import SolvePath
from xfd.matching.assign.solve import SolveOptions, solve


def test_flow_matches_brute_force_on_small_teacher_pools():
    rng = np.random.default_rng(7)
    for _ in range(30):
        D, P = int(rng.integers(2, 4)), int(rng.integers(3, 7))
        smin = rng.integers(1, 3, size=D)
        pb = teachers_only(np.round(rng.random((D, P)), 3), list(rng.integers(1, 3, size=P)), list(smin),
                           list(smin + rng.integers(0, 2, size=D)), forbidden=rng.random((D, P)) < 0.1)
        best = brute_force(pb, 0.0)
        sol = solve(pb, "exact", SolveOptions(grade_bonus=0.0, tie_break=0.0, continuity_bonus=0.0))
        assert check_plan(pb, sol.members) == []
        got = solution_key(pb, sol.members, 0.0)
        assert got[0] == best[0] and got[1] == pytest.approx(best[1], abs=1e-6)
        assert sol.stats.optimal
        if sol.stats.path == SolvePath.MIN_COST_FLOW:
            assert got[0] == sum(1 for d in range(D) if (~pb.forbidden[d]).sum() >= smin[d])


def test_flow_chosen_on_pure_assignment_and_agrees_with_column_generation():
    pb = reviewer_instance(120, 60, seed=3)
    fast = solve(pb, "exact", SolveOptions())
    slow = solve(pb, "exact", SolveOptions(flow=False))
    assert fast.stats.path == SolvePath.MIN_COST_FLOW and slow.stats.path == SolvePath.COLUMN_GENERATION
    assert check_plan(pb, fast.members) == []
    assert fast.stats.staffed == slow.stats.staffed == 120
    assert fast.value >= slow.value - 1e-5     # column generation carries a 1e-6 tie-break per member
    assert fast.upper_bound >= fast.value and fast.upper_bound - fast.value < 1e-6


def test_flow_not_chosen_with_side_constraints():
    from tests.matching.assign.helpers import small_problem

    pb = small_problem()               # coverage, students
    assert solve(pb, "exact", SolveOptions()).stats.path == SolvePath.COLUMN_GENERATION
    t = reviewer_instance(30, 15)
    assert solve(t, "exact", SolveOptions(fairness="maxmin")).stats.path == SolvePath.COLUMN_GENERATION


def test_flow_falls_back_when_not_everyone_can_be_staffed():
    # 3 demands of exactly 2, 5 teachers of capacity 1: the flow cannot staff all three
    pb = teachers_only(np.full((3, 5), 0.5), [1] * 5, [2, 2, 2], [2, 2, 2])
    sol = solve(pb, "exact", SolveOptions())
    assert sol.stats.path == SolvePath.COLUMN_GENERATION
    assert sol.stats.staffed == 2 and sol.stats.count_upper_bound == 2
    assert any("min-cost flow" in p for p in sol.stats.phases)
