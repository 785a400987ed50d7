"""Batch assignment runs: create (queued), claim by one worker, lease, progress, cancel, accept.

A run's ``status`` goes ``queued`` -> ``running`` (claimed by exactly one worker) ->
``done`` | ``failed`` | ``cancelled``; a queued run can also go straight to ``cancelled``.
Every write a worker makes (``heartbeat_run``, ``set_run_progress``, ``finish_run``,
``fail_run``, ``mark_cancelled``) is conditional on ``owner`` and ``status = 'running'``
and answers whether it applied: a worker whose lease expired (``expire_leases`` failed its
run) can never store a plan.  Times are UTC from the writer's clock.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, NamedTuple

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.orm import Session

from xfd.api.crud import teams
from xfd.api.errors import Conflict, NotFound
from xfd.api.security import Principal
from xfd.api.storage.models import AssignmentRun

INTERRUPTED = "服务重启，任务中断 interrupted by a service restart"
LEASE_EXPIRED = ("执行进程失联（租约过期），任务中断 the worker stopped answering (lease expired: "
                 "crash or restart); start a new run")
CANCELLED = "已取消 cancelled by the office"
#: newest runs ``list_runs`` returns
LIST_LIMIT = 100
#: every stored ``status``; ``ACTIVE`` ones are not finished
STATES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE = ("queued", "running")
STATE_LABELS = {"queued": "排队中", "running": "运行中", "done": "已完成", "failed": "失败", "cancelled": "已取消"}


class Accepted(NamedTuple):
    """An accepted run and the ids of the demands that became ``assigned``, in plan order."""

    run: AssignmentRun
    assigned: list[str]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_run(session: Session, params: dict[str, Any], created_by: int | None) -> AssignmentRun:
    """A new ``queued`` run with ``params`` (demand_ids, solver, continuity_bonus, semester); commits."""
    run = AssignmentRun(id=uuid.uuid4().hex, status="queued", phase="queued", progress=0.0, params=params,
                        created_by=created_by)
    session.add(run)
    session.commit()
    return run


def public_status(run: AssignmentRun) -> str:
    """The status the API answers: ``running`` for a queued run too (INTERFACES: running|done|failed,
    plus ``cancelled``); the stored value is the API's ``state``."""
    return "running" if run.status in ACTIVE else run.status


def state_words(run: AssignmentRun) -> str:
    """``running``, ``running (queued)``, ``done``, … for messages."""
    shown = public_status(run)
    return shown if shown == run.status else f"{shown} ({run.status})"


def get_run(session: Session, run_id: str) -> AssignmentRun:
    """The run, or ``NotFound("run", id)``."""
    run = session.get(AssignmentRun, run_id)
    if run is None:
        raise NotFound("run", run_id)
    return run


def runs_query() -> Select:
    """``select(AssignmentRun)`` of every run, newest first (ties by id, a total order for pages)."""
    return select(AssignmentRun).order_by(AssignmentRun.created_at.desc(), AssignmentRun.id.desc())


def list_runs(session: Session) -> list[AssignmentRun]:
    """The ``LIST_LIMIT`` newest runs, newest first."""
    return list(session.scalars(runs_query().limit(LIST_LIMIT)))


def set_run(session: Session, run_id: str, **values: Any) -> None:
    """Update columns of one run (status, progress, plan, reason, finished_at) and commit."""
    session.execute(update(AssignmentRun).where(AssignmentRun.id == run_id).values(**values))
    session.commit()


def fail_interrupted_runs(session: Session) -> int:
    """Mark every unfinished run (queued or running) as failed; commits; returns how many.

    For a single process that knows no other worker exists (the service itself uses
    ``expire_leases``, which fails only runs whose owner stopped answering)."""
    res = session.execute(
        update(AssignmentRun)
        .where(AssignmentRun.status.in_(ACTIVE))
        .values(status="failed", reason=INTERRUPTED, finished_at=utcnow())
    )
    session.commit()
    return res.rowcount or 0


def accept_run(session: Session, run_id: str, principal: Principal | None = None) -> Accepted:
    """Accept a ``done`` run: the teams of its semester (``params["semester"]``, default
    ``teams.default_semester()``) are created for its planned demands (``accepted``,
    ``teamed``, ``in_service``) and ``accepted`` ones become ``teamed``
    (``xfd.api.crud.teams.teams_from_plan``); commits.  ``Conflict`` when the run is not done."""
    run = get_run(session, run_id)
    if run.status != "done" or run.plan is None:
        raise Conflict(f"任务未完成，不能采纳 run is {state_words(run)}, only a done run can be accepted")
    semester = str((run.params or {}).get("semester") or teams.default_semester())
    assigned = teams.teams_from_plan(session, run.plan, semester, principal, run.id)
    if run.accepted_at is None:
        run.accepted_at = utcnow()
    session.commit()
    return Accepted(run, assigned)


# -- the queue: claim, lease, progress, finish (worker side) -------------------------------------
def _mine(run_id: str, owner: str):  # noqa: ANN202  (a SQL condition)
    return and_(AssignmentRun.id == run_id, AssignmentRun.owner == owner, AssignmentRun.status == "running")


def claim_run(session: Session, owner: str) -> AssignmentRun | None:
    """Claim the oldest ``queued`` run for ``owner`` (-> ``running``); commits; None when none is queued.

    Exactly one caller gets a given run, whatever the number of processes: PostgreSQL locks the
    row with ``SELECT … FOR UPDATE SKIP LOCKED`` (concurrent claimers skip it and take the next);
    SQLite runs one ``UPDATE … WHERE id = (oldest queued) AND status = 'queued' RETURNING id``
    statement, which holds the database write lock from its first read to its write."""
    now = utcnow()
    claimed = {"status": "running", "owner": owner, "claimed_at": now, "heartbeat_at": now, "phase": "claimed"}
    oldest = (select(AssignmentRun.id).where(AssignmentRun.status == "queued")
              .order_by(AssignmentRun.created_at, AssignmentRun.id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        run_id = session.scalar(oldest.with_for_update(skip_locked=True))
        if run_id is not None:
            session.execute(update(AssignmentRun).where(AssignmentRun.id == run_id).values(**claimed))
    else:
        run_id = session.scalar(
            update(AssignmentRun)
            .where(AssignmentRun.id == oldest.scalar_subquery(), AssignmentRun.status == "queued")
            .values(**claimed)
            .returning(AssignmentRun.id)
        )
    session.commit()
    return None if run_id is None else session.get(AssignmentRun, run_id, populate_existing=True)


def _owned_update(session: Session, run_id: str, owner: str, *extra: Any, **values: Any) -> bool:
    res = session.execute(update(AssignmentRun).where(_mine(run_id, owner), *extra).values(**values))
    session.commit()
    return (res.rowcount or 0) == 1


def heartbeat_run(session: Session, run_id: str, owner: str) -> bool:
    """Renew ``owner``'s lease on its running run; False when the run is no longer its (expired, finished)."""
    return _owned_update(session, run_id, owner, heartbeat_at=utcnow())


def set_run_progress(session: Session, run_id: str, owner: str, progress: float, phase: str) -> bool:
    """``progress`` in [0, 1] and the ``phase`` name; renews the lease; False when no longer ``owner``'s."""
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be in [0, 1], got {progress}")
    return _owned_update(session, run_id, owner, progress=progress, phase=phase, heartbeat_at=utcnow())


def finish_run(session: Session, run_id: str, owner: str, plan: dict[str, Any]) -> bool:
    """Store the plan: ``done``, progress 1 — only while ``owner`` holds the run and no cancel was asked."""
    return _owned_update(session, run_id, owner, AssignmentRun.cancel_requested_at.is_(None),
                         status="done", progress=1.0, plan=plan, phase="done", finished_at=utcnow())


def fail_run(session: Session, run_id: str, owner: str, reason: str) -> bool:
    """``failed`` with ``reason`` (cut to 2,000 characters) while ``owner`` holds the run."""
    return _owned_update(session, run_id, owner, status="failed", reason=reason[:2000], phase="failed",
                         finished_at=utcnow())


def mark_cancelled(session: Session, run_id: str, owner: str) -> bool:
    """The worker stopped after a cancel: ``cancelled`` (no plan stored)."""
    return _owned_update(session, run_id, owner, status="cancelled", reason=CANCELLED, phase="cancelled",
                         finished_at=utcnow())


def cancel_requested(session: Session, run_id: str) -> bool:
    """True when the office asked to cancel the run (the worker checks between phases)."""
    return session.scalar(select(AssignmentRun.cancel_requested_at).where(AssignmentRun.id == run_id)) is not None


def expire_leases(session: Session, lease_seconds: float) -> int:
    """Fail every ``running`` run whose owner's last heartbeat is older than ``lease_seconds`` (or
    missing: a run left by a process before migration 0007); commits; returns how many.  Never
    re-queued: the dead worker may have been part-way through, and a run executes at most once."""
    cutoff = utcnow() - dt.timedelta(seconds=lease_seconds)
    res = session.execute(
        update(AssignmentRun)
        .where(AssignmentRun.status == "running",
               or_(AssignmentRun.heartbeat_at.is_(None), AssignmentRun.heartbeat_at < cutoff))
        .values(status="failed", reason=LEASE_EXPIRED, phase="failed", finished_at=utcnow())
    )
    session.commit()
    return res.rowcount or 0


# -- cancel (office side) -------------------------------------------------------------------------
def cancel_run(session: Session, run_id: str) -> AssignmentRun:
    """Cancel a run: a ``queued`` one becomes ``cancelled`` at once; a ``running`` one gets
    ``cancel_requested_at`` and its worker stops at the next phase boundary.  Commits; returns
    the run.  ``NotFound``; ``Conflict`` naming the state when it is done, failed or cancelled."""
    now = utcnow()
    res = session.execute(
        update(AssignmentRun).where(AssignmentRun.id == run_id, AssignmentRun.status == "queued")
        .values(status="cancelled", reason=CANCELLED, phase="cancelled", cancel_requested_at=now, finished_at=now)
    )
    if not res.rowcount:
        session.execute(
            update(AssignmentRun)
            .where(AssignmentRun.id == run_id, AssignmentRun.status == "running",
                   AssignmentRun.cancel_requested_at.is_(None))
            .values(cancel_requested_at=now)
        )
    session.commit()
    run = session.get(AssignmentRun, run_id, populate_existing=True)
    if run is None:
        raise NotFound("run", run_id)
    if not res.rowcount and run.status not in ACTIVE:
        label = STATE_LABELS.get(run.status, run.status)
        raise Conflict(f"任务{label}，不能取消 run is {run.status}, only a queued or running run can be cancelled")
    return run
