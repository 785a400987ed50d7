"""Helpers shared by the team solvers: pair weights, eligibility, feasibility,
plan value and a fast row-wise top-k.  Arrays only (see :class:`TeamProblem`)."""
from __future__ import annotations

import numpy as np

from xfd.matching.assign.options import SolveOptions
from xfd.matching.assign.problem import TeamProblem


def pair_weights(problem: TeamProblem, opts: SolveOptions) -> np.ndarray:
    """(D, P) float64 weight of each pair: score + continuity bonus + jitter."""
    w = problem.scores.astype(np.float64, copy=True)
    if opts.continuity_bonus:
        w += opts.continuity_bonus * problem.current
    if opts.jitter > 0:
        rng = np.random.default_rng(opts.seed)
        w += rng.random(w.shape) * opts.jitter
    return w


def eligible_mask(problem: TeamProblem, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """(len(rows), P) bool: pair may be placed (not forbidden, capacity > 0)."""
    return ~problem.forbidden[rows] & (problem.capacity > 0)[None, :]


def students_cap(problem: TeamProblem) -> np.ndarray:
    """(D,) most students a team may hold: students_max, leaving a seat for the lead."""
    return np.minimum(problem.students_max, problem.size_max - 1)


def grade_rule_ok(n_students: int, n_grades: int, want: int) -> bool:
    """A team of ``n_students`` students from ``n_grades`` distinct grades 1..4
    meets ``distinct_grades = want``: n_grades >= min(want, n_students)."""
    return n_grades >= min(int(want), int(n_students))


def individually_feasible(problem: TeamProblem) -> np.ndarray:
    """(D,) bool: the demand could be staffed if it had the whole pool to itself.

    Necessary conditions only (an eligible teacher, a coverer per required
    discipline, size_min eligible members, size_max >= 1, enough eligible
    students for ``students_min``, a student count in range whose grade rule
    the eligible students' grades can meet); the solver settles the rest.
    """
    elig = eligible_mask(problem)
    teach = problem.is_teacher[None, :]
    n_t = (elig & teach).sum(axis=1)
    n_s = (elig & ~teach).sum(axis=1)
    cap_s = students_cap(problem)
    ok = problem.size_max >= 1
    ok &= n_t >= 1
    ok &= elig.sum(axis=1) >= np.maximum(problem.size_min, 1)
    # float32 BLAS matmul (integer matmul has no BLAS path); counts < 2**24 are exact
    cov_any = (elig.astype(np.float32) @ problem.covers.astype(np.float32)) > 0.5  # (D, K)
    ok &= ~(problem.required & ~cov_any).any(axis=1)
    # students: some count N in [lo, hi] must be possible, with its grade rule
    lo = np.maximum(problem.students_min, problem.size_min - n_t)
    hi = np.minimum(cap_s, n_s)
    ok &= np.maximum(lo, 0) <= hi
    n_g = np.zeros(problem.n_demands, dtype=np.int64)
    stud = ~problem.is_teacher
    for g in range(1, 5):
        n_g += (elig & (stud & (problem.grade == g))[None, :]).any(axis=1)
    G = problem.distinct_grades
    lo = np.maximum(lo, 0)
    grade_ok = np.where(lo <= G, lo <= n_g, G <= n_g)
    ok &= (lo == 0) | grade_ok
    return ok


def team_feasible(problem: TeamProblem, d: int, members: np.ndarray) -> bool:
    """True when ``members`` (profile columns) is an allowed team for demand d
    (empty = unstaffed is allowed); capacity across teams is not checked."""
    if members.size == 0:
        return True
    if not (problem.size_min[d] <= members.size <= problem.size_max[d]):
        return False
    teach = problem.is_teacher[members]
    if not teach.any():
        return False
    n_s = int((~teach).sum())
    if not (problem.students_min[d] <= n_s <= problem.students_max[d]):
        return False
    g = problem.grade[members[~teach]]
    if not grade_rule_ok(n_s, np.unique(g[g > 0]).size, problem.distinct_grades[d]):
        return False
    need = problem.required[d]
    return bool(problem.covers[members][:, need].any(axis=0).all())


def plan_value(problem: TeamProblem, w: np.ndarray, members: list[np.ndarray], gb: float) -> float:
    """Sum of ``w`` over placed pairs plus ``gb`` per distinct student grade per team."""
    v = 0.0
    for d, m in enumerate(members):
        if m.size:
            v += float(w[d, m].sum())
            g = problem.grade[m][~problem.is_teacher[m]]
            v += gb * np.unique(g[g > 0]).size
    return v


def staffed_count(members: list[np.ndarray]) -> int:
    return sum(m.size > 0 for m in members)


def topk_cols(score_rows: np.ndarray, k: int) -> np.ndarray:
    """(B, <=k) column indices of the k largest finite entries per row (-inf = absent)."""
    B, P = score_rows.shape
    k = min(k, P)
    if k <= 0:
        return np.zeros((B, 0), dtype=np.int64)
    blk = 64
    nb = P // blk
    if B == 0 or nb < 4 * k:
        return np.argpartition(-score_rows, k - 1, axis=1)[:, :k]
    # block-max prefilter: the k largest entries of a row lie in the k blocks
    # with the largest maxima, so only k * blk entries per row are partitioned
    bm = score_rows[:, :nb * blk].reshape(B, nb, blk).max(axis=2)
    tb = np.argpartition(-bm, k - 1, axis=1)[:, :k]
    cand = (tb[:, :, None] * blk + np.arange(blk)).reshape(B, k * blk)
    if nb * blk < P:
        tail = np.broadcast_to(np.arange(nb * blk, P), (B, P - nb * blk))
        cand = np.concatenate([cand, tail], axis=1)
    vals = np.take_along_axis(score_rows, cand, axis=1)
    sel = np.argpartition(-vals, k - 1, axis=1)[:, :k]
    return np.take_along_axis(cand, sel, axis=1)


def topk_sub(W: np.ndarray, cols: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of ``W[:, cols]`` per row: (global column indices, values); -inf = absent."""
    sub = W[:, cols]
    top = topk_cols(sub, k)
    return cols[top], np.take_along_axis(sub, top, axis=1)
