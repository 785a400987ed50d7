"""Choosing a team solver by name: ``exact`` (default), ``greedy``, ``lsa``.

Each solver lives in its own module (:mod:`xfd.matching.assign.exact`,
:mod:`~xfd.matching.assign.greedy`, :mod:`~xfd.matching.assign.lsa`; the
exact solver's min-cost-flow fast path in :mod:`~xfd.matching.assign.flow`);
options, stats and the solution type in :mod:`~xfd.matching.assign.options`.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xfd.matching.assign.exact import ExactSolver, solve_exact
from xfd.matching.assign.greedy import solve_greedy
from xfd.matching.assign.highs import LP_METHODS
from xfd.matching.assign.lsa import solve_lsa
from xfd.matching.assign.options import FAIRNESS_MODES, Solution, SolveOptions, SolvePath, SolveStats, SolveStatus
from xfd.matching.assign.problem import TeamProblem
from xfd.matching.registry import choose

__all__ = ["SOLVERS", "FAIRNESS_MODES", "solve", "SolveOptions", "Solution", "SolveStats", "SolveStatus",
           "SolvePath", "ExactSolver"]

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
    choose("LP method", opts.lp_method, LP_METHODS)
    for name in ("continuity_bonus", "jitter", "grade_bonus"):
        v = getattr(opts, name)
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number >= 0 but is {v!r}")
    return fn(problem, opts)
