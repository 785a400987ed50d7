"""Batch assignment runs: create, read, progress updates, accept a finished plan."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, NamedTuple

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from xfd.api.crud import teams
from xfd.api.errors import Conflict, NotFound
from xfd.api.security import Principal
from xfd.api.storage.models import AssignmentRun

INTERRUPTED = "服务重启，任务中断 interrupted by a service restart"
#: newest runs ``list_runs`` returns
LIST_LIMIT = 100


class Accepted(NamedTuple):
    """An accepted run and the ids of the demands that became ``assigned``, in plan order."""

    run: AssignmentRun
    assigned: list[str]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_run(session: Session, params: dict[str, Any], created_by: int | None) -> AssignmentRun:
    """A new ``running`` run with ``params`` (demand_ids, solver, continuity_bonus); commits."""
    run = AssignmentRun(id=uuid.uuid4().hex, status="running", progress=0.0, params=params, created_by=created_by)
    session.add(run)
    session.commit()
    return run


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
    """Mark every run still ``running`` as failed (its process died); commits; returns how many."""
    res = session.execute(
        update(AssignmentRun)
        .where(AssignmentRun.status == "running")
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
        raise Conflict(f"任务未完成，不能采纳 run is {run.status}, only a done run can be accepted")
    semester = str((run.params or {}).get("semester") or teams.default_semester())
    assigned = teams.teams_from_plan(session, run.plan, semester, principal, run.id)
    if run.accepted_at is None:
        run.accepted_at = utcnow()
    session.commit()
    return Accepted(run, assigned)
