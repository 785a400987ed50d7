"""Team formation for demands: encode -> solve -> decode.

``plan_teams`` is the public entry; see ``exact.py`` for the method (``solve.py``
chooses a solver by name) and
``../shared/INTERFACES.md`` (plan) for the contract.  Team-kind profiles are
not placed as members in v1 (capacity 0); teachers and students are.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xfd.matching.assign.check import Violation, check_plan
from xfd.matching.assign.encode import Index, drop_uncoverable_inferred, encode_problem
from xfd.matching.assign.options import FAIRNESS_MODES, Solution, SolveOptions, SolvePath, SolveStats, SolveStatus
from xfd.matching.assign.plan import (
    Member,
    Move,
    Plan,
    TeamPlan,
    Unassigned,
    decode_plan,
    plan_to_json,
    plan_xlsx_bytes,
    write_plan_xlsx,
)
from xfd.matching.assign.preflight import Preflight, preflight
from xfd.matching.assign.problem import TeamProblem
from xfd.matching.assign.solve import SOLVERS
from xfd.matching.assign.solve import solve as solve_problem
from xfd.matching.types import Demand, Profile

__all__ = [
    "plan_teams", "encode_problem", "drop_uncoverable_inferred", "solve_problem", "decode_plan", "plan_to_json", "plan_xlsx_bytes", "write_plan_xlsx",
    "check_plan", "preflight", "Plan", "TeamPlan", "Member", "Unassigned", "Move", "Index",
    "TeamProblem", "SolveOptions", "Solution", "SolveStats", "SolveStatus", "SolvePath", "Violation", "Preflight",
    "SOLVERS", "FAIRNESS_MODES",
]


def plan_teams(profiles: Sequence[Profile], demands: Sequence[Demand], scores: np.ndarray,
               required: Sequence[tuple[str, ...]], *, solver: str = "exact",
               continuity_bonus: float = 0.1, fairness: str = "sum", seed: int | None = None,
               jitter: float = 0.0, time_limit: float | None = None,
               grade_bonus: float = 0.0) -> Plan:
    """Staff as many demands as possible, then maximise the sum of member scores.

    ``scores`` (len(demands), len(profiles)) in [0, 1] are the scoring core's
    scores; ``required[i]`` the disciplines demand i must cover.  Each
    demand's ``team_size``, ``students`` and ``distinct_grades`` are hard
    bounds (see :class:`TeamProblem`).
    ``continuity_bonus`` is added per kept current member (reported apart from
    ``objective``); ``fairness="maxmin"`` first maximises the minimum team
    score (sum of member scores / size_max); ``jitter`` > 0 perturbs pair
    weights by at most ``jitter`` with ``seed``; ``grade_bonus`` (default 0) a
    reward per distinct student grade in a team, at the objective's expense; ``time_limit``
    in seconds (the incumbent and bound are reported when it is hit).
    Inferred disciplines (demand ``disciplines`` None) that no profile of the
    pool declares are not required; the plan lists them in
    ``dropped_disciplines`` with a warning line.
    """
    if len(required) != len(demands):
        raise ValueError(f"required has {len(required)} entries but there are {len(demands)} demands")
    required, dropped = drop_uncoverable_inferred(profiles, demands, required)
    problem, index = encode_problem(profiles, demands, scores, required)
    opts = SolveOptions(continuity_bonus=float(continuity_bonus), fairness=fairness, seed=seed,
                        jitter=float(jitter), grade_bonus=float(grade_bonus), time_limit=time_limit)
    pre = preflight(problem, index)
    sol = solve_problem(problem, solver, opts)
    return decode_plan(problem, index, sol, pre, continuity_bonus, dropped)
