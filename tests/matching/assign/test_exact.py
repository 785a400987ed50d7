"""Exact solver: brute force beside it, one test per hard constraint,
hand-worked cases, maxmin, jitter, grade mix, medium instances vs the full MILP."""
from __future__ import annotations

import numpy as np
import pytest

from tests.matching.assign.helpers import EXACT, PRUNED_OPTS, brute_force, random_problem, small_problem, solution_key, teams_of
from xfd.matching.assign import TeamProblem, check_plan, encode_problem, plan_teams
from xfd.matching.assign.solve import SolveOptions, solve
from xfd.matching.registry import UnknownNameError
from xfd.matching.types import Demand, Profile


def test_exact_matches_brute_force_and_greedy_is_sometimes_worse():
    greedy_worse = 0
    for seed in range(100):
        pb = random_problem(seed)
        best = brute_force(pb, 0.1)
        sol = solve(pb, "exact", SolveOptions(grade_bonus=0.0, continuity_bonus=0.1, tie_break=0.0))
        assert check_plan(pb, sol.members) == [], seed
        got = solution_key(pb, sol.members, 0.1)
        assert got[0] == best[0], (seed, got, best)
        assert got[1] == pytest.approx(best[1], abs=1e-9), (seed, got, best)
        assert sol.stats.optimal, seed
        if sol.upper_bound is not None:
            assert sol.upper_bound >= got[1] - 1e-9
        g = solve(pb, "greedy", SolveOptions(grade_bonus=0.0, continuity_bonus=0.1))
        assert check_plan(pb, g.members) == [], seed
        gk = solution_key(pb, g.members, 0.1)
        assert gk <= (best[0], best[1] + 1e-9)
        greedy_worse += gk < (best[0], best[1] - 1e-9)
    assert greedy_worse > 0


def test_column_generation_recovers_pruned_columns():
    """With one initial candidate per demand, pricing must still reach the optimum."""
    opts = PRUNED_OPTS
    for seed in range(100, 130):
        pb = random_problem(seed)
        best = brute_force(pb, 0.1)
        sol = solve(pb, "exact", opts)
        got = solution_key(pb, sol.members, 0.1)
        assert got[0] == best[0] and got[1] == pytest.approx(best[1], abs=1e-9), seed


def test_hand_worked_two_demands():
    # D0 needs both disciplines, D1 needs discipline 1; all capacities 1.
    # Best: D0 = {T0, S3, S4} (0.9+0.8+0.7=2.4 covers 0 and 1), D1 = {T1, S5, T2}
    # (0.9+0.9+0.3=2.1); total 4.5.  Alternatives are worse (e.g. T2 to D0 loses).
    sol = solve(small_problem(), "exact", EXACT)
    assert teams_of(sol) == [[0, 3, 4], [1, 2, 5]]
    assert sol.value == pytest.approx(4.5)
    assert sol.stats.optimal


@pytest.mark.parametrize("kind", ["capacity", "duplicate", "forbidden", "no_teacher", "size", "coverage"])
def test_checker_catches_each_violation(kind):
    pb = small_problem()
    good = [[0, 3, 4], [1, 2, 5]]
    assert check_plan(pb, good) == []
    bad = {
        "capacity": [[0, 3, 4], [0, 1, 5]],
        "duplicate": [[0, 3, 3], [1, 2, 5]],
        "forbidden": None,
        "no_teacher": [[0, 3, 4], [4, 5]],
        "size": [[0, 3, 4], [1]],
        "coverage": [[0, 3], [1, 2, 5]],
    }[kind]
    if kind == "forbidden":
        f = np.zeros((2, 6), dtype=bool)
        f[0, 4] = True
        pb = small_problem(forbidden=f)
        bad = good
    kinds = {v.kind for v in check_plan(pb, bad)}
    assert kind in kinds


def test_capacity_is_respected():
    # T1 is the best teacher for both; with capacity 1 only one team gets it
    sol = solve(small_problem(capacity=np.array([1, 1, 1, 1, 1, 1])), "exact", EXACT)
    assert sum(1 in m for m in teams_of(sol)) <= 1
    sol2 = solve(small_problem(capacity=np.array([1, 2, 1, 1, 1, 1])), "exact", EXACT)
    assert check_plan(small_problem(capacity=np.array([1, 2, 1, 1, 1, 1])), sol2.members) == []


def test_forbidden_pair_never_placed():
    f = np.zeros((2, 6), dtype=bool)
    f[0, 0] = f[0, 3] = True       # D0's two best are conflicted
    pb = small_problem(forbidden=f)
    sol = solve(pb, "exact", EXACT)
    assert 0 not in sol.members[0] and 3 not in sol.members[0]
    assert check_plan(pb, sol.members) == []


def test_team_needs_a_teacher():
    # only teacher T0 is forbidden for D0 and the other teachers have capacity 0
    f = np.zeros((2, 6), dtype=bool)
    f[0, 0] = True
    pb = small_problem(forbidden=f, capacity=np.array([1, 0, 0, 1, 1, 1]))
    sol = solve(pb, "exact", EXACT)
    assert sol.members[0].size == 0
    assert teams_of(sol)[1][:1] == [0]
    assert check_plan(pb, sol.members) == []


def test_size_bounds():
    pb = small_problem(size_min=np.array([3, 1]), size_max=np.array([3, 1]))
    sol = solve(pb, "exact", EXACT)
    assert len(sol.members[0]) == 3 and len(sol.members[1]) == 1
    assert check_plan(pb, sol.members) == []


def test_every_required_discipline_covered():
    # nobody covering discipline 0 is free for D0 -> D0 unstaffed, never half-staffed
    cov = np.array([[0, 0], [0, 1], [0, 1], [0, 0], [0, 1], [0, 0]], dtype=bool)
    pb = small_problem(covers=cov)
    sol = solve(pb, "exact", EXACT)
    assert sol.members[0].size == 0
    assert check_plan(pb, sol.members) == []


def test_staff_most_demands_before_score():
    # T0 is great for D0 but needed by D1 (the only teacher D1 may take)
    f = np.zeros((2, 6), dtype=bool)
    f[1, 1] = f[1, 2] = True
    pb = small_problem(forbidden=f, required=np.zeros((2, 2), dtype=bool))
    sol = solve(pb, "exact", EXACT)
    assert all(m.size for m in sol.members)
    assert 0 in sol.members[1]


def test_maxmin_lifts_the_worst_team():
    # one star teacher; sum-mode gives it to D1 (bigger gain), maxmin to the weaker D2
    pb = TeamProblem(
        scores=np.array([[1.0, 0.3, 0.0], [0.7, 0.0, 0.1]]),
        is_teacher=np.array([True, True, True]), capacity=np.array([1, 1, 1]),
        forbidden=np.zeros((2, 3), dtype=bool), covers=np.zeros((3, 0), dtype=bool),
        required=np.zeros((2, 0), dtype=bool), size_min=np.array([1, 1]), size_max=np.array([1, 1]),
        grade=np.zeros(3, dtype=np.int64), current=np.zeros((2, 3), dtype=bool)).validate()
    s = solve(pb, "exact", EXACT)
    assert teams_of(s) == [[0], [2]]                 # 1.0 + 0.1 = 1.1 > 0.3 + 0.7
    m = solve(pb, "exact", SolveOptions(grade_bonus=0.0, fairness="maxmin"))
    assert teams_of(m) == [[1], [0]]                 # min 0.3 > min 0.1
    assert m.stats.min_team_score == pytest.approx(0.3)
    with pytest.raises(UnknownNameError, match="maxmin"):
        solve(pb, "exact", SolveOptions(fairness="fair"))


def test_seeded_jitter_is_reproducible_and_varies():
    # four equal teachers for one seat each in two demands: jitter picks among them
    pb = TeamProblem(
        scores=np.full((2, 4), 0.5), is_teacher=np.ones(4, dtype=bool), capacity=np.ones(4, dtype=np.int64),
        forbidden=np.zeros((2, 4), dtype=bool), covers=np.zeros((4, 0), dtype=bool),
        required=np.zeros((2, 0), dtype=bool), size_min=np.array([1, 1]), size_max=np.array([1, 1]),
        grade=np.zeros(4, dtype=np.int64), current=np.zeros((2, 4), dtype=bool)).validate()
    runs = {s: teams_of(solve(pb, "exact", SolveOptions(jitter=0.01, seed=s))) for s in range(8)}
    assert runs[3] == teams_of(solve(pb, "exact", SolveOptions(jitter=0.01, seed=3)))
    assert len({str(v) for v in runs.values()}) > 1
    with pytest.raises(ValueError, match="jitter must be"):
        solve(pb, "exact", SolveOptions(jitter=-1.0))


def test_grade_mix_preferred_when_free():
    # D needs 1 teacher + 2 students; S1 and S2 share grade 1, S3 (grade 2) scores a hair less
    pb = TeamProblem(
        scores=np.array([[0.9, 0.6, 0.6, 0.5995]]), is_teacher=np.array([True, False, False, False]),
        capacity=np.ones(4, dtype=np.int64), forbidden=np.zeros((1, 4), dtype=bool),
        covers=np.zeros((4, 0), dtype=bool), required=np.zeros((1, 0), dtype=bool),
        size_min=np.array([3]), size_max=np.array([3]), grade=np.array([0, 1, 1, 2]),
        current=np.zeros((1, 4), dtype=bool)).validate()
    assert teams_of(solve(pb, "exact", SolveOptions(grade_bonus=0.0))) == [[0, 1, 2]]
    mixed = solve(pb, "exact", SolveOptions(grade_bonus=0.002))
    assert teams_of(mixed) in ([[0, 1, 3]], [[0, 2, 3]])



def test_default_plan_maximises_the_objective_not_the_grade_mix():
    """INTERFACES.md: among plans staffing the most demands, the plan maximises objective.
    T1 + S34 + S35 (both grade 2) sums 2.999979; mixing in S1 (grade 1) only 2.998283."""
    profiles = [Profile(id="T1", kind="teacher"), Profile(id="S34", kind="student", grade=2),
                Profile(id="S35", kind="student", grade=2), Profile(id="S1", kind="student", grade=1)]
    demand = Demand(id="D1", title="x", team_size=(3, 3), students=(2, 2))
    plan = plan_teams(profiles, [demand], np.array([[1.0, 1.0, 0.999979, 0.998283]]), [()])
    assert sorted(m.profile_id for m in plan.teams[0].members) == ["S34", "S35", "T1"]
    assert plan.objective == pytest.approx(2.999979, abs=1e-9)


def test_defaults_reach_the_full_milp_optimum_beyond_the_full_column_limit():
    """100 demands x 300 profiles (30,000 pairs, above ``full_columns_pairs``): the default
    column generation must not stop short of the MILP over every pair (with the old
    cg_tol=1e-4 it stopped after two rounds, 0.0172 below it)."""
    from xfd.matching.assign.synth import make_batch

    b = make_batch(100, seed=1)
    pb, _ = encode_problem(b.profiles, b.demands, b.scores, b.required)
    assert pb.n_demands * pb.n_profiles > SolveOptions().full_columns_pairs
    fast = solve(pb, "exact", SolveOptions())
    full = solve(pb, "exact", SolveOptions(candidates=pb.n_profiles, per_profile=0, tie_break=0.0, grade_bonus=0.0))
    assert check_plan(pb, fast.members) == []
    assert fast.stats.staffed == full.stats.staffed
    assert fast.value >= full.value - 1e-6

# ------------------------------------------------------------ medium instances

@pytest.mark.parametrize("n", [40, 120])
def test_pruned_columns_match_full_ilp(n):
    """Default (pruned, column-generated) vs the MILP over every eligible pair."""
    from xfd.matching.assign.synth import make_batch

    b = make_batch(n, seed=n)
    pb, _ = encode_problem(b.profiles, b.demands, b.scores, b.required)
    fast = solve(pb, "exact", SolveOptions(grade_bonus=0.0))
    full = solve(pb, "exact", SolveOptions(grade_bonus=0.0, candidates=pb.n_profiles, per_profile=0))
    assert check_plan(pb, fast.members) == [] and check_plan(pb, full.members) == []
    assert fast.stats.staffed == full.stats.staffed
    assert fast.value >= full.value * (1 - 1e-4)          # acceptance asks 0.5 %
    assert fast.upper_bound >= full.value - 1e-6           # the bound really bounds
    greedy = solve(pb, "greedy", SolveOptions(grade_bonus=0.0))
    assert (greedy.stats.staffed, greedy.value) < (fast.stats.staffed, fast.value)


def test_time_limit_still_returns_a_valid_plan():
    from xfd.matching.assign.synth import make_batch

    b = make_batch(150, seed=5)
    plan = plan_teams(b.profiles, b.demands, b.scores, b.required, time_limit=0.01)
    pb, ix = encode_problem(b.profiles, b.demands, b.scores, b.required)
    row, col = ix.demand_row(), ix.profile_col()
    members = [[] for _ in range(pb.n_demands)]
    for t in plan.teams:
        members[row[t.demand_id]] = [col[m.profile_id] for m in t.members]
    assert check_plan(pb, members) == []
    assert len(plan.teams) + len(plan.unassigned) == pb.n_demands
