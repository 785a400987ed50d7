"""Batch reassignment runs: queued in the database, executed by workers.

``RunManager.start`` (the HTTP side) only creates the ``queued`` row and commits it
before the 202 is sent.  A ``RunWorker`` — a thread of the service process
(``create_app(run_threads=1)``, the default: tests and single-process use) or a
separate niced process (``xfd worker``, started by ``xfd serve``) — claims queued
runs from the database (``xfd.api.crud.runs.claim_run``: exactly one claimer per
run, whatever the number of instances), keeps its lease with a heartbeat thread,
scores the demands in batches, solves the plan and stores it.  Between phases
(each scoring batch, before solving, before storing) it checks for a cancel and
for a lost lease and stops.  With ``isolate`` (``xfd worker`` sets it) the plan is solved in a
forked child process while the worker keeps checking every ``SOLVE_POLL`` seconds; a cancel, a
lost lease or a shutdown kills the child, so a cancel takes effect during a long HiGHS solve
instead of after it (:func:`solve_isolated`).  ``progress`` goes 0 -> 0.1 (claimed) -> 0.6 (scored)
-> 0.9 (solved) -> 1; any exception marks the run ``failed`` with its reason.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import pickle
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from xfd.api import crud
from xfd.api.crud import runs as run_queue
from xfd.api.crud.teams import default_semester, planned_demands
from xfd.api.engine import MatchEngine
from xfd.api.storage.models import AssignmentRun
from xfd.matching.registry import choose
from xfd.matching.types import Demand, Profile

log = logging.getLogger("xfd.runs")

#: (profiles, demands, scores (n_demands, n_profiles), required, solver, continuity_bonus) -> plan JSON
Planner = Callable[[Sequence[Profile], Sequence[Demand], np.ndarray, Sequence[tuple[str, ...]], str, float], dict[str, Any]]
#: called with (run id, phase name) at every phase boundary, before the cancel check (tests hook in here)
PhaseHook = Callable[[str, str], None]

EMPTY_PLAN: dict[str, Any] = {"objective": 0.0, "teams": [], "unassigned": [], "moves": []}
#: progress reported at the phase boundaries
CLAIMED, SCORED, SOLVED = 0.1, 0.6, 0.9
#: seconds between two cancel / lease / shutdown checks while an isolated solve runs
SOLVE_POLL = 0.5


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


def plan_from_scores(planner: Planner, profiles: Sequence[Profile], demands: Sequence[Demand], scores: np.ndarray,
                     required: Sequence[tuple[str, ...]], solver: str, bonus: float) -> dict[str, Any]:
    """One plan (JSON shape) from ``scores`` (n_demands, n_profiles); no demands or no profiles need no solver."""
    if not demands:
        return dict(EMPTY_PLAN)
    if not profiles:
        return {**EMPTY_PLAN, "unassigned": [{"demand_id": d.id, "reason": "没有人员档案 no profiles stored"} for d in demands]}
    return jsonable(planner(list(profiles), list(demands), scores, required, solver, bonus))


def plan_for(engine: MatchEngine, planner: Planner, demands: Sequence[Demand], solver: str, bonus: float,
             used: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Score ``demands`` against every profile and solve one plan (JSON shape), synchronously;
    ``used[id]`` (teams the profile already serves outside these demands) is taken off its capacity."""
    if not demands:
        return dict(EMPTY_PLAN)
    profiles, scores, required = engine.score(demands)
    if used:
        from xfd.matching.assign.team_check import with_capacity_left  # noqa: PLC0415  (optional for fake planners)

        profiles = with_capacity_left(profiles, used)
    return plan_from_scores(planner, profiles, demands, scores, required, solver, bonus)


def worker_id() -> str:
    """``host:pid:hex`` — unique per worker (several workers may share a process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


#: reason of a run whose worker was stopped (SIGTERM, service shutdown) part-way
SHUTDOWN = "执行进程已停止，任务中断 the worker was stopped (shutdown) before the run finished; start it again"


class Stopped(Exception):
    """The run stops at a phase boundary: ``kind`` is ``cancelled`` (the office asked), ``lost``
    (the lease is gone: another process failed the run) or ``shutdown`` (this worker is stopping)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _solve_child(solve: Callable[[], dict[str, Any]], send: Any) -> None:
    """In the forked child: ``(True, plan)`` or ``(False, exception)`` down the pipe."""
    try:
        result: tuple[bool, Any] = (True, solve())
    except Exception as exc:  # noqa: BLE001  (process boundary: the parent re-raises it)
        try:
            pickle.dumps(exc)
            result = (False, exc)
        except Exception:  # noqa: BLE001  (an exception that does not pickle travels as text)
            result = (False, RuntimeError(f"{type(exc).__name__}: {exc}"))
    send.send(result)
    send.close()


def solve_isolated(solve: Callable[[], dict[str, Any]], should_stop: Callable[[], str | None],
                   poll: float = SOLVE_POLL) -> dict[str, Any]:
    """``solve()`` in a forked child process (its inputs are inherited, not copied; the plan comes
    back pickled), calling ``should_stop`` every ``poll`` seconds meanwhile: a kind it returns
    (``cancelled``, ``lost``, ``shutdown``) kills the child and raises ``Stopped(kind)``.  An
    exception in ``solve`` is raised here; a child that dies without an answer raises RuntimeError."""
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_solve_child, args=(solve, send), name="xfd-solve", daemon=True)
    proc.start()
    send.close()
    try:
        while not recv.poll(poll):
            if not proc.is_alive() and not recv.poll(0):
                raise RuntimeError(f"求解进程意外退出 the solver process exited ({proc.exitcode}) without a plan")
            kind = should_stop()
            if kind is not None:
                raise Stopped(kind)
        try:
            ok, value = recv.recv()
        except EOFError:
            proc.join(5)
            raise RuntimeError(f"求解进程意外退出 the solver process exited ({proc.exitcode}) without a plan") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        recv.close()
    if ok:
        return value
    raise value


class Heartbeat:
    """A daemon thread renewing ``owner``'s lease on one run every ``interval`` seconds;
    ``lost`` turns True once a renewal finds the run no longer the owner's."""

    def __init__(self, sessions: sessionmaker[Session], run_id: str, owner: str, interval: float) -> None:
        self._sessions, self._run_id, self._owner, self._interval = sessions, run_id, owner, interval
        self._stop = threading.Event()
        self.lost = False
        self._thread = threading.Thread(target=self._loop, name=f"xfd-heartbeat-{run_id[:8]}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                with self._sessions() as s:
                    if not run_queue.heartbeat_run(s, self._run_id, self._owner):
                        self.lost = True
                        return
            except Exception:  # a database hiccup: the next beat retries; the lease covers several beats
                log.warning("heartbeat of run %s failed", self._run_id, exc_info=True)


class RunWorker:
    """Claims queued runs from the database and executes them, one at a time.

    ``engine`` scores (the service's own engine in thread mode, a private one in a worker
    process; either follows the shared version counter, so a run scores the database's current
    profiles with the active calibration).  ``lease`` and ``heartbeat`` are seconds;
    ``score_batch`` demands are scored between two cancel checks; ``on_phase`` is called at
    every phase boundary (tests); ``isolate``: solve each plan in a forked child process that a
    cancel, a lost lease or a shutdown kills (:func:`solve_isolated`; the planner's side effects
    stay in the child)."""

    def __init__(self, sessions: sessionmaker[Session], engine: MatchEngine, planner: Planner, *,
                 owner: str | None = None, lease: float = 60.0, heartbeat: float = 5.0, poll: float = 1.0,
                 score_batch: int = 200, on_phase: PhaseHook | None = None, isolate: bool = False) -> None:
        if not 0 < heartbeat < lease:
            raise ValueError(f"heartbeat ({heartbeat} s) must be positive and shorter than the lease ({lease} s)")
        if score_batch < 1:
            raise ValueError(f"score_batch must be >= 1, got {score_batch}")
        self.owner = owner or worker_id()
        self._sessions, self._engine, self._planner = sessions, engine, planner
        self.lease, self.heartbeat, self.poll, self.score_batch = lease, heartbeat, poll, score_batch
        self._on_phase = on_phase
        self.isolate = isolate            # solve in a forked child, killed on a cancel (module doc)
        self._wake = threading.Event()
        #: set to stop: ``serve`` returns, a run in progress stops at its next phase boundary
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.executed: list[str] = []     # ids of the runs this worker claimed, in order
        self._next_expiry = 0.0           # monotonic time of the next expire_leases

    # -- loop -----------------------------------------------------------------------------
    def run_once(self) -> str | None:
        """Fail expired leases (at most every ``heartbeat`` s), claim the oldest queued run and execute
        it; its id, or None when none was queued."""
        with self._sessions() as s:
            if time.monotonic() >= self._next_expiry:
                self._next_expiry = time.monotonic() + self.heartbeat
                expired = run_queue.expire_leases(s, self.lease)
                if expired:
                    log.warning("%d assignment run(s) failed: their worker stopped answering", expired)
            run = run_queue.claim_run(s, self.owner)
        if run is None:
            return None
        log.info("assignment run %s claimed by %s", run.id, self.owner)
        self.executed.append(run.id)
        self.execute(run)
        return run.id

    def serve(self) -> None:
        """Claim and execute runs until ``stopping`` is set (waits ``poll`` s, or a ``wake``, when idle)."""
        while not self.stopping.is_set():
            try:
                if self.run_once() is not None:
                    continue
            except Exception:  # the database is away: log, wait, retry (runs stay queued meanwhile)
                log.exception("claiming assignment runs failed")
            self._wake.wait(self.poll)
            self._wake.clear()

    def wake(self) -> None:
        """A run was queued by this process: look now instead of at the next poll."""
        self._wake.set()

    def start_thread(self) -> None:
        """Serve in a daemon thread of this process (``stop_thread`` ends it)."""
        if self._thread is None or not self._thread.is_alive():
            self.stopping.clear()
            self._thread = threading.Thread(target=self.serve, name="xfd-run-worker", daemon=True)
            self._thread.start()

    def stop_thread(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    # -- one run --------------------------------------------------------------------------
    def _checkpoint(self, run_id: str, beat: Heartbeat, phase: str, progress: float) -> None:
        """Phase boundary: hook, then stop on a cancel, a lost lease or a shutdown, else record progress."""
        if self._on_phase is not None:
            self._on_phase(run_id, phase)
        with self._sessions() as s:
            if run_queue.cancel_requested(s, run_id):
                raise Stopped("cancelled")
            if beat.lost or not run_queue.set_run_progress(s, run_id, self.owner, progress, phase):
                raise Stopped("lost")
        if self.stopping.is_set():
            raise Stopped("shutdown")

    def _stop_kind(self, run_id: str, beat: Heartbeat) -> str | None:
        """What should stop the run now (``cancelled``, ``lost``, ``shutdown``), None to go on."""
        if self.stopping.is_set():
            return "shutdown"
        if beat.lost:
            return "lost"
        with self._sessions() as s:
            return "cancelled" if run_queue.cancel_requested(s, run_id) else None

    def _score(self, run_id: str, beat: Heartbeat, demands: list[Demand]):  # noqa: ANN202
        """``(profiles, scores (n_demands, n_profiles), required)`` in batches of ``score_batch`` demands,
        a checkpoint before each; restarts when the index changed between batches (other profile ids)."""
        for _attempt in range(3):
            profiles: list[Profile] | None = None
            blocks: list[np.ndarray] = []
            required: list[tuple[str, ...]] = []
            for start in range(0, len(demands), self.score_batch):
                done = start / len(demands)
                self._checkpoint(run_id, beat, "scoring", CLAIMED + (SCORED - CLAIMED) * done)
                got, block, req = self._engine.score(demands[start:start + self.score_batch])
                if profiles is not None and [p.id for p in got] != [p.id for p in profiles]:
                    break  # the profiles changed while scoring: score again on the new index
                profiles = got
                blocks.append(block)
                required.extend(req)
            else:
                return profiles or [], np.vstack(blocks), required
        raise RuntimeError("人员档案在评分期间反复变化 the profiles kept changing while the run was scoring; start it again")

    def execute(self, run: AssignmentRun) -> None:
        """Execute a run this worker claimed: score, solve, store; cancelled / failed as it goes."""
        run_id = run.id
        with Heartbeat(self._sessions, run_id, self.owner, self.heartbeat) as beat:
            try:
                params = dict(run.params or {})
                with self._sessions() as s:
                    demands = planned_demands(s, params.get("demand_ids"), params.get("semester") or default_semester())
                if demands:
                    profiles, scores, required = self._score(run_id, beat, demands)
                else:
                    profiles, scores, required = [], np.zeros((0, 0)), []
                self._checkpoint(run_id, beat, "solving", SCORED)
                def solve() -> dict[str, Any]:
                    return plan_from_scores(self._planner, profiles, demands, scores, required,
                                            params["solver"], params["continuity_bonus"])

                plan = solve_isolated(solve, lambda: self._stop_kind(run_id, beat)) if self.isolate else solve()
                self._checkpoint(run_id, beat, "storing", SOLVED)
                with self._sessions() as s:
                    if not run_queue.finish_run(s, run_id, self.owner, plan):
                        raise Stopped("cancelled" if run_queue.cancel_requested(s, run_id) else "lost")
            except Stopped as stop:
                self._stopped(run_id, stop)
            except Exception as exc:
                log.exception("assignment run %s failed", run_id)
                with self._sessions() as s:
                    run_queue.fail_run(s, run_id, self.owner, f"{type(exc).__name__}: {exc}")

    def _stopped(self, run_id: str, stop: Stopped) -> None:
        if stop.kind == "lost":
            log.warning("assignment run %s: lease lost (another process failed it); its result is dropped", run_id)
            return
        with self._sessions() as s:
            if stop.kind == "cancelled":
                run_queue.mark_cancelled(s, run_id, self.owner)
            else:
                run_queue.fail_run(s, run_id, self.owner, SHUTDOWN)
        log.info("assignment run %s stopped: %s", run_id, stop.kind)


class RunManager:
    """The service's side of runs: queue them, cancel them, propose single-demand plans, and
    (``threads`` > 0) execute queued runs in worker threads of this process (``isolate``: each plan
    solved in a forked child that a cancel kills, as ``RunWorker``)."""

    def __init__(self, sessions: sessionmaker[Session], engine: MatchEngine, planner: Planner,
                 solver: str = "exact", continuity_bonus: float = 0.1, threads: int = 1,
                 lease: float = 60.0, heartbeat: float = 5.0, poll: float = 1.0, score_batch: int = 200,
                 isolate: bool = False) -> None:
        self._sessions = sessions
        self._engine = engine
        self._planner = planner
        self._solver = solver
        self._bonus = continuity_bonus
        self._lease = lease
        self._recovered = False
        self.workers = [RunWorker(sessions, engine, planner, lease=lease, heartbeat=heartbeat, poll=poll,
                                  score_batch=score_batch, isolate=isolate) for _ in range(threads)]

    def open(self) -> None:
        """Start the in-process worker threads (again, after ``close``)."""
        for w in self.workers:
            w.start_thread()

    def recover(self) -> int:
        """Fail runs whose worker stopped answering (lease expired; a run left ``running`` by a
        process before the queue has no heartbeat at all); returns how many.  Runs of live
        workers on other instances are untouched.  Only the first call does anything."""
        if self._recovered:
            return 0
        self._recovered = True
        with self._sessions() as s:
            return crud.expire_leases(s, self._lease)

    def start(self, session: Session, created_by: int | None, demand_ids: list[str] | None,
              solver: str | None, continuity_bonus: float | None, semester: str | None = None) -> AssignmentRun:
        """Queue a run (committed before returning); a worker of any instance executes it.

        ``semester`` (default: the current one) is the semester whose teams accepting
        the run creates; each demand's team of an earlier semester is its continuity."""
        params = {
            "demand_ids": demand_ids,
            "solver": solver or self._solver,
            "continuity_bonus": self._bonus if continuity_bonus is None else float(continuity_bonus),
            "semester": semester or default_semester(),
        }
        run = crud.create_run(session, params, created_by)
        for w in self.workers:
            w.wake()
        return run

    def cancel(self, session: Session, run_id: str) -> AssignmentRun:
        """``crud.cancel_run``: queued -> cancelled now, running -> its worker stops at the next phase."""
        return crud.cancel_run(session, run_id)

    def propose(self, demand: Demand, solver: str | None = None, used: Mapping[str, int] | None = None) -> dict[str, Any]:
        """A plan for one demand alone (synchronous), by the batch runs' planner and constraints;
        ``used[id]``: teams of other demands the profile already serves in the semester
        (``crud.proposals.semester_load``), taken off its capacity."""
        return plan_for(self._engine, self._planner, [demand], solver or self._solver, self._bonus, used)

    def close(self, wait: bool = False) -> None:
        for w in self.workers:
            w.stop_thread(timeout=30.0 if wait else 1.0)
