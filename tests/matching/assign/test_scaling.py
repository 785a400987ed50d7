"""Scaling helpers of the exact team solver: block-prefiltered top-k, sparse
pricing selection, and the warm-started column-generation LP (must agree with
cold ``linprog`` re-solves and with brute force)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.matching.assign.helpers import PRUNED_OPTS, brute_force, random_problem, solution_key
from xfd.matching.assign import check_plan, encode_problem
from xfd.matching.assign.common import topk_cols as _topk_cols
from xfd.matching.assign.solve import SolveOptions, solve


@pytest.mark.parametrize("P", [5, 100, 640, 1000, 3001])
@pytest.mark.parametrize("k", [1, 4, 8])
def test_topk_cols_matches_full_sort(P, k):
    rng = np.random.default_rng(P * 10 + k)
    x = rng.random((37, P))
    x[rng.random(x.shape) < 0.3] = -np.inf
    x[3] = -np.inf                       # a row with nothing finite
    got = _topk_cols(x, k)
    kk = min(k, P)
    assert got.shape == (37, kk)
    for r in range(x.shape[0]):
        assert len(set(got[r].tolist())) == kk
        want = np.sort(x[r])[::-1][:kk]
        np.testing.assert_array_equal(np.sort(x[r, got[r]])[::-1], want)


def test_warm_lp_reaches_brute_force_optimum_over_many_rounds():
    """One initial candidate per demand and one column per round: many warm re-solves."""
    opts = PRUNED_OPTS
    for seed in range(200, 230):
        pb = random_problem(seed)
        best = brute_force(pb, 0.1)
        for warm in (True, False):
            sol = solve(pb, "exact", SolveOptions(**{**opts.__dict__, "warm_lp": warm}))
            got = solution_key(pb, sol.members, 0.1)
            assert got[0] == best[0] and got[1] == pytest.approx(best[1], abs=1e-9), (seed, warm)
            if sol.upper_bound is not None:
                assert sol.upper_bound >= got[1] - 1e-9


@pytest.mark.parametrize("fairness", ["sum", "maxmin"])
def test_warm_and_cold_lp_agree_on_a_medium_batch(fairness):
    from xfd.matching.assign.synth import make_batch

    b = make_batch(100, seed=11)
    pb, _ = encode_problem(b.profiles, b.demands, b.scores, b.required)
    base = dict(grade_bonus=0.0, candidates=2, per_discipline=1, teachers=1, per_profile=1,
                fairness=fairness, fair_time_limit=1.0)
    warm = solve(pb, "exact", SolveOptions(**base, warm_lp=True))
    cold = solve(pb, "exact", SolveOptions(**base, warm_lp=False))
    assert check_plan(pb, warm.members) == [] and check_plan(pb, cold.members) == []
    assert warm.stats.pricing_rounds >= 2
    assert warm.stats.warm_start and not cold.stats.warm_start
    assert warm.stats.staffed == cold.stats.staffed
    if fairness == "sum":
        full = solve(pb, "exact", SolveOptions(grade_bonus=0.0, candidates=pb.n_profiles, per_profile=0))
        assert warm.stats.staffed == full.stats.staffed
        assert warm.upper_bound >= full.value - 1e-6 and cold.upper_bound >= full.value - 1e-6
        assert warm.value >= full.value * (1 - 1e-4)
        assert warm.value == pytest.approx(cold.value, rel=1e-4)
    else:   # the sum phase runs under each run's own max-min floor: compare floors
        for s in (warm, cold):
            assert s.stats.min_team_score_bound >= s.stats.min_team_score - 1e-9
