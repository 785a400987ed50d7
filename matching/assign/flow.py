"""Exact fast path for batches without side constraints: integer min-cost flow
(OR-Tools ``SimpleMinCostFlow``).

Applies when no demand requires a discipline, every profile that can be
placed is a teacher (so "a team has a teacher" holds by itself and no
student bound or grade rule is active) and fairness is ``sum``.  Then the
problem is a transportation problem: demand i takes between
max(size_min, 1) and size_max members, profile j serves at most capacity
teams, pair weights (score + continuity bonus + jitter) are scaled to
integers (x 10^9).  With ``fairness="maxmin"`` the flow's teams (the sum
optimum) seed the column generation and stand in for its plain-sum phase.
When every preflight-feasible demand can be staffed,
the flow is the lexicographic optimum (count first, then sum); otherwise
:func:`flow_teams` returns None and the exact solver takes its general path.
"""
from __future__ import annotations

import numpy as np
from ortools.graph.python import min_cost_flow

from xfd.matching.assign.common import eligible_mask, plan_value
from xfd.matching.assign.options import Solution, SolveOptions, SolvePath, SolveStats, SolveStatus
from xfd.matching.assign.problem import TeamProblem

#: weights in [0, ~1.2] become integer costs with this many units per 1.0
SCALE = 10**9


def flow_applies(problem: TeamProblem, opts: SolveOptions | None = None) -> bool:
    """True when the batch has none of the side constraints the flow cannot express
    (with ``opts``: and fairness is ``sum``, so the flow is the whole answer)."""
    live = problem.capacity > 0
    return ((opts is None or opts.fairness == "sum")
            and not problem.required.any()
            and bool(problem.is_teacher[live].all())
            and not (problem.students_min > 0).any())


def flow_teams(problem: TeamProblem, w: np.ndarray, act: np.ndarray) -> list[np.ndarray] | None:
    """Teams of the min-cost flow over the active demands ``act`` (profile
    columns per demand row); None when some of them cannot be staffed together.

    Network: demand node i has supply max(size_min, 1) (forced seats); an
    extra source offers each demand size_max - that many optional seats, and
    can send unused supply straight to the sink at cost 0; demand -> profile
    arcs of capacity 1 cost -round(w * SCALE) (eligible pairs only); profile
    -> sink arcs have the profile's capacity.
    """
    P = problem.n_profiles
    na = act.size
    lo = np.maximum(problem.size_min[act], 1).astype(np.int64)
    hi = problem.size_max[act].astype(np.int64)
    extra = hi - lo
    src, sink = na + P, na + P + 1
    ai, pj = np.nonzero(eligible_mask(problem, act))
    cost = -np.rint(w[act[ai], pj] * SCALE).astype(np.int64)
    tails = np.concatenate([ai, na + np.arange(P), np.full(na, src), [src]])
    heads = np.concatenate([na + pj, np.full(P, sink), np.arange(na), [sink]])
    caps = np.concatenate([np.ones(ai.size, np.int64), problem.capacity.astype(np.int64), extra,
                           [int(extra.sum())]])
    costs = np.concatenate([cost, np.zeros(P + na + 1, np.int64)])
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(na + P + 2, dtype=np.int64)
    supplies[:na] = lo
    supplies[src] = int(extra.sum())
    supplies[sink] = -int(hi.sum())
    smcf.set_nodes_supplies(np.arange(na + P + 2), supplies)
    if smcf.solve() != smcf.OPTIMAL:
        return None
    on = smcf.flows(np.arange(ai.size)) > 0
    members = [np.zeros(0, dtype=np.int64) for _ in range(problem.n_demands)]
    a_on, p_on = ai[on], pj[on]
    order = np.lexsort((p_on, a_on))
    a_on, p_on = a_on[order], p_on[order]
    splits = np.searchsorted(a_on, np.arange(na + 1))
    for i in range(na):
        members[int(act[i])] = p_on[splits[i]:splits[i + 1]].astype(np.int64)
    return members


def flow_solution(problem: TeamProblem, w: np.ndarray, act: np.ndarray, members: list[np.ndarray],
                  st: SolveStats) -> Solution:
    """The flow's teams as the exact solver's answer (stats filled in)."""
    value = plan_value(problem, w, members, 0.0)
    n_pairs = sum(m.size for m in members)
    # integer optimum of the rounded costs: within 1 / SCALE per placed pair of the real one
    ub = value + n_pairs / SCALE
    st.path = SolvePath.MIN_COST_FLOW
    st.status = SolveStatus.OPTIMAL
    st.optimal = True
    st.staffed = int(sum(m.size > 0 for m in members))
    st.count_upper_bound = int(act.size)
    st.columns = int(eligible_mask(problem, act).sum())
    st.lp_bound = ub
    st.phases.append(f"min-cost flow: {act.size} demands, {st.columns} arcs")
    return Solution(members, value, ub, st)
