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

import itertools

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
        self.rules = StudentRules(problem, act, self.r_gra + (4 * na if use_z else 0))
        self.r_fair = self.rules.r_end
        self.r_cnt = self.r_fair + (na if use_t else 0)
        self.n_rows = self.r_cnt + 2          # count >= count_min, count <= count_max
        self.smax = problem.size_max[act].astype(np.float64)
        self.smin = problem.size_min[act].astype(np.float64)

    def build(self, ca: np.ndarray, cp: np.ndarray, count_min: int | None,
              y_fixed: bool, count_max: int | None = None) -> tuple[sp.csc_matrix, np.ndarray, int]:
        """(A, b, number of variables) for x columns (ca, cp); ``count_min`` /
        ``count_max`` bound the number of staffed demands (unused when y is fixed)."""
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
        add(*self.rules.x_entries(ca, cp, xc))
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
        if count_max is not None and not y_fixed:
            add(np.full(na, self.r_cnt + 1), yc, 1.0)
        nv = nc + na
        if self.use_z:
            zc = nv + np.arange(4 * na)
            add(self.r_gra + np.arange(4 * na), zc, 1.0)
            nv += 4 * na
        for r, c, v in self.rules.other_entries(nc, nv):
            add(r, c, v)
        nv += self.rules.n_vars
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
        b[self.r_cnt + 1] = count_max if (count_max is not None and not y_fixed) else 0.0
        return A, b, nv

    def integer_vars(self, nc: int) -> np.ndarray:
        """Indices of the integral variables (x, y, the grade-branch u) for nc x columns."""
        u0 = nc + self.na + (4 * self.na if self.use_z else 0) + self.rules.n_z
        return np.concatenate([np.arange(nc + self.na), u0 + np.arange(self.rules.n_u)])

    def u_demands(self) -> np.ndarray:
        """Local demand index of each grade-branch variable u."""
        return self.rules.dM

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
            rc = rc - self.rules.price_terms(lam, s, e)
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


class StudentRules:
    """Rows and variables of the student bounds and the grade rule (hard constraints).

    Per active demand (local index a), with N = its students, D = its
    distinct grades 1..4, G = ``distinct_grades``, hi = min(students_max,
    size_max - 1):

    - students: ``N - students_max y <= 0`` and ``students_min y - N <= 0``;
    - grade rule D >= min(G, N), by case (none when trivially true: G = 0,
      hi = 0, or G = 1 with no eligible ungraded student):
      ``dA`` (hi <= G: every student of a distinct known grade): per grade
      ``N_g - y <= 0`` and ``N_0 <= 0`` (ungraded);
      ``dG`` (students_min >= G: at least G grades): for every set S of G - 1
      grades, ``y - (graded students of a grade outside S) <= 0`` (a cover
      form: no z needed, C(4, G - 1) rows);
      ``dM`` (otherwise, a binary u: u = 0 all distinct, u = 1 at least G):
      ``z_g - N_g <= 0``, ``N - sum z - (hi - G) u <= 0``,
      ``G u - sum z <= 0``, ``u - y <= 0``.
      z_g in [0, 1] are continuous (z_g <= min(1, N_g) makes sum z <= D).
    Rows start at ``r0``; variables (z, then u, of dM) follow the
    other variables of the model (offset passed in).
    """

    def __init__(self, problem: TeamProblem, act: np.ndarray, r0: int) -> None:
        self.pb, self.act = problem, act
        na = act.size
        self.stud = ~problem.is_teacher
        self.cls = np.where(self.stud, problem.grade, 0)    # 0 ungraded (or teacher), 1..4
        G = problem.distinct_grades[act].astype(np.int64)
        hi = np.minimum(problem.students_max, problem.size_max - 1)[act]
        lo = problem.students_min[act]
        ungraded = self.stud & (problem.grade == 0) & (problem.capacity > 0)
        has_ung = (~problem.forbidden[act] & ungraded[None, :]).any(axis=1) if na else np.zeros(0, bool)
        trivial = (G <= 0) | (hi <= 0) | ((G == 1) & ~has_ung)
        a_mask = ~trivial & (hi <= G)
        g_mask = ~trivial & ~a_mask & (lo >= G)
        m_mask = ~trivial & ~a_mask & ~g_mask
        self.G = G.astype(np.float64)
        self.bigM = np.maximum(hi - G, 0).astype(np.float64)
        self.smin = lo.astype(np.float64)
        self.smax = problem.students_max[act].astype(np.float64)
        self.dA, self.dG, self.dM = np.nonzero(a_mask)[0], np.nonzero(g_mask)[0], np.nonzero(m_mask)[0]
        self.dZ = self.dM
        # per local demand: its position in dA / dZ / dG / dM (-1 when absent)
        self.posA, self.posZ, self.posG, self.posM = (self._pos(d, na) for d in (self.dA, self.dZ, self.dG, self.dM))
        self.r_smax = r0
        self.r_smin = r0 + na
        self.r_A = self.r_smin + na                        # 5 per dA: grade 0..4
        self.r_Z = self.r_A + 5 * self.dA.size             # 4 per dZ: grade 1..4
        self.r_G = self.r_Z + 4 * self.dZ.size             # C(4, G - 1) per dG
        # cover rows of dG: demand (local), classes 0..4 counted (grades outside S)
        g_rows: list[int] = []
        g_mask5: list[list[bool]] = []
        for a in self.dG:
            for S in itertools.combinations(range(1, 5), int(G[a]) - 1):
                g_rows.append(int(a))
                g_mask5.append([c > 0 and c not in S for c in range(5)])
        self.g_dem = np.array(g_rows, dtype=np.int64)
        self.g_cls = np.array(g_mask5, dtype=bool).reshape(-1, 5)
        self.g_cnt = np.bincount(self.g_dem, minlength=na).astype(np.int64)
        self.g_start = np.concatenate([[0], np.cumsum(self.g_cnt)[:-1]]).astype(np.int64) if na else self.g_cnt
        self.r_M = self.r_G + self.g_dem.size              # 3 per dM: (A), (B), (C)
        self.r_end = self.r_M + 3 * self.dM.size
        self.n_z, self.n_u = 4 * self.dZ.size, self.dM.size
        self.n_vars = self.n_z + self.n_u

    @staticmethod
    def _pos(idx: np.ndarray, n: int) -> np.ndarray:
        pos = -np.ones(n, dtype=np.int64)
        pos[idx] = np.arange(idx.size)
        return pos

    def x_entries(self, ca: np.ndarray, cp: np.ndarray, xc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, columns, values) of the x columns (ca, cp) with variable indices xc."""
        R, C, V = [], [], []
        s = self.stud[cp]
        a, j, x = ca[s], cp[s], xc[s]
        c = self.cls[j]
        R += [self.r_smax + a, self.r_smin + a]
        C += [x, x]
        V += [np.ones(a.size), -np.ones(a.size)]
        pa = self.posA[a]
        k = pa >= 0
        R.append(self.r_A + 5 * pa[k] + c[k])
        C.append(x[k])
        V.append(np.ones(int(k.sum())))
        pz = self.posZ[a]
        k = (pz >= 0) & (c > 0)
        R.append(self.r_Z + 4 * pz[k] + c[k] - 1)
        C.append(x[k])
        V.append(-np.ones(int(k.sum())))
        if self.g_dem.size:
            cnt = self.g_cnt[a]
            xi = np.repeat(np.arange(a.size), cnt)
            ri = np.repeat(self.g_start[a], cnt) + (np.arange(xi.size) - np.repeat(np.cumsum(cnt) - cnt, cnt))
            keep = self.g_cls[ri, c[xi]]
            R.append(self.r_G + ri[keep])
            C.append(x[xi[keep]])
            V.append(-np.ones(int(keep.sum())))
        pm = self.posM[a]
        k = pm >= 0
        R.append(self.r_M + 3 * pm[k])
        C.append(x[k])
        V.append(np.ones(int(k.sum())))
        return np.concatenate(R), np.concatenate(C), np.concatenate(V)

    def other_entries(self, nc: int, v0: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Entries of y (columns nc + a) and of z, u (columns from v0)."""
        na = self.act.size
        a = np.arange(na)
        out = [(self.r_smax + a, nc + a, -self.smax), (self.r_smin + a, nc + a, self.smin)]
        if self.dA.size:
            rows = self.r_A + 5 * np.arange(self.dA.size)[:, None] + np.arange(1, 5)[None, :]
            out.append((rows.ravel(), np.repeat(nc + self.dA, 4), -np.ones(rows.size)))
        nz = self.dZ.size
        z = v0 + np.arange(4 * nz)                         # z of dZ[i], grade g: v0 + 4 i + g - 1
        out.append((self.r_Z + np.arange(4 * nz), z, np.ones(4 * nz)))
        if self.g_dem.size:
            out.append((self.r_G + np.arange(self.g_dem.size), nc + self.g_dem, np.ones(self.g_dem.size)))
        if self.dM.size:
            m = np.arange(self.dM.size)
            zi = self.posZ[self.dM]
            u = v0 + 4 * nz + m
            zcols = (v0 + 4 * zi[:, None] + np.arange(4)[None, :]).ravel()
            for off in (0, 1):   # (A) and (B): - sum z
                out.append((np.repeat(self.r_M + 3 * m + off, 4), zcols, -np.ones(zcols.size)))
            out.append((self.r_M + 3 * m, u, -self.bigM[self.dM]))
            out.append((self.r_M + 3 * m + 1, u, self.G[self.dM]))
            out.append((self.r_M + 3 * m + 2, u, np.ones(m.size)))
            out.append((self.r_M + 3 * m + 2, nc + self.dM, -np.ones(m.size)))
        return out

    def price_terms(self, lam: np.ndarray, s: int, e: int) -> np.ndarray:
        """(e - s, P) sum of (row coefficient x dual) over these rows for every
        pair of local demands s..e-1 (subtracted from the reduced cost)."""
        a = np.arange(s, e)
        sd = lam[self.r_smax + a] - lam[self.r_smin + a]             # every student
        cd = np.zeros((e - s, 5))                                    # by grade class 0..4
        pa = self.posA[a]
        k = pa >= 0
        if k.any():
            cd[k] += lam[self.r_A + 5 * pa[k][:, None] + np.arange(5)[None, :]]
        pz = self.posZ[a]
        k = pz >= 0
        if k.any():
            cd[k, 1:] -= lam[self.r_Z + 4 * pz[k][:, None] + np.arange(4)[None, :]]
        if self.g_dem.size:
            sel = (self.g_dem >= s) & (self.g_dem < e)
            if sel.any():
                np.subtract.at(cd, self.g_dem[sel] - s,
                               lam[self.r_G + np.nonzero(sel)[0]][:, None] * self.g_cls[sel])
        pm = self.posM[a]
        k = pm >= 0
        if k.any():
            sd[k] += lam[self.r_M + 3 * pm[k]]
        return (sd[:, None] + cd[:, self.cls]) * self.stud[None, :]


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
