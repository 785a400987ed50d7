"""Options, statuses, stats and the solution of the team solvers (data only).

Every solver (:mod:`greedy`, :mod:`lsa`, :mod:`exact`, :mod:`flow`) takes a
:class:`~xfd.matching.assign.problem.TeamProblem` and :class:`SolveOptions`
and returns a :class:`Solution`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum

import numpy as np

FAIRNESS_MODES: tuple[str, ...] = ("sum", "maxmin")


class SolveStatus(str, Enum):
    """How far a solver got (``stats.status``; a ``str`` so it serialises as text)."""

    OPTIMAL = "optimal"          #: proven optimal on the generated columns, bound on the full problem
    LP_FIXED = "lp_fixed"        #: MILP with the LP-integral demands fixed (gap still reported)
    TIME_LIMIT = "time_limit"    #: incumbent and bound at the time limit
    HEURISTIC = "heuristic"      #: greedy / lsa: no optimality claim

    def __str__(self) -> str:
        return self.value


class LPStatus(IntEnum):
    """Outcome of one LP or MILP solve (HiGHS model status, condensed)."""

    OPTIMAL = 0
    LIMIT = 1        #: time or iteration limit; a MILP may still carry an incumbent
    INFEASIBLE = 2
    LP_FIXED = 3     #: a MILP solved with part of its columns fixed from the LP
    ERROR = 4


class SolvePath(str, Enum):
    """Which algorithm the exact solver used (``stats.path``)."""

    COLUMN_GENERATION = "column_generation"   #: LP column generation + lexicographic MILP
    MIN_COST_FLOW = "min_cost_flow"           #: no side constraints: integer min-cost flow
    NONE = ""                                 #: greedy / lsa / nothing to solve

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class SolveOptions:
    """Knobs of the solvers.

    - ``continuity_bonus`` >= 0 is added to the weight of a (demand, current
      member) pair.
    - ``grade_bonus`` >= 0: reward per distinct student grade per team
      (post-pass swaps costing at most this much each, see
      :func:`xfd.matching.assign.greedy.grade_mix`).  0 by default: any bonus
      trades plan objective for grade mix, and the plan contract maximises the
      objective (``distinct_grades`` is the hard rule for mixed years).
    - ``jitter`` >= 0 perturbs each pair's weight by U[0, jitter) drawn from
      ``seed`` (varied choice among near-equal teams).
    - ``time_limit`` in seconds (None: no limit).
    - ``candidates``, ``teachers``, ``per_discipline`` (per demand) and
      ``per_profile`` (per profile): initial candidate columns; column
      generation adds up to ``per_round`` columns per demand and round, for at
      most ``max_rounds`` rounds, and stops when the Lagrangian bound is within
      ``cg_tol`` (relative) of the restricted LP (1e-7: at 1e-4 a batch of 100
      demands stopped 0.017 below the optimum over every pair; ``assign_bench.py``
      2000 demands: 12.0 s and gap 6.4e-7 against 10.6 s and 2.6e-5 at 1e-4).
    - ``tie_break``: the exact solver adds a fixed pseudo-random
      U[0, tie_break) to each pair's weight so tied scores do not make the LP
      degenerate (slow); the plan may lose at most tie_break per member
      against the exact optimum (0 for exact arithmetic); bounds stay valid.
    - ``mip_rel_gap``: HiGHS relative gap at which a MILP phase stops (None:
      1e-9 on batches of at most 20,000 eligible pairs, 1e-5 beyond -- the
      student and grade rules make large MILPs slow to close the last 1e-5);
      ``fair_gap`` / ``fair_time_limit`` for the max-min phase (its best floor
      and its proven bound are reported).
    - ``lp_fix``: when the LP optimum is fractional and the batch has at least
      ``lp_fix_min_demands`` active demands, first solve the MILP with the
      demands whose LP teams are integral fixed; that answer is kept when it
      staffs as many demands as the LP bound allows and its value is within
      ``lp_fix_gap`` (relative) of the LP bound, else the MILP runs on every
      column (smaller batches always take the full MILP: exact).
    - ``full_columns_pairs``: when a phase's integer answer is not proven
      optimal against the LP bound and the batch has at most this many
      eligible pairs, every pair becomes a column and the phase runs again
      (its MILP bound is then global: exact on small and medium batches); for
      the max-min phase, whose MILP is slow, only up to 1/40 of that.
    - ``lp_method``: HiGHS method of the first LP of each column-generation run
      (``highs-ipm``, ``highs-ds`` or ``highs``).
    - ``warm_lp``: keep the restricted LP in one HiGHS instance and re-solve
      after adding columns with primal simplex from the previous basis;
      off: every round is a cold solve (``stats.warm_start`` says which ran).
    - ``flow``: let the exact solver use integer min-cost flow when the batch
      has no side constraints (``stats.path``); off: always column generation.
    """

    continuity_bonus: float = 0.1
    fairness: str = "sum"
    seed: int | None = None
    jitter: float = 0.0
    grade_bonus: float = 0.0
    time_limit: float | None = None
    candidates: int = 8
    per_discipline: int = 4
    teachers: int = 4
    mip_rel_gap: float | None = None
    max_rounds: int = 30
    per_round: int = 8
    per_profile: int = 6
    cg_tol: float = 1e-7
    fair_gap: float = 1e-3
    fair_time_limit: float = 10.0
    lp_fix: bool = True
    lp_fix_min_demands: int = 200
    lp_fix_gap: float = 1e-3
    full_columns_pairs: int = 20_000
    tie_break: float = 1e-6
    lp_method: str = "highs-ipm"
    warm_lp: bool = True
    flow: bool = True


@dataclass
class SolveStats:
    """What the solver did.  Times in seconds.

    ``warm_start`` is True when at least one restricted LP was re-solved from
    the previous basis (the column-generation speed-up); ``path`` which
    algorithm the exact solver used.
    """

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
    status: SolveStatus = SolveStatus.HEURISTIC
    phases: list[str] = field(default_factory=list)
    warm_start: bool = False
    path: SolvePath = SolvePath.NONE


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
