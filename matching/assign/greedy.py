"""The greedy baseline, the greedy team completion the other solvers repair
with, and the grade-mix post-pass.

``greedy``: demands in order of their best score; a lead, then the best free
member per uncovered discipline, then fill.  For comparison only (no
look-ahead, no optimality claim).
"""
from __future__ import annotations

import time

import numpy as np

from xfd.matching.assign.common import (
    eligible_mask,
    individually_feasible,
    pair_weights,
    plan_value,
    staffed_count,
    team_feasible,
)
from xfd.matching.assign.options import Solution, SolveOptions, SolveStats, SolveStatus
from xfd.matching.assign.problem import TeamProblem


def greedy_fill(problem: TeamProblem, w: np.ndarray, d: int, left: np.ndarray,
                 start: list[int]) -> list[int] | None:
    """Complete team ``start`` of demand d from free capacity ``left``; None if impossible."""
    avail = eligible_mask(problem, slice(d, d + 1))[0] & (left > 0)
    chosen = list(start)
    avail[chosen] = False
    wd = w[d]
    smax = int(problem.size_max[d])
    if not problem.is_teacher[chosen].any():
        cand = np.nonzero(avail & problem.is_teacher)[0]
        if cand.size == 0:
            return None
        j = int(cand[np.argmax(wd[cand])])
        chosen.append(j)
        avail[j] = False
    need = problem.required[d].copy()
    if chosen:
        need &= ~problem.covers[chosen].any(axis=0)
    # scarcest discipline first
    for k in sorted(np.nonzero(need)[0], key=lambda k: int((avail & problem.covers[:, k]).sum())):
        if chosen and problem.covers[chosen, k].any():
            continue
        cand = np.nonzero(avail & problem.covers[:, k])[0]
        if cand.size == 0:
            return None
        j = int(cand[np.argmax(wd[cand])])
        chosen.append(j)
        avail[j] = False
    if len(chosen) > smax:
        return None
    cand = np.nonzero(avail)[0]
    if len(chosen) < smax and cand.size:
        order = cand[np.argsort(-wd[cand], kind="stable")]
        must = max(0, int(problem.size_min[d]) - len(chosen))
        n_pos = int((wd[order] > 0).sum())
        n_take = min(smax - len(chosen), max(n_pos, must))
        chosen.extend(int(j) for j in order[:n_take])
    if len(chosen) < problem.size_min[d]:
        return None
    return chosen


def solve_greedy(problem: TeamProblem, opts: SolveOptions) -> Solution:
    """Baseline: demands by best score, lead + coverage + fill, no look-ahead."""
    t0 = time.perf_counter()
    problem.validate()
    w = pair_weights(problem, opts)
    ok = individually_feasible(problem)
    left = problem.capacity.astype(np.int64).copy()
    members = [np.zeros(0, dtype=np.int64) for _ in range(problem.n_demands)]
    best = np.where(eligible_mask(problem), w, -1.0).max(axis=1, initial=-1.0)
    for d in np.argsort(-best, kind="stable"):
        if not ok[d]:
            continue
        team = greedy_fill(problem, w, int(d), left, [])
        if team is None:
            continue
        team_a = np.array(sorted(team), dtype=np.int64)
        members[d] = team_a
        left[team_a] -= 1
    st = SolveStats(solver="greedy", active_demands=int(ok.sum()))
    st.staffed = staffed_count(members)
    st.seconds = time.perf_counter() - t0
    st.status = SolveStatus.HEURISTIC
    return Solution(members, plan_value(problem, w, members, 0.0), None, st)


def grade_mix(problem: TeamProblem, w: np.ndarray, members: list[np.ndarray],
              gb: float, rounds: int = 3) -> tuple[list[np.ndarray], int]:
    """Tie-break towards students of several grades, after optimising.

    In a team where two students share a grade, swap the weaker of them for a
    free eligible student of a grade not yet in the team when that costs at
    most ``gb`` of weight and keeps every required discipline covered.
    Returns (new members, number of swaps); the objective moves by at most
    ``gb`` per swap.
    """
    left = problem.capacity.astype(np.int64).copy()
    for m in members:
        left[m] -= 1
    out = [m.copy() for m in members]
    stud_all = ~problem.is_teacher & (problem.grade > 0)
    swaps = 0
    for d, m in enumerate(out):
        for _ in range(rounds):
            if m.size == 0:
                break
            st_ = m[stud_all[m]]
            g = problem.grade[st_]
            vals, cnt = np.unique(g, return_counts=True)
            dup = st_[np.isin(g, vals[cnt > 1])]
            if dup.size == 0:
                break
            cand = stud_all & (left > 0) & ~problem.forbidden[d] & ~np.isin(problem.grade, vals)
            cand[m] = False
            ci = np.nonzero(cand)[0]
            if ci.size == 0:
                break
            c = int(ci[np.argmax(w[d, ci])])
            done = False
            for s_ in dup[np.argsort(w[d, dup])]:
                if w[d, c] < w[d, s_] - gb:
                    break
                new = np.sort(np.concatenate([m[m != s_], [c]]))
                if team_feasible(problem, d, new):
                    left[c] -= 1
                    left[s_] += 1
                    out[d] = m = new
                    swaps += 1
                    done = True
                    break
            if not done:
                break
    return out, swaps
