"""Batch reassignment runs (office): start (queued for a worker), poll, cancel, accept."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request, Response, status

from xfd.api import crud
from xfd.api.crud.runs import public_status, runs_query
from xfd.api.deps import RunsDep, SessionDep, StaffDep, field_error
from xfd.api.pagination import PAGE_HEADERS_DOC, PageDep, paginate, set_page_headers
from xfd.api.runs import check_solver
from xfd.api.schemas import RunAccepted, RunCreate, RunPublic, RunStarted
from xfd.api.storage.models import AssignmentRun
from xfd.matching.registry import UnknownNameError

router = APIRouter(prefix="/v1/assignment-runs", tags=["assignment runs"])

RunId = Annotated[str, Path(max_length=100, pattern=r"^[^\x00]+$")]


def _public(run: AssignmentRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": public_status(run),
        "state": run.status,
        "phase": run.phase,
        "cancel_requested": run.cancel_requested_at is not None,
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
    run = runs.start(session, principal.key_id, body.demand_ids, body.solver, body.continuity_bonus, body.semester)
    return RunStarted(id=run.id, status="running", state="queued")


@router.get("", response_model=list[RunPublic], summary="分配任务列表 list runs (newest first)",
            responses={200: {"headers": PAGE_HEADERS_DOC}})
def list_runs(_who: StaffDep, session: SessionDep, page: PageDep, request: Request, response: Response,
              ) -> list[dict[str, Any]]:
    result = paginate(session, runs_query(), page)
    set_page_headers(request, response, page, result.total)
    return [_public(r) for r in result.items]


@router.get("/{run_id}", response_model=RunPublic, summary="分配任务状态 status, progress and plan")
def get_run(run_id: RunId, _who: StaffDep, session: SessionDep) -> dict[str, Any]:
    return _public(crud.get_run(session, run_id))


@router.post("/{run_id}/accept", response_model=RunAccepted,
             summary="采纳方案 accept a finished plan: its demands become assigned",
             responses={409: {"description": "the run is not done"}})
def accept_run(run_id: RunId, principal: StaffDep, session: SessionDep) -> RunAccepted:
    run, assigned = crud.accept_run(session, run_id, principal)
    return RunAccepted(id=run.id, accepted_at=run.accepted_at, assigned=assigned)


@router.post("/{run_id}/cancel", response_model=RunPublic,
             summary="取消分配任务 cancel a queued or running run",
             responses={409: {"description": "the run is already done, failed or cancelled"}})
def cancel_run(run_id: RunId, _who: StaffDep, session: SessionDep, runs: RunsDep) -> dict[str, Any]:
    """A queued run is ``cancelled`` at once; a running one gets ``cancel_requested`` and its worker
    stops at the next phase boundary (poll until ``status`` is ``cancelled``)."""
    return _public(runs.cancel(session, run_id))
