"""Property-based tests (hypothesis): small random problems over every solver x
fairness mode x constraint mix (coverage, conflicts, capacity, size, students,
grades, continuity), against an enumeration of every feasible plan.

exact: the same staffed count and the same optimum within 1e-6 (sum: the sum
of weights; maxmin: the largest minimum team score, then the sum under it);
greedy / lsa: feasible and never more staffed than exact; never an exception.
"""
from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xfd.matching.assign import TeamProblem, check_plan
from xfd.matching.assign.solve import SolveOptions, solve

BONUS = 0.1


@st.composite
def problems(draw: st.DrawFn) -> TeamProblem:
    D = draw(st.integers(1, 3))
    P = draw(st.integers(2, 5))
    mix = draw(st.fixed_dictionaries({k: st.booleans() for k in
                                      ("coverage", "conflicts", "capacity", "size", "students", "grades",
                                       "continuity", "teachers_only")}))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    K = 2 if mix["coverage"] else 0
    is_teacher = np.ones(P, dtype=bool) if mix["teachers_only"] else rng.random(P) < 0.5
    is_teacher[0] = True
    cap = rng.integers(0, 3, size=P) if mix["capacity"] else np.full(P, D)
    smin = rng.integers(0, 3, size=D) if mix["size"] else np.ones(D, dtype=np.int64)
    smax = smin + (rng.integers(0, 3, size=D) if mix["size"] else 2)
    extra = {}
    if mix["students"]:
        lo = rng.integers(0, 3, size=D)
        extra.update(students_min=lo.astype(np.int64), students_max=(lo + rng.integers(0, 2, size=D)).astype(np.int64))
    if mix["grades"]:
        extra["distinct_grades"] = rng.integers(0, 4, size=D).astype(np.int64)
    return TeamProblem(
        scores=np.round(rng.random((D, P)), 2),
        is_teacher=is_teacher, capacity=cap.astype(np.int64),
        forbidden=(rng.random((D, P)) < 0.25) if mix["conflicts"] else np.zeros((D, P), dtype=bool),
        covers=rng.random((P, K)) < 0.5, required=rng.random((D, K)) < 0.5,
        size_min=smin.astype(np.int64), size_max=np.minimum(smax, 4).astype(np.int64),
        grade=np.where(is_teacher, 0, rng.integers(0, 5, size=P)).astype(np.int64),
        current=(rng.random((D, P)) < 0.3) if mix["continuity"] else np.zeros((D, P), dtype=bool),
        **extra).validate()


def allowed(pb: TeamProblem, d: int, t: tuple[int, ...]) -> bool:
    """The INTERFACES rules for one team, written out independently of the solvers."""
    if not t:
        return True
    if not pb.size_min[d] <= len(t) <= pb.size_max[d]:
        return False
    if any(pb.forbidden[d, j] or pb.capacity[j] == 0 for j in t):
        return False
    if not any(pb.is_teacher[j] for j in t):
        return False
    studs = [j for j in t if not pb.is_teacher[j]]
    if not pb.students_min[d] <= len(studs) <= pb.students_max[d]:
        return False
    if len({int(pb.grade[j]) for j in studs if pb.grade[j] > 0}) < min(int(pb.distinct_grades[d]), len(studs)):
        return False
    return all(any(pb.covers[j, k] for j in t) for k in np.nonzero(pb.required[d])[0])


def all_plans(pb: TeamProblem) -> list[tuple[tuple[int, ...], ...]]:
    teams = [[t for r in range(pb.size_max[d] + 1) for t in itertools.combinations(range(pb.n_profiles), r)
              if allowed(pb, d, t)] for d in range(pb.n_demands)]
    out = []
    for plan in itertools.product(*teams):
        used = np.zeros(pb.n_profiles, dtype=np.int64)
        for t in plan:
            used[list(t)] += 1
        if (used <= pb.capacity).all():
            out.append(plan)
    return out


def keys(pb: TeamProblem, plan) -> tuple[int, float, float]:
    """(staffed, min team score (1.0 when nothing staffed), sum of score + bonus x current)."""
    w = pb.scores + BONUS * pb.current
    staffed = [d for d, t in enumerate(plan) if t]
    mins = [pb.scores[d, list(t)].sum() / pb.size_max[d] for d, t in enumerate(plan) if t]
    return (len(staffed), min(mins) if mins else 1.0,
            float(sum(w[d, list(t)].sum() for d, t in enumerate(plan) if t)))


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(problems())
def test_exact_sum_is_the_optimum(pb):
    plans = [keys(pb, p) for p in all_plans(pb)]
    best_n = max(k[0] for k in plans)
    best_v = max(k[2] for k in plans if k[0] == best_n)
    sol = solve(pb, "exact", SolveOptions(grade_bonus=0.0, tie_break=0.0, continuity_bonus=BONUS))
    assert check_plan(pb, sol.members) == []
    got = keys(pb, [tuple(m.tolist()) for m in sol.members])
    assert got[0] == best_n
    assert abs(got[2] - best_v) <= 1e-6
    assert sol.stats.optimal
    assert sol.upper_bound is None or sol.upper_bound >= got[2] - 1e-6


@SETTINGS
@given(problems())
def test_exact_maxmin_is_the_lexicographic_optimum(pb):
    plans = [keys(pb, p) for p in all_plans(pb)]
    best_n = max(k[0] for k in plans)
    best_t = max(k[1] for k in plans if k[0] == best_n)
    best_v = max(k[2] for k in plans if k[0] == best_n and k[1] >= best_t - 1e-9)
    sol = solve(pb, "exact", SolveOptions(grade_bonus=0.0, tie_break=0.0, continuity_bonus=BONUS,
                                          fairness="maxmin", fair_gap=1e-9))
    assert check_plan(pb, sol.members) == []
    got = keys(pb, [tuple(m.tolist()) for m in sol.members])
    assert got[0] == best_n
    assert abs(got[1] - best_t) <= 1e-6
    assert abs(got[2] - best_v) <= 1e-6
    if sol.stats.min_team_score_bound is not None and best_n:
        assert sol.stats.min_team_score_bound >= got[1] - 1e-6


@SETTINGS
@given(problems(), st.sampled_from(["greedy", "lsa"]), st.sampled_from(["sum", "maxmin"]))
def test_heuristics_are_feasible_and_never_beat_exact(pb, solver, fairness):
    opts = SolveOptions(grade_bonus=0.0, continuity_bonus=BONUS, fairness=fairness)
    h = solve(pb, solver, opts)
    assert check_plan(pb, h.members) == []
    ex = solve(pb, "exact", opts)
    assert h.stats.staffed <= ex.stats.staffed


@settings(max_examples=25, deadline=None)
@given(problems(), st.sampled_from(["sum", "maxmin"]), st.floats(0.0, 0.05), st.integers(0, 5))
def test_exact_with_default_knobs_never_raises_and_stays_feasible(pb, fairness, jitter, seed):
    sol = solve(pb, "exact", SolveOptions(fairness=fairness, jitter=jitter, seed=seed))
    assert check_plan(pb, sol.members) == []
