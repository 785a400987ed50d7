"""Batch reassignment runs (office): start, poll, accept."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, status
from sqlalchemy import select

from xfd.api.deps import RunsDep, SessionDep, StaffDep, field_error, not_found
from xfd.api.runs import check_solver, utcnow
from xfd.api.schemas import RunAccepted, RunCreate, RunPublic, RunStarted
from xfd.api.storage.models import AssignmentRun, DemandRow
from xfd.matching.registry import UnknownNameError

router = APIRouter(prefix="/v1/assignment-runs", tags=["assignment runs"])

RunId = Annotated[str, Path(max_length=100, pattern=r"^[^\x00]+$")]


def _public(run: AssignmentRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "progress": float(run.progress),
        "plan": run.plan,
        "reason": run.reason,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "accepted_at": run.accepted_at,
    }


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=RunStarted,
             summary="开始批量分配 start a batch reassignment of open demands")
def start_run(
    principal: StaffDep,
    session: SessionDep,
    runs: RunsDep,
    body: Annotated[RunCreate | None, Body()] = None,
) -> RunStarted:
    body = body or RunCreate()
    if body.solver is not None:
        try:
            check_solver(body.solver)
        except UnknownNameError as exc:
            raise field_error(["body", "solver"], str(exc)) from None
    run = runs.start(session, principal.key_id, body.demand_ids, body.solver, body.continuity_bonus)
    return RunStarted(id=run.id, status="running")


@router.get("", response_model=list[RunPublic], summary="分配任务列表 list runs (newest first)")
def list_runs(_who: StaffDep, session: SessionDep) -> list[dict[str, Any]]:
    rows = session.scalars(select(AssignmentRun).order_by(AssignmentRun.created_at.desc()).limit(100))
    return [_public(r) for r in rows]


@router.get("/{run_id}", response_model=RunPublic, summary="分配任务状态 status, progress and plan")
def get_run(run_id: RunId, _who: StaffDep, session: SessionDep) -> dict[str, Any]:
    run = session.get(AssignmentRun, run_id)
    if run is None:
        raise not_found("run", run_id)
    return _public(run)


@router.post("/{run_id}/accept", response_model=RunAccepted,
             summary="采纳方案 accept a finished plan: its demands become assigned",
             responses={409: {"description": "the run is not done"}})
def accept_run(run_id: RunId, _who: StaffDep, session: SessionDep) -> RunAccepted:
    run = session.get(AssignmentRun, run_id)
    if run is None:
        raise not_found("run", run_id)
    if run.status != "done" or run.plan is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"任务未完成，不能采纳 run is {run.status}, only a done run can be accepted")
    assigned: list[str] = []
    for team in run.plan.get("teams", []):
        row = session.get(DemandRow, str(team.get("demand_id", "")))
        if row is None or row.status == "closed":
            continue
        row.status = "assigned"
        row.assigned_team = [str(m.get("profile_id")) for m in team.get("members", [])]
        assigned.append(row.id)
    if run.accepted_at is None:
        run.accepted_at = utcnow()
    session.commit()
    return RunAccepted(id=run.id, accepted_at=run.accepted_at, assigned=assigned)
