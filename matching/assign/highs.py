"""HiGHS through its public Python bindings (``highspy``): the restricted LP of
column generation kept in one instance and re-solved warm, and the MILP.

``highspy`` is a hard dependency: when it is missing, importing this module
fails (never a silent switch to a slower path).
"""
from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from xfd.matching.assign.options import LPStatus

#: ``SolveOptions.lp_method`` -> HiGHS ``solver`` option
LP_METHODS: dict[str, str] = {"highs-ipm": "ipm", "highs-ds": "simplex", "highs": "choose"}

_banner_lock = threading.Lock()
_banner_done = False
#: HiGHS ``threads`` option of every new instance (None: HiGHS's own default); see ``set_threads``
_threads: int | None = None


def set_threads(n: int | None) -> None:
    """Use ``n`` threads (>= 1) in every HiGHS instance created from now on in this process
    (a run worker process sets 1, leaving the cores to the HTTP server); None: HiGHS's default."""
    global _threads
    if n is not None and n < 1:
        raise ValueError(f"HiGHS threads must be >= 1 (or None), got {n}")
    _threads = n


def new_highs() -> highspy.Highs:
    """A quiet ``highspy.Highs``.  HiGHS prints its banner on C-level stdout
    when the first instance of a process is created; that one line goes to
    stderr instead, so ``xfd`` commands keep stdout for their own output."""
    global _banner_done
    with _banner_lock:
        if _banner_done:
            h = highspy.Highs()
        else:
            sys.stdout.flush()
            saved = os.dup(1)
            try:
                os.dup2(2, 1)
                h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
            _banner_done = True
    h.setOptionValue("output_flag", False)
    if _threads is not None:
        h.setOptionValue("threads", _threads)
    return h


@dataclass
class LPResult:
    """One LP solve: ``x`` in canonical column order (see :class:`RestrictedLP`),
    ``fun`` the minimised objective, ``duals`` (n_rows,) row duals (<= 0 for
    the ``<=`` rows of a minimisation); None unless ``status`` is OPTIMAL."""

    status: LPStatus
    x: np.ndarray | None = None
    fun: float | None = None
    duals: np.ndarray | None = None


@dataclass
class MilpResult:
    """One MILP solve: ``x`` the incumbent (None without one), ``status``
    OPTIMAL (within the gap), LIMIT, INFEASIBLE or ERROR; ``dual_bound`` the
    proven bound of the minimisation (None when unknown)."""

    status: LPStatus
    x: np.ndarray | None
    dual_bound: float | None


def _status(ms: highspy.HighsModelStatus) -> LPStatus:
    if ms == highspy.HighsModelStatus.kOptimal:
        return LPStatus.OPTIMAL
    if ms == highspy.HighsModelStatus.kInfeasible:
        return LPStatus.INFEASIBLE
    if ms in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kIterationLimit):
        return LPStatus.LIMIT
    return LPStatus.ERROR


class RestrictedLP:
    """min c.v s.t. A v <= b, lb <= v <= ub in one HiGHS instance.

    Column generation only ever adds x columns, so the previous optimal basis
    stays primal feasible and each re-solve is a short warm-started primal
    simplex run.  HiGHS variable order is [initial x columns, other variables
    (y, z, t), x columns added later]; :meth:`solve` maps the solution back to
    the canonical order: x in row-major (demand, profile) order -- the order
    of ``np.nonzero(incol)`` -- then the other variables.  ``warm_solves``
    counts re-solves that started from a previous basis.
    """

    def __init__(self, n_profiles: int) -> None:
        self.P = n_profiles
        self.h: highspy.Highs | None = None
        self.warm_solves = 0

    def load(self, A: sp.csc_matrix, b: np.ndarray, c: np.ndarray, lb: np.ndarray,
             ub: np.ndarray, ca: np.ndarray, cp: np.ndarray, method: str) -> None:
        """The first restricted LP; its first ``ca.size`` variables are the x columns."""
        A = sp.csc_matrix(A)
        A.sort_indices()
        nr, nv = A.shape
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = nv, nr
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = nv, nr
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.col_cost_ = np.asarray(c, dtype=np.float64)
        lp.col_lower_ = np.asarray(lb, dtype=np.float64)
        lp.col_upper_ = np.asarray(ub, dtype=np.float64)
        lp.row_lower_ = np.full(nr, -highspy.kHighsInf)
        lp.row_upper_ = np.asarray(b, dtype=np.float64)
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(np.float64)
        h = new_highs()
        h.setOptionValue("presolve", "off")
        h.setOptionValue("solver", LP_METHODS[method])
        if h.passModel(lp) == highspy.HighsStatus.kError:
            raise RuntimeError(f"HiGHS rejected the restricted LP ({nr} rows, {nv} columns)")
        self.h = h
        nc = ca.size
        self.nv0, self.nc0 = nv, nc
        self.keys = [ca.astype(np.int64) * self.P + cp]
        self.hidx = [np.arange(nc, dtype=np.int64)]
        self.n_cols = nv
        self.solved = False

    def add(self, A_new: sp.csc_matrix, c_new: np.ndarray, ca: np.ndarray, cp: np.ndarray) -> None:
        """Append x columns (binary bounds [0, 1]) for pairs (ca, cp)."""
        A_new = sp.csc_matrix(A_new)
        A_new.sort_indices()
        n = A_new.shape[1]
        if n == 0:
            return
        st = self.h.addCols(n, np.asarray(c_new, dtype=np.float64), np.zeros(n), np.ones(n),
                            int(A_new.nnz), A_new.indptr[:-1].astype(np.int32),
                            A_new.indices.astype(np.int32), A_new.data.astype(np.float64))
        if st == highspy.HighsStatus.kError:
            raise RuntimeError(f"HiGHS rejected {n} new columns")
        self.keys.append(ca.astype(np.int64) * self.P + cp)
        self.hidx.append(self.n_cols + np.arange(n, dtype=np.int64))
        self.n_cols += n

    def solve(self, time_limit: float | None) -> LPResult:
        """Solve (warm from the last basis after the first solve)."""
        h = self.h
        if self.solved:
            # new columns keep the basis primal feasible: primal simplex
            # continues from it (dual simplex would first repair dual feasibility)
            h.setOptionValue("solver", "simplex")
            h.setOptionValue("simplex_strategy", 4)
            self.warm_solves += 1
        h.setOptionValue("time_limit", float(time_limit) if time_limit is not None else highspy.kHighsInf)
        h.run()
        self.solved = True
        status = _status(h.getModelStatus())
        if status != LPStatus.OPTIMAL:
            return LPResult(status)
        sol = h.getSolution()
        xv = np.asarray(sol.col_value, dtype=np.float64)
        keys = np.concatenate(self.keys)
        hidx = np.concatenate(self.hidx)
        order = np.argsort(keys, kind="stable")
        x = np.concatenate([xv[hidx[order]], xv[self.nc0:self.nv0]])
        return LPResult(LPStatus.OPTIMAL, x, float(h.getInfo().objective_function_value),
                        np.asarray(sol.row_dual, dtype=np.float64))


def solve_milp(c: np.ndarray, integrality: np.ndarray, lb: np.ndarray, ub: np.ndarray,
               A: sp.csc_matrix, b: np.ndarray, gap: float, time_limit: float | None) -> MilpResult:
    """min c.v s.t. A v <= b, lb <= v <= ub, v integral where ``integrality`` is 1
    (HiGHS branch and cut through ``scipy.optimize.milp``, presolve on)."""
    opt: dict = {"mip_rel_gap": gap, "presolve": True}
    if time_limit is not None:
        opt["time_limit"] = time_limit
    res = milp(c, integrality=integrality, bounds=Bounds(lb, ub),
               constraints=LinearConstraint(A, -np.inf, b), options=opt)
    status = {0: LPStatus.OPTIMAL, 1: LPStatus.LIMIT, 2: LPStatus.INFEASIBLE}.get(res.status, LPStatus.ERROR)
    bound = getattr(res, "mip_dual_bound", None)
    return MilpResult(status, res.x, None if bound is None else float(bound))
