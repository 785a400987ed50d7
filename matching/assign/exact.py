"""The exact solver: LSA incumbent, column generation on the LP relaxation,
lexicographic integer phases.

1. An LSA construction (:mod:`xfd.matching.assign.lsa`) gives a feasible
   incumbent and seeds the candidate columns.
2. Column generation on the LP relaxation of the full model
   (:mod:`xfd.matching.assign.lp_model`, HiGHS via :mod:`xfd.matching.assign.highs`):
   start from candidate columns (per demand: top overall, top teachers, top
   coverers of each required discipline, current members, the LSA team; per
   profile: its top demands); price *every* eligible (demand, profile) pair
   with the LP duals (numpy, in blocks of demands) and add the most improving
   ones; later rounds re-solve warm (``stats.warm_start``).  After each round,
   restricted LP value + the Lagrangian gain bounds the LP of the *full,
   unpruned* problem; rounds stop once that bound is within ``cg_tol``.  That
   bound is ``upper_bound``.
3. The integer solution on the generated columns, lexicographic
   (:class:`ExactSolver` methods): :meth:`~ExactSolver.staff_count` maximises
   the number of staffed demands (skipped when the LSA incumbent, or an
   attempt with every preflight-feasible demand forced staffed, succeeds),
   :meth:`~ExactSolver.fairness` (``fairness="maxmin"``) maximises the minimum
   team score, :meth:`~ExactSolver.sum_phase` maximises the sum of member
   scores + continuity bonus (+ optional jitter) with the earlier optima
   fixed, then a small grade-mix bonus as tie-break.  When the LP optimum is
   integral that is the answer, otherwise a MILP runs on the columns -- first
   with the demands whose LP teams are integral fixed (``lp_fix``; status
   ``lp_fixed``), then, if that fails, on everything.

Every phase result carries the columns its solution vector refers to, so a
result from an earlier phase decodes correctly after later phases added
columns.  With ``time_limit`` every phase gets what is left; the best
incumbent and the bound so far are returned.

Team score (for ``maxmin``): sum of member scores divided by ``size_max``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from xfd.matching.assign.common import eligible_mask, individually_feasible, pair_weights, plan_value, staffed_count
from xfd.matching.assign.flow import flow_applies, flow_solution, flow_teams
from xfd.matching.assign.greedy import grade_mix
from xfd.matching.assign.highs import LPResult, RestrictedLP, solve_milp
from xfd.matching.assign.lp_model import RestrictedModel, initial_columns
from xfd.matching.assign.lsa import lsa_construct
from xfd.matching.assign.options import LPStatus, Solution, SolveOptions, SolvePath, SolveStats, SolveStatus
from xfd.matching.assign.problem import TeamProblem

log = logging.getLogger(__name__)

#: phase names: objective of the phase's LP/MILP
PHASES = ("count", "fair", "sum")


@dataclass
class PhaseResult:
    """One lexicographic phase.

    ``bound``: a bound on the *full* LP in min form (None if no LP solved);
    ``feasible``: False when the restricted LP is infeasible; ``x`` the
    integer solution (None without one) over the columns ``ca`` (local
    demand index) / ``cp`` (profile column) it was solved on; ``status`` and
    ``dual_bound`` (min form) of that integer solve.
    """

    bound: float | None
    feasible: bool
    x: np.ndarray | None = None
    status: LPStatus = LPStatus.ERROR
    dual_bound: float | None = None
    ca: np.ndarray | None = None
    cp: np.ndarray | None = None

    def members(self, act: np.ndarray, n_demands: int) -> list[np.ndarray]:
        """Teams of this result (profile columns per demand row)."""
        out = [np.zeros(0, dtype=np.int64) for _ in range(n_demands)]
        if self.x is None:
            return out
        ca, cp = self.ca, self.cp
        on = self.x[:ca.size] > 0.5
        order = np.lexsort((cp[on], ca[on]))
        a_on, p_on = ca[on][order], cp[on][order]
        splits = np.searchsorted(a_on, np.arange(act.size + 1))
        for i in range(act.size):
            m = p_on[splits[i]:splits[i + 1]]
            if m.size:
                out[int(act[i])] = m.astype(np.int64)
        return out


def team_scores(problem: TeamProblem, members: list[np.ndarray]) -> list[float]:
    """Score of each staffed team: sum of member scores / size_max."""
    return [float(problem.scores[d, m].sum() / problem.size_max[d]) for d, m in enumerate(members) if m.size]


class ExactSolver:
    """State of one exact solve: the problem, its active demands, the candidate
    columns ``incol`` (na, P) bool, the two models (LP bound / MILP with the
    grade tie-break) and the stats.  Call :meth:`solve` once."""

    def __init__(self, problem: TeamProblem, opts: SolveOptions) -> None:
        self.t0 = time.perf_counter()
        self.pb = problem.validate()
        self.opts = opts
        self.deadline = None if opts.time_limit is None else self.t0 + float(opts.time_limit)
        self.st = SolveStats(solver="exact")
        self.w_true = pair_weights(problem, opts)
        self.act = np.nonzero(individually_feasible(problem))[0]
        self.st.active_demands = int(self.act.size)
        self.use_z = opts.grade_bonus > 0
        self.use_t = opts.fairness == "maxmin"
        self.w = self.w_true
        self._models: tuple[RestrictedModel, RestrictedModel] | None = None
        #: proven most demands staffable (rows Sum y <= count_max tighten the later LPs)
        self.count_max: int | None = None
        #: the exact sum optimum when known before the max-min phases (min-cost flow)
        self.sum_optimum: list[np.ndarray] | None = None
        self.incol = np.zeros((self.act.size, problem.n_profiles), dtype=bool)

    @property
    def model(self) -> RestrictedModel:
        """The LP model (bound on w.x); built on first use, with the tie-break weights."""
        return self._build_models()[0]

    @property
    def model_ip(self) -> RestrictedModel:
        """The MILP model (plus the grade-mix tie-break variables)."""
        return self._build_models()[1]

    def _build_models(self) -> tuple[RestrictedModel, RestrictedModel]:
        if self._models is None:
            if self.opts.tie_break > 0:   # break exact ties (degenerate LPs are slow); bound stays valid
                rng = np.random.default_rng(20260101)
                self.w = self.w_true + rng.random(self.w_true.shape) * self.opts.tie_break
            self._models = (RestrictedModel(self.pb, self.act, self.w, False, self.use_t),
                            RestrictedModel(self.pb, self.act, self.w, self.use_z, self.use_t))
        return self._models

    def seed_columns(self, seeds: list[np.ndarray]) -> None:
        """Initial candidate columns (see :func:`initial_columns`), with the teams
        ``seeds`` (profile columns per demand row, may be empty) among them."""
        self._build_models()
        self.incol = initial_columns(self.pb, self.act, self.w, self.opts, seeds)

    def complete(self) -> bool:
        """Every eligible (active demand, profile) pair is a column."""
        return int(self.incol.sum()) == int(eligible_mask(self.pb, self.act).sum())

    # ------------------------------------------------------------ time
    def remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return max(0.5, self.deadline - time.perf_counter())

    def expired(self) -> bool:
        return self.deadline is not None and time.perf_counter() >= self.deadline

    # ------------------------------------------------------------ model pieces
    def columns(self) -> tuple[np.ndarray, np.ndarray]:
        """Current columns: (local demand index, profile column), row-major order."""
        a, p = np.nonzero(self.incol)
        return a, p

    def objective(self, phase: str, nv: int, ca: np.ndarray, cp: np.ndarray, with_z: bool = False) -> np.ndarray:
        """(nv,) cost vector of ``phase`` (min form) for x columns (ca, cp)."""
        c = np.zeros(nv)
        nc, na = ca.size, self.act.size
        if phase == "count":
            c[nc:nc + na] = -1.0
        elif phase == "fair":
            c[nv - 1] = -1.0
        else:
            c[:nc] = -self.w[self.act[ca], cp]
            if with_z:
                c[nc + na:nc + na + 4 * na] = -self.opts.grade_bonus
        return c

    def var_bounds(self, nv: int, nc: int, y_fixed: bool, t_lb: float) -> tuple[np.ndarray, np.ndarray]:
        lb, ub = np.zeros(nv), np.ones(nv)
        if y_fixed:
            lb[nc:nc + self.act.size] = 1.0
        if self.use_t:
            lb[nv - 1] = t_lb
        return lb, ub

    def _load(self, phase: str, ca: np.ndarray, cp: np.ndarray, count_min: int | None,
              y_fixed: bool, t_lb: float) -> RestrictedLP:
        A, b, nv = self.model.build(ca, cp, count_min, y_fixed, self.count_max)
        lb, ub = self.var_bounds(nv, ca.size, y_fixed, t_lb)
        lp = RestrictedLP(self.pb.n_profiles)
        lp.load(A, b, self.objective(phase, nv, ca, cp), lb, ub, ca, cp, self.opts.lp_method)
        return lp

    # ------------------------------------------------------------ LP
    def column_generation(self, phase: str, count_min: int | None, y_fixed: bool,
                          t_lb: float) -> tuple[float | None, bool, tuple[LPResult, np.ndarray, np.ndarray] | None]:
        """Column generation on the LP relaxation of ``phase``.

        Returns (a valid bound on the *full* LP in min form -- restricted LP
        value minus the Lagrangian gain, best over rounds -- or None if no LP
        solved; False when the restricted LP is infeasible; the last LP result
        with the columns it was solved on).  Stops when the gain is within
        ``cg_tol`` (relative), when no column prices out, after ``max_rounds``
        or at the deadline.
        """
        best: float | None = None
        lp: RestrictedLP | None = None
        last = None
        new: tuple[np.ndarray, np.ndarray] | None = None
        try:
            for _ in range(self.opts.max_rounds):
                ca, cp = self.columns()
                if lp is not None and self.opts.warm_lp and new is not None:
                    A_n, _, nv_n = self.model.build(new[0], new[1], count_min, y_fixed, self.count_max)
                    n_new = new[0].size
                    lp.add(A_n[:, :n_new], self.objective(phase, nv_n, new[0], new[1])[:n_new], new[0], new[1])
                else:
                    if lp is not None:
                        self.st.warm_start |= lp.warm_solves > 0
                    lp = self._load(phase, ca, cp, count_min, y_fixed, t_lb)
                res = lp.solve(self.remaining())
                if res.status == LPStatus.ERROR and lp.warm_solves:
                    self.st.phases.append(f"{phase}: warm re-solve failed, cold solve")
                    self.st.warm_start = True
                    lp = self._load(phase, ca, cp, count_min, y_fixed, t_lb)
                    res = lp.solve(self.remaining())
                self.st.pricing_rounds += 1
                last = (res, ca, cp)
                if res.status != LPStatus.OPTIMAL:
                    return best, res.status != LPStatus.INFEASIBLE, last
                na_, np_, gain = self.model.price(res.duals, 1.0 if phase == "sum" else 0.0, self.incol,
                                                  per_demand=self.opts.per_round)
                bound = res.fun - gain
                best = bound if best is None else max(best, bound)
                log.debug("%s: %d columns, LP %.6f, %d priced in, gain %.3g, %.2f s", phase, ca.size, res.fun,
                          na_.size, gain, time.perf_counter() - self.t0)
                if na_.size == 0 or res.fun - best <= self.opts.cg_tol * max(1.0, abs(res.fun)):
                    return best, True, last
                self.incol[na_, np_] = True
                new = (na_, np_)
                if self.expired():
                    return best, True, last
            return best, True, last
        finally:
            if lp is not None:
                self.st.warm_start |= lp.warm_solves > 0

    # ------------------------------------------------------------ integer
    def run_milp(self, phase: str, count_min: int | None, y_fixed: bool, t_lb: float,
                 fix: tuple[np.ndarray, np.ndarray] | None = None) -> PhaseResult:
        """MILP of ``phase`` on the current columns (``fix``: (mask, values) of x fixed)."""
        ca, cp = self.columns()
        nc = ca.size
        A, b, nv = self.model_ip.build(ca, cp, count_min, y_fixed, self.count_max)
        c = self.objective(phase, nv, ca, cp, with_z=self.use_z)
        lb, ub = self.var_bounds(nv, nc, y_fixed, t_lb)
        if fix is not None:
            keep, val = fix
            lb[:nc][keep] = val
            ub[:nc][keep] = val
        integ = np.zeros(nv)
        integ[self.model_ip.integer_vars(nc)] = 1
        gap = self.opts.fair_gap if phase == "fair" else self.opts.mip_rel_gap
        if gap is None:
            gap = 1e-9 if int(eligible_mask(self.pb, self.act).sum()) <= 20_000 else 1e-5
        rl = self.remaining()
        if phase == "fair":
            rl = self.opts.fair_time_limit if rl is None else min(rl, self.opts.fair_time_limit)
        r = solve_milp(c, integ, lb, ub, A, b, gap, rl)
        log.debug("MILP %s fixed=%s status %s, %.2f s", phase, fix is not None, r.status.name,
                  time.perf_counter() - self.t0)
        return PhaseResult(None, True, r.x, r.status, r.dual_bound, ca, cp)

    def solve_phase(self, phase: str, count_min: int | None, y_fixed: bool, t_lb: float) -> PhaseResult:
        """Column generation, then the integer solution: the LP optimum itself
        when it is integral (common: the model is assignment-like), else the
        LP-fixed MILP, else the MILP on every column."""
        v, ok, last = self.column_generation(phase, count_min, y_fixed, t_lb)
        if not ok:
            return PhaseResult(v, False)
        ca, cp = self.columns()
        base = fallback = None
        if last is not None and last[0].status == LPStatus.OPTIMAL and last[1].size == ca.size:
            base = last[0]
            xi = base.x[self.model.integer_vars(ca.size)]
            if np.all(np.minimum(np.abs(xi), np.abs(1.0 - xi)) <= 1e-7):
                self.st.phases.append(f"{phase}: LP optimum integral")
                return PhaseResult(v, True, np.round(base.x, 9), LPStatus.OPTIMAL, base.fun, ca, cp)
        if base is not None and self.opts.lp_fix and self.act.size >= self.opts.lp_fix_min_demands:
            xi = base.x[:ca.size]
            frac = np.minimum(np.abs(xi), np.abs(1.0 - xi)) > 1e-7
            open_d = np.zeros(self.act.size, dtype=bool)
            open_d[ca[frac]] = True
            u = base.x[self.model.integer_vars(ca.size)[ca.size + self.act.size:]]
            open_d[self.model.u_demands()[np.minimum(np.abs(u), np.abs(1.0 - u)) > 1e-7]] = True
            if open_d.mean() <= 0.5:
                keep = ~open_d[ca]
                r = self.run_milp(phase, count_min, y_fixed, t_lb, fix=(keep, np.round(xi[keep])))
                if r.x is not None:
                    r.bound, r.status = v, LPStatus.LP_FIXED
                    if self._lp_fixed_good(phase, r, v):
                        self.st.phases.append(f"{phase}: LP-fixed MILP on {int(open_d.sum())} open demands")
                        return r
                    fallback = r
        r = self.run_milp(phase, count_min, y_fixed, t_lb)
        self.st.phases.append(f"{phase}: MILP status {r.status.name.lower()}")
        r.bound = v
        if fallback is not None and (r.x is None or self._phase_obj(phase, fallback) < self._phase_obj(phase, r)):
            self.st.phases.append(f"{phase}: the LP-fixed answer is better, kept")
            return fallback
        return r

    def _lp_fixed_good(self, phase: str, r: PhaseResult, v: float | None) -> bool:
        """Keep an LP-fixed answer: as many staffed as the LP bound allows (count),
        within ``lp_fix_gap`` of the LP bound (sum, fair)."""
        if v is None:
            return False
        obj = self._phase_obj(phase, r)
        if phase == "count":
            return -obj >= np.floor(-v + 1e-6) - 1e-9
        return obj - v <= self.opts.lp_fix_gap * max(1.0, abs(v))

    def _phase_obj(self, phase: str, r: PhaseResult) -> float:
        """Objective (min form, without the grade tie-break) of an integer answer."""
        return float(self.objective(phase, r.x.size, r.ca, r.cp) @ r.x)

    def decode(self, r: PhaseResult) -> list[np.ndarray]:
        return r.members(self.act, self.pb.n_demands)

    # ------------------------------------------------------------ phases
    def staff_count(self, incumbent: list[np.ndarray],
                    results: dict[str, PhaseResult]) -> tuple[int, bool, int | None, list[np.ndarray]]:
        """Phase 1: the most demands that can be staffed.

        Returns (Y staffed in the best plan found, y_fixed = every active
        demand staffed, proven upper bound on the count or None, incumbent).
        Stores the optimistic attempt (every active demand forced staffed) in
        ``results`` under its phase name, to be reused by the later phases.
        """
        n_act = int(self.act.size)
        inc_count = staffed_count(incumbent)
        if inc_count == n_act:
            return n_act, True, n_act, incumbent
        first = "fair" if self.use_t else "sum"
        r = self.solve_phase(first, None, True, 0.0)
        if r.x is not None:
            results[first] = r
            return n_act, True, n_act, incumbent
        if self.expired():
            self.st.phases.append("time limit before the staffing count was proven")
            return inc_count, inc_count == n_act, None, incumbent
        Y, cub = inc_count, n_act
        for _ in range(2):
            r = self.solve_phase("count", None, False, 0.0)
            cub = min(cub, int(np.floor(-r.bound + 1e-6))) if r.bound is not None else cub
            if r.x is not None:
                m1 = self.decode(r)
                if staffed_count(m1) > Y:
                    Y, incumbent = staffed_count(m1), m1
                if r.status == LPStatus.OPTIMAL and r.dual_bound is not None and self.complete():
                    cub = min(cub, int(np.floor(-r.dual_bound + 1e-6)))
            cub = max(cub, Y)
            if cub == Y or not self.complete_columns():
                break
        return Y, Y == n_act, cub, incumbent

    def _tol(self, bound: float) -> float:
        """How far an answer may sit from the LP bound before the columns are completed
        (column generation itself stops within ``cg_tol``)."""
        return 2.0 * max(self.opts.cg_tol, 1e-9) * max(1.0, abs(bound))

    def complete_columns(self, limit: int | None = None) -> bool:
        """Make every eligible pair a column when the batch has at most ``limit``
        (default ``full_columns_pairs``) of them, so the MILP's own bound is
        global; True when columns were added."""
        elig = eligible_mask(self.pb, self.act)
        n = int(elig.sum())
        if n > (self.opts.full_columns_pairs if limit is None else limit) or int(self.incol.sum()) == n:
            return False
        self.incol |= elig
        self.st.phases.append(f"every eligible pair a column ({n})")
        return True

    def min_team_score(self, members: list[np.ndarray], Y: int) -> float:
        """Smallest team score of a plan staffing >= Y demands (-1 otherwise)."""
        sc = team_scores(self.pb, members)
        return float(min(sc)) if sc and staffed_count(members) >= Y else -1.0

    def fairness(self, Y: int, count_min: int | None, y_fixed: bool, incumbent: list[np.ndarray],
                 results: dict[str, PhaseResult]) -> tuple[float, list[np.ndarray]]:
        """Phase 2 (maxmin): the largest minimum team score among plans staffing Y.

        Returns (floor t the sum phase must keep, incumbent); sets
        ``stats.min_team_score_bound`` (a proven upper bound on the floor).
        """
        # the plain sum optimum gives a floor the max-min phase must not go below
        if self.sum_optimum is not None:
            incumbent = self.sum_optimum
        else:
            r = self.solve_phase("sum", count_min, y_fixed, 0.0)
            if r.x is not None:
                cand = self.decode(r)
                if staffed_count(cand) >= Y:
                    incumbent = cand
        if "fair" not in results:
            results["fair"] = self.solve_phase("fair", count_min, y_fixed, 0.0)
        r = results["fair"]
        if (r.x is None or r.bound is None or self._phase_obj("fair", r) - r.bound > self._tol(r.bound)) \
                and self.complete_columns(limit=self.opts.full_columns_pairs // 40):
            r = results["fair"] = self.solve_phase("fair", count_min, y_fixed, 0.0)
        bounds = [-r.bound] if r.bound is not None else []
        if r.status == LPStatus.OPTIMAL and r.dual_bound is not None and self.complete():
            bounds.append(-r.dual_bound)   # every eligible pair is a column: the MILP bound is global
        self.st.min_team_score_bound = min(bounds) if bounds else None
        if r.x is not None:
            cand = self.decode(r)
            if self.min_team_score(cand, Y) > self.min_team_score(incumbent, Y):
                incumbent = cand
        t_lb = max(0.0, self.min_team_score(incumbent, Y) - 1e-9)   # never below what we already have
        if self.st.min_team_score_bound is not None:
            self.st.min_team_score_bound = max(self.st.min_team_score_bound, t_lb)
        self.st.phases.append(f"maxmin t={t_lb:.6f}")
        return t_lb, incumbent

    def sum_phase(self, Y: int, count_min: int | None, y_fixed: bool, t_lb: float,
                  incumbent: list[np.ndarray], results: dict[str, PhaseResult]
                  ) -> tuple[SolveStatus, float | None, list[np.ndarray]]:
        """Phase 3: the largest sum of weights with the earlier optima kept.

        Returns (status, upper bound on the value or None, incumbent).
        """
        if "sum" not in results and self.expired():
            return SolveStatus.TIME_LIMIT, None, incumbent
        r = results.get("sum") or self.solve_phase("sum", count_min, y_fixed, t_lb)
        if r.x is None or r.bound is None or r.status != LPStatus.OPTIMAL or \
                self._phase_obj("sum", r) - r.bound > self._tol(r.bound):
            if not self.expired() and self.complete_columns():
                r = self.solve_phase("sum", count_min, y_fixed, t_lb)
        self.st.lp_bound = None if r.bound is None else -r.bound
        status, ub = SolveStatus.TIME_LIMIT, self.st.lp_bound
        if r.x is not None:
            cand = self.decode(r)
            if staffed_count(cand) >= Y:
                incumbent = cand
            if r.status == LPStatus.OPTIMAL:
                status = SolveStatus.OPTIMAL
            elif r.status == LPStatus.LP_FIXED:
                status = SolveStatus.LP_FIXED
        # every eligible pair is a column: the MILP's own bound is a bound on the full problem
        if self.complete() and r.status == LPStatus.OPTIMAL and r.dual_bound is not None:
            ub = -r.dual_bound if ub is None else min(ub, -r.dual_bound)
        return status, ub, incumbent

    # ------------------------------------------------------------ driver
    def solve(self) -> Solution:
        pb, st, opts = self.pb, self.st, self.opts
        if self.act.size == 0:
            st.optimal, st.status, st.count_upper_bound = True, SolveStatus.OPTIMAL, 0
            st.seconds = time.perf_counter() - self.t0
            return Solution([np.zeros(0, dtype=np.int64) for _ in range(pb.n_demands)], 0.0, 0.0, st)
        inc = None
        if opts.flow and flow_applies(pb):
            inc = flow_teams(pb, self.w_true, self.act)
            if inc is None:
                st.phases.append("min-cost flow: not every demand can be staffed, general path")
            elif not self.use_t:
                sol = flow_solution(pb, self.w_true, self.act, inc, st)
                st.seconds = time.perf_counter() - self.t0
                return sol
            else:
                st.phases.append("min-cost flow: sum optimum seeds the max-min phases")
                self.sum_optimum = inc
        st.path = SolvePath.COLUMN_GENERATION
        self._build_models()
        if inc is None:
            inc = lsa_construct(pb, self.w, np.isin(np.arange(pb.n_demands), self.act))
            st.phases.append(f"lsa staffed {staffed_count(inc)} / {self.act.size}")
        self.seed_columns(inc)
        results: dict[str, PhaseResult] = {}
        Y, y_fixed, cub, incumbent = self.staff_count(inc, results)
        st.count_upper_bound = cub
        st.phases.append(f"staffed {Y} (bound {cub})")
        self.count_max = None if (y_fixed or cub is None) else cub
        count_min = None if y_fixed else Y
        t_lb = 0.0
        if self.use_t:
            t_lb, incumbent = self.fairness(Y, count_min, y_fixed, incumbent, results)
            results.pop("sum", None)   # the sum phase runs again under the max-min floor
        status, ub, incumbent = self.sum_phase(Y, count_min, y_fixed, t_lb, incumbent, results)
        return self.finish(incumbent, status, ub, cub)

    def finish(self, incumbent: list[np.ndarray], status: SolveStatus, ub: float | None,
               cub: int | None) -> Solution:
        """Grade-mix post-pass, value, optimality flag and stats."""
        pb, st, gb = self.pb, self.st, self.opts.grade_bonus
        st.columns = int(self.incol.sum())
        if gb > 0:
            incumbent, n_swaps = grade_mix(pb, self.w_true, incumbent, gb)
            if n_swaps:
                st.phases.append(f"grade mix: {n_swaps} swaps")
        value = plan_value(pb, self.w_true, incumbent, 0.0)
        st.grade_bonus = plan_value(pb, self.w_true, incumbent, gb) - value if gb else 0.0
        st.staffed = staffed_count(incumbent)
        if ub is not None:
            ub = max(ub, value)
        st.optimal = (status == SolveStatus.OPTIMAL and cub is not None and cub == st.staffed
                      and ub is not None and ub - value <= 1e-6 * max(1.0, abs(ub)))
        st.status = status
        if self.use_t:
            sc = team_scores(pb, incumbent)
            st.min_team_score = float(min(sc)) if sc else None
        st.seconds = time.perf_counter() - self.t0
        return Solution(incumbent, value, ub, st)


def solve_exact(problem: TeamProblem, opts: SolveOptions) -> Solution:
    """LSA incumbent + column generation + lexicographic MILP (see module doc)."""
    return ExactSolver(problem, opts).solve()
