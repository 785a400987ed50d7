"""The restricted LP/MILP model of the exact solver over a set of candidate
(demand, profile) columns, its pricing step, and the initial columns.

Variables: x (one per column, binary), y (per active demand, binary),
z (per active demand and grade 1..4, in [0,1]; only with the grade bonus),
t (team-score floor; only in maxmin).  Rows, all in ``A v <= b`` form:
capacity (per profile), size max, size min, teacher, coverage (per required
(demand, discipline)), grade (per demand, grade), fairness (per demand;
maxmin), count.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from xfd.matching.assign.common import eligible_mask, topk_cols, topk_sub
from xfd.matching.assign.options import SolveOptions
from xfd.matching.assign.problem import TeamProblem


class RestrictedModel:
    """The MILP over a column set of (demand, profile) pairs, in <= form (see
    the module docstring).  ``act`` (na,) are the active demand rows; column
    arrays ``ca`` (local demand index into ``act``) and ``cp`` (profile column)
    describe the x variables."""

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

        def add(r: np.ndarray, c: np.ndarray, v: np.ndarray | float) -> None:
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


def initial_columns(problem: TeamProblem, act: np.ndarray, w: np.ndarray, opts: SolveOptions,
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

        _take(incol, s, wb, r, np.arange(P), opts.candidates)
        _take(incol, s, wb, r, teachers, opts.teachers)
        req = problem.required[rows]
        for k in np.nonzero(req.any(axis=0))[0]:
            _take(incol, s, wb, np.nonzero(req[:, k])[0], coverers[k], opts.per_discipline)
        incol[s:e] |= problem.current[rows] & elig
    # reverse candidates: each profile's best demands (capacity is what binds)
    if opts.per_profile > 0 and na:
        kk = min(na, opts.per_profile)
        for s in range(0, P, 4 * block):
            e = min(P, s + 4 * block)
            ok_cols = problem.capacity[s:e] > 0
            wb = np.where(~problem.forbidden[act, s:e] & ok_cols[None, :], w[act, s:e], -np.inf).T
            top = topk_cols(wb, kk)
            ok = np.isfinite(np.take_along_axis(wb, top, axis=1))
            pr = np.broadcast_to(np.arange(s, e)[:, None], top.shape)
            incol[top[ok], pr[ok]] = True
    pos = {int(d): i for i, d in enumerate(act)}
    for d, m in enumerate(seeds):
        if m.size and d in pos:
            incol[pos[d], m] = True
    return incol


def _take(incol: np.ndarray, s: int, wb: np.ndarray, rr: np.ndarray, cols: np.ndarray, k: int) -> None:
    """Mark the top-k ``cols`` of block rows ``rr`` (weights ``wb``, offset ``s``) as columns."""
    if cols.size == 0 or rr.size == 0:
        return
    top, val = topk_sub(wb[rr], cols, k)
    ok = np.isfinite(val)
    incol[s + np.broadcast_to(rr[:, None], top.shape)[ok], top[ok]] = True
