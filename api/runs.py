"""Batch reassignment runs in background threads.

A run is a row in ``assignment_runs`` created (and committed) before the 202
is sent; a worker thread then scores the demands, solves the team plan and
stores it.  The work does not depend on the HTTP connection, so it survives
the client going away.  ``progress`` goes 0 -> 1; any exception marks the run
``failed`` with its reason.  Runs found ``running`` at start-up (the process
died mid-run) are marked failed.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from xfd.api import crud
from xfd.api.crud.runs import utcnow
from xfd.api.crud.teams import default_semester, planned_demands
from xfd.api.engine import MatchEngine
from xfd.api.storage.models import AssignmentRun
from xfd.matching.registry import choose
from xfd.matching.types import Demand, Profile

log = logging.getLogger("xfd.runs")

#: (profiles, demands, scores (n_demands, n_profiles), required, solver, continuity_bonus) -> plan JSON
Planner = Callable[[Sequence[Profile], Sequence[Demand], np.ndarray, Sequence[tuple[str, ...]], str, float], dict[str, Any]]

EMPTY_PLAN: dict[str, Any] = {"objective": 0.0, "teams": [], "unassigned": [], "moves": []}


def default_planner(profiles, demands, scores, required, solver, continuity_bonus) -> dict[str, Any]:  # noqa: ANN001
    """``matching.assign.plan_teams`` then ``plan_to_json`` (imported lazily)."""
    from xfd.matching.assign import plan_teams, plan_to_json  # noqa: PLC0415

    plan = plan_teams(profiles, demands, scores, required, solver=solver, continuity_bonus=continuity_bonus)
    return plan_to_json(plan)


def check_solver(name: str) -> None:
    """Raise ``UnknownNameError`` (listing the valid names) for an unknown solver."""
    try:
        from xfd.matching.assign import SOLVERS  # noqa: PLC0415
    except ImportError:  # the solver module is optional for the fake planner in tests
        return
    choose("solver", name, SOLVERS)


def _np_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def jsonable(obj: Any) -> Any:
    """Plain JSON types only (numpy scalars and tuples converted)."""
    return json.loads(json.dumps(obj, default=_np_default, ensure_ascii=False))


def plan_for(engine: MatchEngine, planner: Planner, demands: Sequence[Demand], solver: str, bonus: float,
             progress: Callable[[float], None] = lambda _p: None) -> dict[str, Any]:
    """Score ``demands`` against every profile and solve one plan (JSON shape)."""
    if not demands:
        return dict(EMPTY_PLAN)
    profiles, scores, required = engine.score(demands)
    progress(0.6)
    if not profiles:
        return {**EMPTY_PLAN, "unassigned": [{"demand_id": d.id, "reason": "没有人员档案 no profiles stored"} for d in demands]}
    plan = planner(profiles, list(demands), scores, required, solver, bonus)
    return jsonable(plan)


class RunManager:
    """Starts runs and executes them on a small thread pool."""

    def __init__(self, sessions: sessionmaker[Session], engine: MatchEngine, planner: Planner,
                 solver: str = "exact", continuity_bonus: float = 0.1, workers: int = 1) -> None:
        self._sessions = sessions
        self._engine = engine
        self._planner = planner
        self._solver = solver
        self._bonus = continuity_bonus
        self._workers = workers
        self._recovered = False
        self._pool: ThreadPoolExecutor | None = None

    def open(self) -> None:
        """Start the worker pool (again, after ``close``)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="xfd-run")

    def recover(self) -> int:
        """Mark runs left ``running`` by a dead process as failed; returns how many.

        Only the first call does anything (a lifespan re-entered in the same
        process must not fail its own live runs)."""
        if self._recovered:
            return 0
        self._recovered = True
        with self._sessions() as s:
            return crud.fail_interrupted_runs(s)

    def start(self, session: Session, created_by: int | None, demand_ids: list[str] | None,
              solver: str | None, continuity_bonus: float | None, semester: str | None = None) -> AssignmentRun:
        """Create the run row, commit it, then queue the work. Returns the row.

        ``semester`` (default: the current one) is the semester whose teams accepting
        the run creates; each demand's team of an earlier semester is its continuity."""
        params = {
            "demand_ids": demand_ids,
            "solver": solver or self._solver,
            "continuity_bonus": self._bonus if continuity_bonus is None else float(continuity_bonus),
            "semester": semester or default_semester(),
        }
        run = crud.create_run(session, params, created_by)
        if self._pool is None:
            self.open()
        self._pool.submit(self._execute, run.id)
        return run

    def propose(self, demand: Demand, solver: str | None = None) -> dict[str, Any]:
        """A plan for one demand alone (synchronous; other demands' load is ignored)."""
        return plan_for(self._engine, self._planner, [demand], solver or self._solver, self._bonus)

    def _set(self, run_id: str, **values: Any) -> None:
        with self._sessions() as s:
            crud.set_run(s, run_id, **values)

    def _execute(self, run_id: str) -> None:
        try:
            with self._sessions() as s:
                run = s.get(AssignmentRun, run_id)
                if run is None:
                    return
                params = dict(run.params or {})
                demands = planned_demands(s, params.get("demand_ids"), params.get("semester") or default_semester())
            self._set(run_id, progress=0.1)
            plan = plan_for(self._engine, self._planner, demands, params["solver"], params["continuity_bonus"],
                            progress=lambda p: self._set(run_id, progress=p))
            self._set(run_id, status="done", progress=1.0, plan=plan, finished_at=utcnow())
        except Exception as exc:
            log.exception("assignment run %s failed", run_id)
            reason = f"{type(exc).__name__}: {exc}"[:2000]
            try:
                self._set(run_id, status="failed", reason=reason, finished_at=utcnow())
            except Exception:
                log.exception("could not mark run %s failed", run_id)

    def close(self, wait: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
