"""The exact solver's phases one by one (staff count, fairness, sum), the
warm-started LP (``stats.warm_start``), and the maxmin column bookkeeping."""
from __future__ import annotations

import numpy as np
import pytest

from tests.matching.assign.helpers import EXACT, PRUNED_OPTS, brute_force, random_problem, solution_key
from xfd.matching.assign import TeamProblem, check_plan
from xfd.matching.assign.exact import ExactSolver, PhaseResult
from xfd.matching.assign.options import LPStatus, SolvePath, SolveStatus
from xfd.matching.assign.solve import SolveOptions, solve

NO_FLOW = SolveOptions(grade_bonus=0.0, tie_break=0.0, flow=False)


def teachers_only(scores: np.ndarray, cap: list[int], smin: list[int], smax: list[int],
                  forbidden: np.ndarray | None = None) -> TeamProblem:
    D, P = scores.shape
    return TeamProblem(
        scores=scores, is_teacher=np.ones(P, dtype=bool), capacity=np.array(cap, dtype=np.int64),
        forbidden=np.zeros((D, P), dtype=bool) if forbidden is None else forbidden,
        covers=np.zeros((P, 0), dtype=bool), required=np.zeros((D, 0), dtype=bool),
        size_min=np.array(smin, dtype=np.int64), size_max=np.array(smax, dtype=np.int64),
        grade=np.zeros(P, dtype=np.int64), current=np.zeros((D, P), dtype=bool)).validate()


def test_staff_count_phase_alone():
    # 3 demands of exactly 2 members, 5 teachers of capacity 1: at most 2 staffed
    pb = teachers_only(np.full((3, 5), 0.5), [1] * 5, [2, 2, 2], [2, 2, 2])
    s = ExactSolver(pb, NO_FLOW)
    empty = [np.zeros(0, dtype=np.int64) for _ in range(3)]
    s.seed_columns(empty)
    results: dict[str, PhaseResult] = {}
    Y, y_fixed, cub, inc = s.staff_count(empty, results)
    assert (Y, y_fixed, cub) == (2, False, 2)
    assert sum(m.size > 0 for m in inc) == 2
    assert check_plan(pb, inc) == []
    assert results == {}          # the optimistic attempt (all 3 staffed) was infeasible


def test_staff_count_keeps_a_full_incumbent():
    pb = teachers_only(np.full((2, 4), 0.5), [1] * 4, [2, 2], [2, 2])
    s = ExactSolver(pb, NO_FLOW)
    full = [np.array([0, 1]), np.array([2, 3])]
    s.seed_columns(full)
    assert s.staff_count(full, {})[:3] == (2, True, 2)
    assert s.st.pricing_rounds == 0      # nothing solved: the incumbent already staffs everything


def test_fairness_phase_alone():
    # one star teacher: the sum optimum gives it to D0 (1.0 + 0.1), max-min to D1 (0.3 / 0.7)
    pb = teachers_only(np.array([[1.0, 0.3, 0.0], [0.7, 0.0, 0.1]]), [1, 1, 1], [1, 1], [1, 1])
    s = ExactSolver(pb, SolveOptions(grade_bonus=0.0, tie_break=0.0, fairness="maxmin"))
    empty = [np.zeros(0, dtype=np.int64) for _ in range(2)]
    s.seed_columns(empty)
    t, inc = s.fairness(2, None, True, empty, {})
    assert t == pytest.approx(0.3, abs=1e-8)
    assert [m.tolist() for m in inc] == [[1], [0]]
    assert s.st.min_team_score_bound == pytest.approx(0.3, abs=1e-6)


def test_sum_phase_alone_matches_brute_force():
    for seed in range(10):
        pb = random_problem(seed)
        s = ExactSolver(pb, NO_FLOW)
        empty = [np.zeros(0, dtype=np.int64) for _ in range(pb.n_demands)]
        s.seed_columns(empty)
        results: dict[str, PhaseResult] = {}
        Y, y_fixed, cub, inc = s.staff_count(empty, results)
        status, ub, inc = s.sum_phase(Y, None if y_fixed else Y, y_fixed, 0.0, inc, results)
        best = brute_force(pb, 0.1)
        got = solution_key(pb, inc, 0.1)
        assert status == SolveStatus.OPTIMAL, seed
        assert got[0] == best[0] and got[1] == pytest.approx(best[1], abs=1e-9), seed
        assert ub >= got[1] - 1e-9


def test_warm_start_is_used_and_reported():
    """Pruned columns force several pricing rounds per phase: the re-solves must
    start from the previous basis (losing the warm start fails here)."""
    from xfd.matching.assign import encode_problem
    from xfd.matching.assign.synth import make_batch

    b = make_batch(60, seed=4)
    pb, _ = encode_problem(b.profiles, b.demands, b.scores, b.required)
    opts = dict(grade_bonus=0.0, candidates=1, per_discipline=1, teachers=1, per_profile=0, per_round=1)
    warm = solve(pb, "exact", SolveOptions(**opts))
    cold = solve(pb, "exact", SolveOptions(**opts, warm_lp=False))
    assert warm.stats.pricing_rounds >= 4
    assert warm.stats.warm_start is True and cold.stats.warm_start is False
    assert warm.stats.staffed == cold.stats.staffed
    assert warm.value == pytest.approx(cold.value, rel=2e-4)     # both within cg_tol of the bound
    for seed in range(200, 205):      # and on tiny problems the answer stays the brute-force one
        p = random_problem(seed)
        got = solution_key(p, solve(p, "exact", SolveOptions(**{**PRUNED_OPTS.__dict__, "flow": False})).members, 0.1)
        best = brute_force(p, 0.1)
        assert got[0] == best[0] and got[1] == pytest.approx(best[1], abs=1e-9)


def reviewer_instance(P: int, R: int, seed: int = 20260417) -> TeamProblem:
    """Issue 14's pure-assignment instance (every demand needs exactly 3 people)."""
    rng = np.random.default_rng(seed)
    S = np.clip(rng.random((P, 8)) @ rng.random((8, R)) / 8 + 0.1 * rng.random((P, R)), 0, 1)
    return TeamProblem(scores=S, is_teacher=np.ones(R, bool), capacity=np.full(R, 6),
                       forbidden=rng.random((P, R)) < 0.01, covers=np.zeros((R, 0), bool),
                       required=np.zeros((P, 0), bool), size_min=np.full(P, 3), size_max=np.full(P, 3),
                       grade=np.zeros(R, np.int64), current=np.zeros((P, R), bool))


def test_maxmin_reproduction_of_issue_14():
    """Was an IndexError in decode: a phase result decoded with a later phase's columns."""
    pb = reviewer_instance(200, 100)
    sol = solve(pb, "exact", SolveOptions(fairness="maxmin"))
    assert check_plan(pb, sol.members) == []
    assert sol.stats.staffed == 200
    assert sol.stats.min_team_score <= sol.stats.min_team_score_bound + 1e-9
    assert sol.stats.path == SolvePath.COLUMN_GENERATION


def test_phase_result_decodes_with_its_own_columns():
    # columns of the result: demand 0 -> profiles 2, 0; demand 1 -> profile 1; later columns must not matter
    r = PhaseResult(None, True, np.array([1.0, 0.0, 1.0, 1.0, 1.0, 1.0]), LPStatus.OPTIMAL, None,
                    np.array([0, 0, 1, 1]), np.array([0, 1, 1, 2]))
    got = r.members(np.array([0, 2]), 3)
    assert [m.tolist() for m in got] == [[0], [], [1, 2]]


def test_exact_hand_case_still_optimal_without_flow():
    from tests.matching.assign.helpers import small_problem

    sol = solve(small_problem(), "exact", EXACT)
    assert sol.stats.optimal and sol.value == pytest.approx(4.5)
