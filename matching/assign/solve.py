"""Solvers for :class:`TeamProblem`: arrays in, :class:`Solution` out.

``exact`` (default)
    1. An LSA construction (``scipy.sparse.csgraph.min_weight_full_bipartite_matching``,
       the sparse ``linear_sum_assignment``): rows are demand role slots (one
       lead slot for teachers, one slot per required discipline, free slots up to
       ``size_max``), columns are profile capacity units; forbidden pairs have no
       edge.  A repair pass restores the side constraints.  This gives a
       feasible incumbent and seeds the candidate columns.
    2. Column generation on the LP relaxation of the full model (HiGHS dual
       simplex via ``scipy.optimize.linprog``): start from candidate columns
       (per demand: top overall, top teachers, top coverers of each required
       discipline, current members, the LSA team; per profile: its top
       demands); price *every* eligible (demand, profile) pair with the LP duals
       (numpy, in blocks of demands; never a Python loop over pairs) and add the
       most improving ones (later rounds re-solve warm, see ``warm_lp``).
       After each round, restricted LP value + the Lagrangian gain (sum over demands of min(sum of negative reduced costs,
       size_max x the most negative one)) bounds the LP of the *full, unpruned*
       problem; rounds stop once that bound is within ``cg_tol``.  That bound
       is ``upper_bound`` (with every pair a column, the MILP's own bound).
    3. The integer solution on the generated columns, lexicographic:
       phase 1 maximises the number of staffed demands (skipped when the LSA
       incumbent, or an attempt with every preflight-feasible demand forced
       staffed, succeeds), phase 2 (``fairness="maxmin"``) maximises the
       minimum team score, phase 3 maximises the sum of member scores +
       continuity bonus (+ optional jitter) with the earlier optima fixed, and
       a small grade-mix bonus as tie-break.  The model is assignment-like and
       its LP optimum is usually integral; when it is, that is the answer
       (optimal over the columns), otherwise ``scipy.optimize.milp`` (HiGHS)
       runs on the columns (sparse constraint matrix) -- first with the
       demands whose LP teams are already integral fixed (``lp_fix``; status
       ``lp_fixed``, the gap to the bound is still reported), then, if that
       fails, on everything.
    With ``time_limit`` every phase gets what is left; the best incumbent and
    the bound so far are returned.

``greedy``
    Baseline for comparison only: demands in order of their best score; a
    lead, then the best free member per uncovered discipline, then fill.

``lsa``
    Step 1 above alone (LSA construction + repair), no optimality proof.

Team score (for ``maxmin``): sum of member scores divided by ``size_max``
(the mean over the team's full complement of seats; an empty seat counts 0).
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from xfd.matching.assign.problem import TeamProblem
from xfd.matching.registry import choose

FAIRNESS_MODES = ("sum", "maxmin")
DEBUG = False


@dataclass(frozen=True)
class SolveOptions:
    """Knobs of the solvers.

    - ``continuity_bonus`` >= 0 is added to the weight of a (demand, current
      member) pair.
    - ``grade_bonus`` >= 0: tie-break towards several student grades per team
      (post-pass swaps costing at most this much each, see :func:`grade_mix`;
      with ``grade_lp`` also as a per-grade reward in an extra LP, slower).
    - ``jitter`` >= 0 perturbs each pair's weight by U[0, jitter) drawn from
      ``seed`` (varied choice among near-equal teams).
    - ``time_limit`` in seconds (None: no limit).
    - ``candidates``, ``teachers``, ``per_discipline`` (per demand) and
      ``per_profile`` (per profile): initial candidate columns; column
      generation adds up to ``per_round`` columns per demand and round, for at
      most ``max_rounds`` rounds, and stops when the Lagrangian bound is within
      ``cg_tol`` (relative) of the restricted LP.
    - ``tie_break``: the exact solver adds a fixed pseudo-random
      U[0, tie_break) to each pair's weight so tied scores do not make the LP
      degenerate (slow); the plan may lose at most tie_break per member
      against the exact optimum (0 for exact arithmetic); bounds stay valid.
    - ``mip_rel_gap``: HiGHS relative gap at which a MILP phase stops;
      ``fair_gap`` / ``fair_time_limit`` for the max-min phase, whose many
      symmetric optima make a proof slow (its best floor is kept).
    - ``lp_fix``: when the LP optimum is fractional, first solve the MILP with
      the demands whose LP teams are integral fixed.
    - ``lp_method``: HiGHS method of the first LP of each column-generation run.
    - ``warm_lp``: keep the restricted LP in one HiGHS instance and re-solve
      after adding columns with primal simplex from the previous basis (the
      re-solve is then a fraction of a cold solve); off, or when scipy's
      bundled HiGHS bindings are unavailable, every round is a cold ``linprog``.
    """

    continuity_bonus: float = 0.1
    fairness: str = "sum"
    seed: int | None = None
    jitter: float = 0.0
    grade_bonus: float = 0.002
    time_limit: float | None = None
    candidates: int = 8
    per_discipline: int = 4
    teachers: int = 4
    mip_rel_gap: float = 1e-9
    max_rounds: int = 30
    per_round: int = 8
    per_profile: int = 6
    cg_tol: float = 1e-4
    fair_gap: float = 1e-3
    fair_time_limit: float = 10.0
    lp_fix: bool = True
    grade_lp: bool = False
    tie_break: float = 1e-6
    lp_method: str = "highs-ipm"
    warm_lp: bool = True


@dataclass
class SolveStats:
    """What the solver did.  Times in seconds."""

    solver: str
    seconds: float = 0.0
    active_demands: int = 0
    staffed: int = 0
    count_upper_bound: int | None = None
    columns: int = 0
    pricing_rounds: int = 0
    lp_bound: float | None = None
    min_team_score: float | None = None
    min_team_score_bound: float | None = None
    grade_bonus: float = 0.0
    optimal: bool = False
    status: str = ""
    phases: list[str] = field(default_factory=list)


@dataclass
class Solution:
    """A plan as arrays.

    ``members[i]`` sorted profile columns of demand i (empty when unstaffed);
    ``value`` = sum over placed pairs of (score + continuity bonus if the pair
    is current + jitter), without the grade-mix tie-break (in ``stats``);
    ``upper_bound`` a bound on ``value`` over *all* feasible plans with the
    same number of staffed demands (None when not computed).
    """

    members: list[np.ndarray]
    value: float
    upper_bound: float | None
    stats: SolveStats

    @property
    def staffed(self) -> np.ndarray:
        return np.array([m.size > 0 for m in self.members], dtype=bool)


# ----------------------------------------------------------------- helpers

def pair_weights(problem: TeamProblem, opts: SolveOptions) -> np.ndarray:
    """(D, P) weight of each pair: score + continuity bonus + jitter."""
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


def individually_feasible(problem: TeamProblem) -> np.ndarray:
    """(D,) bool: the demand could be staffed if it had the whole pool to itself.

    Necessary conditions only (an eligible teacher, a coverer per required
    discipline, size_min eligible members, size_max >= 1); the solver settles
    the rest.
    """
    elig = eligible_mask(problem)
    ok = problem.size_max >= 1
    ok &= (elig & problem.is_teacher[None, :]).any(axis=1)
    ok &= elig.sum(axis=1) >= np.maximum(problem.size_min, 1)
    # float32 BLAS matmul (integer matmul has no BLAS path); counts < 2**24 are exact
    cov_any = (elig.astype(np.float32) @ problem.covers.astype(np.float32)) > 0.5  # (D, K)
    ok &= ~(problem.required & ~cov_any).any(axis=1)
    return ok


def team_feasible(problem: TeamProblem, d: int, members: np.ndarray) -> bool:
    if members.size == 0:
        return True
    if not (problem.size_min[d] <= members.size <= problem.size_max[d]):
        return False
    if not problem.is_teacher[members].any():
        return False
    need = problem.required[d]
    return bool(problem.covers[members][:, need].any(axis=0).all())


def _value(problem: TeamProblem, w: np.ndarray, members: list[np.ndarray], gb: float) -> float:
    v = 0.0
    for d, m in enumerate(members):
        if m.size:
            v += float(w[d, m].sum())
            g = problem.grade[m][~problem.is_teacher[m]]
            v += gb * np.unique(g[g > 0]).size
    return v


# ------------------------------------------------------------------ greedy

def _greedy_fill(problem: TeamProblem, w: np.ndarray, d: int, left: np.ndarray,
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
        team = _greedy_fill(problem, w, int(d), left, [])
        if team is None:
            continue
        team_a = np.array(sorted(team), dtype=np.int64)
        members[d] = team_a
        left[team_a] -= 1
    st = SolveStats(solver="greedy", active_demands=int(ok.sum()))
    st.staffed = sum(m.size > 0 for m in members)
    st.seconds = time.perf_counter() - t0
    st.status = "heuristic"
    return Solution(members, _value(problem, w, members, 0.0), None, st)


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


# --------------------------------------------------------------------- LSA

def _topk_cols(score_rows: np.ndarray, k: int) -> np.ndarray:
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


def lsa_construct(problem: TeamProblem, w: np.ndarray, active: np.ndarray,
                  width: int = 20, chunk: int = 400) -> list[np.ndarray]:
    """LSA over demand role slots x profile capacity units, then repair.

    Slots per active demand: 1 lead slot (teachers), 1 per required
    discipline (its coverers), ``size_max - 1 - n_required`` free slots.
    Each slot links to its ``width`` best eligible profiles' capacity units;
    every slot also has a private dummy column (slot left empty), costing a
    large penalty for the lead/coverage slots.  Returns members per demand.
    """
    P = problem.n_profiles
    cap = problem.capacity.astype(np.int64)
    unit_start = np.concatenate([[0], np.cumsum(cap)])
    n_units = int(unit_start[-1])
    BIG = 10.0
    act = np.nonzero(active)[0]
    # slots: per demand a lead slot, one per required discipline, free slots
    nreq = problem.required[act].sum(axis=1)
    nfree = np.maximum(0, problem.size_max[act] - 1 - nreq)
    nslot = 1 + nreq + nfree
    first = np.concatenate([[0], np.cumsum(nslot)])
    n_slots = int(first[-1])
    slot_demand = np.repeat(act, nslot)
    # stage 0: lead, coverage and the free slots needed to reach size_min;
    # stage 1: optional free slots (filled only after every demand had its turn)
    nmust = np.maximum(0, problem.size_min[act] - 1 - nreq)
    pos_in = np.arange(n_slots) - np.repeat(first[:-1], nslot)
    stage = (pos_in >= np.repeat(1 + nreq + nmust, nslot)).astype(np.int64)
    E_s, E_p, E_c = [], [], []   # slot, profile, cost

    def edges(slot_of_row: np.ndarray, top: np.ndarray, val: np.ndarray, bonus: float) -> None:
        ok = np.isfinite(val)
        r = np.broadcast_to(slot_of_row[:, None], top.shape)[ok]
        E_s.append(r)
        E_p.append(top[ok])
        E_c.append(3.0 * BIG - (val[ok] + bonus))

    teachers = np.nonzero(problem.is_teacher & (cap > 0))[0]
    coverers = [np.nonzero(problem.covers[:, k] & (cap > 0))[0] for k in range(problem.n_disciplines)]
    block = 256
    for s in range(0, act.size, block):
        e = min(act.size, s + block)
        rows = act[s:e]
        W = np.where(eligible_mask(problem, rows), w[rows], -np.inf)
        sl = first[s:e]
        top, val = _topk_sub(W, teachers, width)
        edges(sl, top, val, BIG)
        req = problem.required[rows]
        rank = np.cumsum(req, axis=1)  # k-th required discipline of the row -> slot offset
        for k in np.nonzero(req.any(axis=0))[0]:
            rr = np.nonzero(req[:, k])[0]
            if coverers[k].size:
                top, val = _topk_sub(W[rr], coverers[k], width)
                edges(sl[rr] + rank[rr, k], top, val, BIG)
        sc = np.where(W > 0, W, -np.inf)
        top = _topk_cols(sc, width)
        val = np.take_along_axis(sc, top, axis=1)
        nf = nfree[s:e]
        nm = nmust[s:e]
        for f in range(int(nf.max(initial=0))):
            rr = np.nonzero(nf > f)[0]
            must = nm[rr] > f
            for sel, bonus in ((rr[must], BIG), (rr[~must], 0.0)):
                if sel.size:
                    edges(sl[sel] + 1 + nreq[s:e][sel] + f, top[sel], val[sel], bonus)
    members: list[list[int]] = [[] for _ in range(problem.n_demands)]
    if n_slots and E_s:
        es, ep, ec = np.concatenate(E_s), np.concatenate(E_p), np.concatenate(E_c)
        left = cap.copy()
        # chunks of demands matched in turn against the capacity still free:
        # the sparse LSA grows superlinearly, chunks keep the whole near-linear
        nch = (act.size + chunk - 1) // chunk
        chunk_of_slot = np.repeat(np.arange(act.size) // chunk, nslot) + stage * nch
        order = np.argsort(chunk_of_slot[es], kind="stable")
        es, ep, ec = es[order], ep[order], ec[order]
        bounds = np.searchsorted(chunk_of_slot[es], np.arange(chunk_of_slot.max() + 2))
        for ci in range(bounds.size - 1):
            lo, hi = bounds[ci], bounds[ci + 1]
            if lo == hi:
                continue
            s_, p_, c_ = es[lo:hi], ep[lo:hi], ec[lo:hi]
            keep = left[p_] > 0
            s_, p_, c_ = s_[keep], p_[keep], c_[keep]
            slots = np.unique(s_)
            srow = np.searchsorted(slots, s_)
            prof = np.unique(p_)
            ucnt = np.minimum(left[prof], slots.size)
            ustart = np.concatenate([[0], np.cumsum(ucnt)])
            pidx = np.searchsorted(prof, p_)
            cnt = ucnt[pidx]
            rep = np.repeat(np.arange(p_.size), cnt)
            off = np.arange(rep.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            nu = int(ustart[-1])
            rows_a = np.concatenate([srow[rep], np.arange(slots.size)])
            cols_a = np.concatenate([ustart[pidx[rep]] + off, nu + np.arange(slots.size)])
            vals_a = np.concatenate([c_[rep], np.full(slots.size, 3.0 * BIG)])
            G = sp.csr_matrix((vals_a, (rows_a, cols_a)), shape=(slots.size, nu + slots.size))
            r, c = min_weight_full_bipartite_matching(G)
            owner = np.repeat(prof, ucnt)
            real = c < nu
            for sl_, j in zip(slots[r[real]].tolist(), owner[c[real]].tolist()):
                members[int(slot_demand[sl_])].append(j)
                left[j] -= 1
    # repair: drop duplicates, complete with greedy from free capacity, else drop
    left = cap.copy()
    out = [np.zeros(0, dtype=np.int64) for _ in range(problem.n_demands)]
    teams = {d: list(dict.fromkeys(members[d])) for d in act}
    for d in act:
        for j in teams[d]:
            left[j] -= 1
    for d in act:
        t = teams[d]
        if t and team_feasible(problem, d, np.array(sorted(t))):
            continue
        for j in t:  # release, then complete greedily (keeping what we had)
            left[j] += 1
        keep = t[: int(problem.size_max[d])]
        new = _greedy_fill(problem, w, int(d), left, keep) if keep else None
        if new is None:
            new = _greedy_fill(problem, w, int(d), left, [])
        teams[d] = new or []
        for j in teams[d]:
            left[j] -= 1
    # top up free seats with positive-weight free members
    for d in act:
        t = teams[d]
        if not t:
            continue
        room = int(problem.size_max[d]) - len(t)
        if room > 0:
            avail = eligible_mask(problem, slice(d, d + 1))[0] & (left > 0)
            avail[t] = False
            cand = np.nonzero(avail & (w[d] > 0))[0]
            add = cand[np.argsort(-w[d, cand], kind="stable")[:room]]
            t.extend(int(j) for j in add)
            left[add] -= 1
        out[d] = np.array(sorted(t), dtype=np.int64)
    return out


def solve_lsa(problem: TeamProblem, opts: SolveOptions) -> Solution:
    t0 = time.perf_counter()
    problem.validate()
    w = pair_weights(problem, opts)
    active = individually_feasible(problem)
    members = lsa_construct(problem, w, active)
    st = SolveStats(solver="lsa", active_demands=int(active.sum()), status="heuristic")
    st.staffed = sum(m.size > 0 for m in members)
    st.seconds = time.perf_counter() - t0
    return Solution(members, _value(problem, w, members, 0.0), None, st)


# ------------------------------------------------------------------- exact

@dataclass
class _Res:
    """An integral LP optimum standing in for a MILP result."""

    x: np.ndarray
    status: int
    mip_dual_bound: float


class _Model:
    """The MILP over a column set of (demand, profile) pairs, in <= form.

    Variables: x (one per column, binary), y (per active demand, binary),
    z (per active demand and grade 1..4, in [0,1]; only with grade bonus),
    t (team-score floor; only in maxmin).  Rows: capacity (per profile),
    size max, size min, teacher, coverage (per required (demand, discipline)),
    grade (per demand, grade), fairness (per demand; maxmin), count.
    """

    def __init__(self, problem: TeamProblem, act: np.ndarray, w: np.ndarray,
                 use_z: bool, use_t: bool) -> None:
        self.pb, self.act, self.w = problem, act, w
        self.na = act.size
        self.use_z, self.use_t = use_z, use_t
        self.req = problem.required[act]  # (na, K)
        self.covrow = -np.ones(self.req.shape, dtype=np.int64)
        ai, ki = np.nonzero(self.req)
        self.ncov = ai.size
        self.P = problem.n_profiles
        na, P = self.na, self.P
        self.r_cap = 0
        self.r_max = P
        self.r_min = self.r_max + na
        self.r_tea = self.r_min + na
        self.r_cov = self.r_tea + na
        self.covrow[ai, ki] = self.r_cov + np.arange(self.ncov)
        self.r_gra = self.r_cov + self.ncov
        self.r_fair = self.r_gra + (4 * na if use_z else 0)
        self.r_cnt = self.r_fair + (na if use_t else 0)
        self.n_rows = self.r_cnt + 1
        self.smax = problem.size_max[act].astype(np.float64)
        self.smin = problem.size_min[act].astype(np.float64)

    def build(self, ca: np.ndarray, cp: np.ndarray, count_min: int | None,
              y_fixed: bool) -> tuple[sp.csc_matrix, np.ndarray, int]:
        pb = self.pb
        nc, na = ca.size, self.na
        R: list[np.ndarray] = []
        C: list[np.ndarray] = []
        V: list[np.ndarray] = []

        def add(r, c, v):
            R.append(np.asarray(r, dtype=np.int64))
            C.append(np.asarray(c, dtype=np.int64))
            V.append(np.broadcast_to(np.asarray(v, dtype=np.float64), np.shape(r)).copy())

        xc = np.arange(nc)
        add(self.r_cap + cp, xc, 1.0)
        add(self.r_max + ca, xc, 1.0)
        add(self.r_min + ca, xc, -1.0)
        t = pb.is_teacher[cp]
        add(self.r_tea + ca[t], xc[t], -1.0)
        cm = pb.covers[cp] & self.req[ca]
        ci, ck = np.nonzero(cm)
        add(self.covrow[ca[ci], ck], xc[ci], -1.0)
        if self.use_z:
            g = pb.grade[cp]
            s = (~t) & (g > 0)
            add(self.r_gra + 4 * ca[s] + (g[s] - 1), xc[s], -1.0)
        if self.use_t:
            sc = pb.scores[self.act[ca], cp] / self.smax[ca]
            add(self.r_fair + ca, xc, -sc)
        # y
        yc = nc + np.arange(na)
        add(self.r_max + np.arange(na), yc, -self.smax)
        add(self.r_min + np.arange(na), yc, self.smin)
        add(self.r_tea + np.arange(na), yc, 1.0)
        ai, ki = np.nonzero(self.req)
        add(self.covrow[ai, ki], nc + ai, 1.0)
        if self.use_t:
            add(self.r_fair + np.arange(na), yc, 1.0)
        if count_min is not None and not y_fixed:
            add(np.full(na, self.r_cnt), yc, -1.0)
        nv = nc + na
        if self.use_z:
            zc = nv + np.arange(4 * na)
            add(self.r_gra + np.arange(4 * na), zc, 1.0)
            nv += 4 * na
        if self.use_t:
            add(self.r_fair + np.arange(na), np.full(na, nv), 1.0)
            nv += 1
        A = sp.csc_matrix((np.concatenate(V), (np.concatenate(R), np.concatenate(C))),
                          shape=(self.n_rows, nv))
        b = np.zeros(self.n_rows)
        b[self.r_cap:self.r_cap + self.P] = pb.capacity
        if self.use_t:
            b[self.r_fair:self.r_fair + na] = 1.0
        b[self.r_cnt] = -(count_min or 0) if (count_min is not None and not y_fixed) else 0.0
        return A, b, nv

    def price(self, lam: np.ndarray, wobj: float, incol: np.ndarray,
              per_demand: int, block: int = 256) -> tuple[np.ndarray, np.ndarray, float]:
        """Price every eligible pair not yet a column.

        Returns (local demand idx, profile idx) of up to ``per_demand`` most
        negative reduced-cost columns per demand, and the Lagrangian gain:
        sum over demands of min(sum of negative reduced costs, size_max x the
        most negative one) -- adding it to the restricted LP's value bounds the
        full LP (weak duality: raise the size-max row dual, or the x <= 1
        bound duals, by that much).
        """
        pb = self.pb
        lcap = lam[self.r_cap:self.r_cap + self.P]
        lmax = lam[self.r_max:self.r_max + self.na]
        lmin = lam[self.r_min:self.r_min + self.na]
        ltea = lam[self.r_tea:self.r_tea + self.na]
        Lcov = np.zeros(self.req.shape)
        m = self.covrow >= 0
        Lcov[m] = lam[self.covrow[m]]
        covf = pb.covers.astype(np.float64)
        stud = (~pb.is_teacher) & (pb.grade > 0)
        gidx = np.clip(pb.grade - 1, 0, 3)
        out_a, out_p = [], []
        gain = 0.0
        for s in range(0, self.na, block):
            e = min(self.na, s + block)
            rows = self.act[s:e]
            rc = -lcap[None, :] - (lmax[s:e] - lmin[s:e])[:, None]
            rc = rc + ltea[s:e, None] * pb.is_teacher[None, :]
            rc = rc + Lcov[s:e] @ covf.T
            if wobj:
                rc = rc - wobj * self.w[rows]
            if self.use_z:
                Lg = lam[self.r_gra + 4 * s:self.r_gra + 4 * e].reshape(e - s, 4)
                rc = rc + np.where(stud[None, :], Lg[:, gidx], 0.0)
            if self.use_t:
                lf = lam[self.r_fair + s:self.r_fair + e]
                rc = rc + lf[:, None] * pb.scores[rows] / self.smax[s:e, None]
            bad = ~eligible_mask(pb, rows) | incol[s:e]
            rc[bad] = np.inf
            neg = rc < -1e-9
            if not neg.any():
                continue
            negv = np.where(neg, -rc, 0.0)
            gain += float(np.minimum(negv.sum(axis=1), self.smax[s:e] * negv.max(axis=1)).sum())
            # the per_demand most negative reduced costs per row, among the
            # (few) negative entries only -- no partition of whole rows
            ii, jj = np.nonzero(neg)
            order = np.lexsort((rc[ii, jj], ii))
            ii, jj = ii[order], jj[order]
            starts = np.searchsorted(ii, ii, side="left")
            keep = (np.arange(ii.size) - starts) < per_demand
            out_a.append(s + ii[keep])
            out_p.append(jj[keep])
        if not out_a:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), 0.0
        return np.concatenate(out_a), np.concatenate(out_p), gain


class _WarmLP:
    """Restricted LP of column generation kept in one HiGHS instance.

    Column generation only ever adds x columns, so the previous optimal basis
    stays primal feasible and each re-solve is a short warm-started simplex
    run instead of a solve from scratch.  HiGHS variable order is
    [initial x columns, y, (t), x columns added later]; :meth:`result` maps
    the solution back to the canonical order (x in ``np.nonzero(incol)``
    order, then y, then t) with a ``linprog``-like result object.
    Returns None from :meth:`create` when scipy's bundled HiGHS bindings are
    not available (the caller then uses ``linprog``).
    """

    _METHOD = {"highs-ipm": "ipm", "highs-ds": "simplex", "highs": "choose"}

    def __init__(self, core, P: int) -> None:
        self.h = None
        self.core = core
        self.P = P

    @classmethod
    def create(cls, P: int) -> "_WarmLP | None":
        try:
            from scipy.optimize._highspy import _core as core
            core._Highs  # noqa: B018
            core.HighsLp
        except Exception:   # pragma: no cover - depends on the scipy build
            return None
        return cls(core, P)

    def load(self, A: sp.csc_matrix, b: np.ndarray, c: np.ndarray, lb: np.ndarray,
             ub: np.ndarray, nc: int, ca: np.ndarray, cp: np.ndarray, method: str) -> None:
        core = self.core
        A = sp.csc_matrix(A)
        A.sort_indices()
        lp = core.HighsLp()
        nr, nv = A.shape
        lp.num_col_, lp.num_row_ = nv, nr
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = nv, nr
        lp.a_matrix_.format_ = core.MatrixFormat.kColwise
        lp.col_cost_ = np.asarray(c, dtype=np.float64)
        lp.col_lower_ = np.asarray(lb, dtype=np.float64)
        lp.col_upper_ = np.asarray(ub, dtype=np.float64)
        lp.row_lower_ = np.full(nr, -core.kHighsInf)
        lp.row_upper_ = np.asarray(b, dtype=np.float64)
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(np.float64)
        h = core._Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")
        h.setOptionValue("solver", self._METHOD.get(method, "choose"))
        if h.passModel(lp) == core.HighsStatus.kError:
            raise RuntimeError("HiGHS rejected the LP")
        self.h = h
        self.nv0, self.nc0 = nv, nc
        self.keys = [ca.astype(np.int64) * self.P + cp]
        self.hidx = [np.arange(nc, dtype=np.int64)]
        self.n_cols = nv

    def add(self, A_new: sp.csc_matrix, c_new: np.ndarray, ca: np.ndarray, cp: np.ndarray) -> None:
        A_new = sp.csc_matrix(A_new)
        A_new.sort_indices()
        n = A_new.shape[1]
        if n == 0:
            return
        self.h.addCols(n, np.asarray(c_new, dtype=np.float64), np.zeros(n), np.ones(n),
                       int(A_new.nnz), A_new.indptr[:-1].astype(np.int32),
                       A_new.indices.astype(np.int32), A_new.data.astype(np.float64))
        self.keys.append(ca.astype(np.int64) * self.P + cp)
        self.hidx.append(self.n_cols + np.arange(n, dtype=np.int64))
        self.n_cols += n

    def run(self, time_limit: float | None, first: bool) -> SimpleNamespace:
        core, h = self.core, self.h
        if not first:   # warm start from the previous basis
            h.setOptionValue("solver", "simplex")
            # new columns keep the basis primal feasible: primal simplex
            # continues from it (dual simplex would first repair dual feasibility)
            h.setOptionValue("simplex_strategy", 4)
        h.setOptionValue("time_limit", float(time_limit) if time_limit is not None else core.kHighsInf)
        h.run()
        ms = h.getModelStatus()
        if ms == core.HighsModelStatus.kOptimal:
            status = 0
        elif ms == core.HighsModelStatus.kInfeasible:
            status = 2
        elif ms in (core.HighsModelStatus.kTimeLimit, core.HighsModelStatus.kIterationLimit):
            status = 1
        else:
            status = 4
        if status != 0:
            return SimpleNamespace(status=status, x=None, fun=None, ineqlin=None)
        sol = h.getSolution()
        xv = np.asarray(sol.col_value, dtype=np.float64)
        keys = np.concatenate(self.keys)
        hidx = np.concatenate(self.hidx)
        order = np.argsort(keys, kind="stable")   # canonical = row-major nonzero order
        x = np.concatenate([xv[hidx[order]], xv[self.nc0:self.nv0]])
        return SimpleNamespace(status=0, x=x, fun=float(h.getInfo().objective_function_value),
                               ineqlin=SimpleNamespace(marginals=np.asarray(sol.row_dual, dtype=np.float64)))


def _topk_sub(W: np.ndarray, cols: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of ``W[:, cols]`` per row: (global column indices, values); -inf = absent."""
    sub = W[:, cols]
    top = _topk_cols(sub, k)
    return cols[top], np.take_along_axis(sub, top, axis=1)


def _initial_columns(problem: TeamProblem, act: np.ndarray, w: np.ndarray, opts: SolveOptions,
                     seeds: list[np.ndarray], block: int = 256) -> np.ndarray:
    """(na, P) bool initial candidate columns per active demand: top overall, top
    teachers, top coverers of each required discipline, current members, each
    profile's top demands, and the seed teams."""
    na, P = act.size, problem.n_profiles
    incol = np.zeros((na, P), dtype=bool)
    teachers = np.nonzero(problem.is_teacher & (problem.capacity > 0))[0]
    coverers = [np.nonzero(problem.covers[:, k] & (problem.capacity > 0))[0]
                for k in range(problem.n_disciplines)]
    for s in range(0, na, block):
        e = min(na, s + block)
        rows = act[s:e]
        elig = eligible_mask(problem, rows)
        wb = np.where(elig, w[rows], -np.inf)
        r = np.arange(e - s)

        def take(rr: np.ndarray, cols: np.ndarray, k: int) -> None:
            if cols.size == 0 or rr.size == 0:
                return
            top, val = _topk_sub(wb[rr], cols, k)
            ok = np.isfinite(val)
            incol[s + np.broadcast_to(rr[:, None], top.shape)[ok], top[ok]] = True

        take(r, np.arange(P), opts.candidates)
        take(r, teachers, opts.teachers)
        req = problem.required[rows]
        for k in np.nonzero(req.any(axis=0))[0]:
            take(np.nonzero(req[:, k])[0], coverers[k], opts.per_discipline)
        incol[s:e] |= problem.current[rows] & elig
    # reverse candidates: each profile's best demands (capacity is what binds)
    if opts.per_profile > 0 and na:
        kk = min(na, opts.per_profile)
        for s in range(0, P, 4 * block):
            e = min(P, s + 4 * block)
            ok_cols = problem.capacity[s:e] > 0
            wb = np.where(~problem.forbidden[act, s:e] & ok_cols[None, :], w[act, s:e], -np.inf).T
            top = _topk_cols(wb, kk)
            ok = np.isfinite(np.take_along_axis(wb, top, axis=1))
            pr = np.broadcast_to(np.arange(s, e)[:, None], top.shape)
            incol[top[ok], pr[ok]] = True
    pos = {int(d): i for i, d in enumerate(act)}
    for d, m in enumerate(seeds):
        if m.size and d in pos:
            incol[pos[d], m] = True
    return incol


def solve_exact(problem: TeamProblem, opts: SolveOptions) -> Solution:
    """LSA incumbent + column generation + lexicographic MILP (see module doc)."""
    t0 = time.perf_counter()
    problem.validate()
    deadline = None if opts.time_limit is None else t0 + float(opts.time_limit)
    st = SolveStats(solver="exact")
    w_true = pair_weights(problem, opts)
    w = w_true
    if opts.tie_break > 0:   # break exact ties (degenerate LPs are slow); bound stays valid
        w = w_true + np.random.default_rng(20260101).random(w_true.shape) * opts.tie_break
    active = individually_feasible(problem)
    act = np.nonzero(active)[0]
    st.active_demands = int(act.size)
    D = problem.n_demands
    empty = [np.zeros(0, dtype=np.int64) for _ in range(D)]
    if act.size == 0:
        st.optimal, st.status, st.count_upper_bound = True, "optimal", 0
        st.seconds = time.perf_counter() - t0
        return Solution(empty, 0.0, 0.0, st)

    inc = lsa_construct(problem, w, active)
    st.phases.append(f"lsa staffed {sum(m.size > 0 for m in inc)} / {act.size}")
    gb = opts.grade_bonus
    use_z = gb > 0
    use_t = opts.fairness == "maxmin"
    model = _Model(problem, act, w, False, use_t)      # LP: bound on w.x
    model_ip = _Model(problem, act, w, use_z, use_t)   # MILP: + grade-mix tie-break
    incol = _initial_columns(problem, act, w, opts, inc)

    def remaining() -> float | None:
        if deadline is None:
            return None
        return max(0.5, deadline - time.perf_counter())

    last_lp: list = [None]

    def expired() -> bool:
        return deadline is not None and time.perf_counter() >= deadline

    def columns() -> tuple[np.ndarray, np.ndarray]:
        a, p = np.nonzero(incol)
        return a, p

    def objective(phase: str, nv: int, nc: int, with_z: bool = False, cols_=None) -> np.ndarray:
        c = np.zeros(nv)
        na = act.size
        if phase == "count":
            c[nc:nc + na] = -1.0
        elif phase == "fair":
            c[nv - 1] = -1.0
        else:
            ca, cp = cols if cols_ is None else cols_
            c[:nc] = -w[act[ca], cp]
            if with_z:
                c[nc + na:nc + na + 4 * na] = -gb
        return c

    def var_bounds(nv: int, nc: int, y_fixed: bool, t_lb: float) -> tuple[np.ndarray, np.ndarray]:
        lb, ub = np.zeros(nv), np.ones(nv)
        if y_fixed:
            lb[nc:nc + act.size] = 1.0
        if use_t:
            lb[nv - 1] = t_lb
        return lb, ub

    def lp_cg(phase: str, count_min: int | None, y_fixed: bool,
              t_lb: float) -> tuple[float | None, bool]:
        """Column generation on the LP relaxation.

        Returns (a valid bound on the *full* LP in min form -- restricted LP
        value minus the Lagrangian gain, best over rounds -- or None if no LP
        solved; False when the restricted LP is infeasible).
        Stops when the gain is within ``cg_tol`` (relative), when no column
        prices out, after ``max_rounds`` or at the deadline.
        """
        nonlocal cols
        best: float | None = None
        warm = _WarmLP.create(problem.n_profiles) if opts.warm_lp else None
        new_cols: tuple[np.ndarray, np.ndarray] | None = None
        for rnd in range(opts.max_rounds):
            cols = columns()
            nc = cols[0].size
            rl = remaining()
            res = None
            try:
                if warm is not None and rnd > 0 and new_cols is not None:
                    # only the new x columns go to the solver; warm-started re-solve
                    A_n, _, nv_n = model.build(new_cols[0], new_cols[1], count_min, y_fixed)
                    n_new = new_cols[0].size
                    c_n = objective(phase, nv_n, n_new, cols_=new_cols)[:n_new]
                    warm.add(A_n[:, :n_new], c_n, new_cols[0], new_cols[1])
                    res = warm.run(rl, first=False)
                elif warm is not None:
                    A, b, nv = model.build(cols[0], cols[1], count_min, y_fixed)
                    c = objective(phase, nv, nc)
                    lb, ub = var_bounds(nv, nc, y_fixed, t_lb)
                    warm.load(A, b, c, lb, ub, nc, cols[0], cols[1], opts.lp_method)
                    res = warm.run(rl, first=True)
            except Exception:   # bindings misbehave: solve from scratch below
                res = None
            if res is None or res.status == 4:
                warm = None   # cold linprog from here on
                A, b, nv = model.build(cols[0], cols[1], count_min, y_fixed)
                c = objective(phase, nv, nc)
                lb, ub = var_bounds(nv, nc, y_fixed, t_lb)
                opt: dict = {"presolve": False}
                if rl is not None:
                    opt["time_limit"] = rl
                res = linprog(c, A_ub=A.tocsr(), b_ub=b, bounds=np.column_stack([lb, ub]),
                              method=opts.lp_method, options=opt)
            st.pricing_rounds += 1
            last_lp[0] = (res, nc)
            if res.status != 0 or res.ineqlin is None:
                return best, res.status != 2
            val = float(res.fun)
            lam = np.asarray(res.ineqlin.marginals)
            na_, np_, gain = model.price(lam, 1.0 if phase == "sum" else 0.0, incol,
                                         per_demand=opts.per_round)
            bound = val - gain
            best = bound if best is None else max(best, bound)
            if DEBUG:
                print(phase, nc, val, na_.size, gain, time.perf_counter() - t0, file=sys.stderr)
            if na_.size == 0 or val - best <= opts.cg_tol * max(1.0, abs(val)):
                return best, True
            incol[na_, np_] = True
            new_cols = (na_, np_)
            if deadline is not None and time.perf_counter() > deadline:
                return best, True
        return best, True

    def solve_phase(phase: str, count_min: int | None, y_fixed: bool, t_lb: float):
        """Column generation, then the integer solution: the LP optimum itself when
        it is integral (common: the model is assignment-like), else HiGHS MILP.
        Returns (LP bound in min form or None, restricted LP feasible, result, nc)."""
        nonlocal cols
        last_lp[0] = None
        v, ok = lp_cg(phase, count_min, y_fixed, t_lb)
        if not ok:
            return v, False, None, 0
        cols = columns()
        nc = cols[0].size
        cands = []
        if phase == "sum" and use_z and opts.grade_lp:   # one more LP with the grade-mix tie-break
            A, b, nv = model_ip.build(cols[0], cols[1], count_min, y_fixed)
            c = objective(phase, nv, nc, with_z=True)
            lb, ub = var_bounds(nv, nc, y_fixed, t_lb)
            opt: dict = {"presolve": False}
            rl = remaining()
            if rl is not None:
                opt["time_limit"] = rl
            r = linprog(c, A_ub=A.tocsr(), b_ub=b, bounds=np.column_stack([lb, ub]),
                        method=opts.lp_method, options=opt)
            if DEBUG:
                print("z-LP", r.status, time.perf_counter() - t0, file=sys.stderr)
            if r.status == 0:
                cands.append(("with grade tie-break", r))
        if last_lp[0] is not None and last_lp[0][1] == nc and last_lp[0][0].status == 0:
            cands.append(("", last_lp[0][0]))
        for label, cand in cands:
            xi = cand.x[:nc + act.size]
            if np.all(np.minimum(np.abs(xi), np.abs(1.0 - xi)) <= 1e-7):
                st.phases.append(f"{phase}: LP optimum integral {label}".rstrip())
                x = np.round(cand.x, 9)
                return v, True, _Res(x, 0, float(cand.fun)), nc
        # LP-guided: keep the demands whose LP teams are integral, MILP on the rest
        base = cands[0][1] if cands else None
        if base is not None and opts.lp_fix:
            xi = base.x[:nc]
            frac = np.minimum(np.abs(xi), np.abs(1.0 - xi)) > 1e-7
            open_d = np.zeros(act.size, dtype=bool)
            open_d[cols[0][frac]] = True
            if open_d.mean() <= 0.5:
                keep = ~open_d[cols[0]]
                fix = (keep, np.round(xi[keep]))
                res, nc = run_milp(phase, count_min, y_fixed, t_lb, fix=fix)
                if res.x is not None:
                    st.phases.append(f"{phase}: LP-fixed MILP on {int(open_d.sum())} open demands")
                    return v, True, _Res(res.x, 3, res.mip_dual_bound), nc
        res, nc = run_milp(phase, count_min, y_fixed, t_lb)
        st.phases.append(f"{phase}: MILP status {res.status}")
        return v, True, res, nc

    def run_milp(phase: str, count_min: int | None, y_fixed: bool, t_lb: float, fix=None):
        ca, cp = cols
        nc = ca.size
        A, b, nv = model_ip.build(ca, cp, count_min, y_fixed)
        c = objective(phase, nv, nc, with_z=use_z)
        lb, ub = var_bounds(nv, nc, y_fixed, t_lb)
        if fix is not None:
            keep, val = fix
            lb[:nc][keep] = val
            ub[:nc][keep] = val
        integ = np.zeros(nv)
        integ[:nc + act.size] = 1
        gap = opts.fair_gap if phase == "fair" else opts.mip_rel_gap
        opt = {"mip_rel_gap": gap, "presolve": True}
        rl = remaining()
        if phase == "fair":
            rl = opts.fair_time_limit if rl is None else min(rl, opts.fair_time_limit)
        if rl is not None:
            opt["time_limit"] = rl
        res = milp(c, integrality=integ, bounds=Bounds(lb, ub),
                   constraints=LinearConstraint(A, -np.inf, b), options=opt)
        if DEBUG:
            print("MILP", phase, fix is not None, res.status, time.perf_counter() - t0, file=sys.stderr)
        return res, nc

    def decode(x: np.ndarray, nc: int) -> list[np.ndarray]:
        ca, cp = cols
        on = x[:nc] > 0.5
        out = [np.zeros(0, dtype=np.int64) for _ in range(D)]
        order = np.lexsort((cp[on], ca[on]))
        a_on, p_on = ca[on][order], cp[on][order]
        splits = np.searchsorted(a_on, np.arange(act.size + 1))
        for i in range(act.size):
            m = p_on[splits[i]:splits[i + 1]]
            if m.size:
                out[int(act[i])] = m.astype(np.int64)
        return out

    cols = columns()
    inc_count = sum(m.size > 0 for m in inc)
    incumbent = inc
    n_act = int(act.size)
    results: dict[str, tuple[float | None, object, int]] = {}

    def staffed_of(m: list[np.ndarray]) -> int:
        return sum(x.size > 0 for x in m)

    # ---- phase 1: how many demands can be staffed
    first = "fair" if use_t else "sum"
    if inc_count == n_act:
        Y, y_fixed, cub = n_act, True, n_act
    else:
        # optimistic: every demand that passed preflight staffed (y fixed to 1)
        v, ok, res, nc = solve_phase(first, None, True, 0.0)
        if res is not None and res.x is not None:
            Y, y_fixed, cub = n_act, True, n_act
            results[first] = (v, res, nc)
        elif expired():   # out of time: keep the LSA incumbent, no count bound
            Y, y_fixed, cub = inc_count, inc_count == n_act, None
            st.phases.append("time limit before the staffing count was proven")
        else:
            v, ok, res, nc = solve_phase("count", None, False, 0.0)
            cub = int(np.floor(-v + 1e-6)) if v is not None else n_act
            Y = inc_count
            if res is not None:
                if res.x is not None:
                    m1 = decode(res.x, nc)
                    if staffed_of(m1) > Y:
                        Y, incumbent = staffed_of(m1), m1
                    if res.status == 0:  # proven on these columns; LP bound is the full one
                        cub = max(Y, min(cub, int(np.floor(-res.mip_dual_bound + 1e-6))))
            y_fixed = Y == n_act
    st.count_upper_bound = cub
    st.phases.append(f"staffed {Y} (bound {cub})")
    count_min = None if y_fixed else Y
    # ---- phase 2: max-min team score
    t_lb = 0.0
    if use_t:
        # the plain sum optimum gives a floor the max-min phase must not go below
        _, _, res_s, nc_s = solve_phase("sum", count_min, y_fixed, 0.0)
        if res_s is not None and res_s.x is not None:
            cand = decode(res_s.x, nc_s)
            if staffed_of(cand) >= Y:
                incumbent = cand
        if "fair" not in results:
            v, ok, res, nc = solve_phase("fair", count_min, y_fixed, 0.0)
            results["fair"] = (v, res, nc)
        v, res, nc = results["fair"]
        st.min_team_score_bound = None if v is None else -v
        def floor(m: list[np.ndarray]) -> float:
            sc = [problem.scores[d, x].sum() / problem.size_max[d] for d, x in enumerate(m) if x.size]
            return float(min(sc)) if sc and staffed_of(m) >= Y else -1.0

        if res is not None and res.x is not None:
            cand = decode(res.x, nc)
            if floor(cand) > floor(incumbent):
                incumbent = cand
        t_lb = max(0.0, floor(incumbent) - 1e-9)   # never below what we already have
        st.phases.append(f"maxmin t={t_lb:.6f}")
    # ---- phase 3: sum of weights
    if "sum" not in results and expired():
        results["sum"] = (None, None, 0)
    elif "sum" not in results:
        v, ok, res, nc = solve_phase("sum", count_min, y_fixed, t_lb)
        results["sum"] = (v, res, nc)
    v, res, nc = results["sum"]
    st.lp_bound = None if v is None else -v
    status = "time_limit"
    ub = st.lp_bound
    if res is not None and res.x is not None:
        cand = decode(res.x, nc)
        if staffed_of(cand) >= Y:
            incumbent = cand
        if res.status == 0:
            status = "optimal"
        elif res.status == 3:
            status = "lp_fixed"
    # every eligible pair is a column: the MILP's own bound is a bound on the full problem
    complete = int(incol.sum()) == int(eligible_mask(problem, act).sum())
    if complete and res is not None and res.x is not None and res.mip_dual_bound is not None:
        ub = -float(res.mip_dual_bound) if ub is None else min(ub, -float(res.mip_dual_bound))
    st.columns = int(cols[0].size)
    if gb > 0:
        incumbent, n_swaps = grade_mix(problem, w_true, incumbent, gb)
        if n_swaps:
            st.phases.append(f"grade mix: {n_swaps} swaps")
    value = _value(problem, w_true, incumbent, 0.0)
    st.grade_bonus = _value(problem, w_true, incumbent, gb) - value if gb else 0.0
    st.staffed = staffed_of(incumbent)
    if ub is not None:
        ub = max(ub, value)
    st.optimal = (status == "optimal" and cub is not None and cub == st.staffed
                  and ub is not None and ub - value <= 1e-6 * max(1.0, abs(ub)))
    st.status = status
    if use_t:
        sc = [problem.scores[d, m].sum() / problem.size_max[d] for d, m in enumerate(incumbent) if m.size]
        st.min_team_score = float(min(sc)) if sc else None
    st.seconds = time.perf_counter() - t0
    return Solution(incumbent, value, ub, st)


SOLVERS: dict[str, Callable[[TeamProblem, SolveOptions], Solution]] = {
    "exact": solve_exact,
    "greedy": solve_greedy,
    "lsa": solve_lsa,
}


def solve(problem: TeamProblem, solver: str = "exact", opts: SolveOptions | None = None) -> Solution:
    """Solve by name (``exact``, ``greedy``, ``lsa``); unknown names list the valid ones."""
    fn = choose("solver", solver, SOLVERS)
    opts = opts or SolveOptions()
    if opts.fairness not in FAIRNESS_MODES:
        choose("fairness mode", opts.fairness, {m: m for m in FAIRNESS_MODES})
    for name in ("continuity_bonus", "jitter", "grade_bonus"):
        v = getattr(opts, name)
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number >= 0 but is {v!r}")
    return fn(problem, opts)
