"""Office: batch runs (``/runs``): start one, watch its progress (a
``<progress>`` bar refreshed by ``<meta http-equiv=refresh>``), cancel it while
queued or running, review the plan (teams, unassigned with reasons, moves),
accept it, export it to Excel.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xfd.api import crud
from xfd.api.crud.runs import ACTIVE
from xfd.api.crud.teams import default_semester
from xfd.api.deps import RunsDep, SessionDep
from xfd.api.errors import FieldInvalid
from xfd.api.schemas import checked_semester
from xfd.api.storage.models import AssignmentRun, DemandRow, ProfileRow
from xfd.api.web.auth import Viewer, csrf_for, require
from xfd.api.web.render import PageRoute, page
from xfd.matching.xlsx import append_row, new_workbook, workbook_bytes

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Office = Annotated[Viewer, Depends(require("office"))]
OfficeForm = Annotated[Viewer, Depends(csrf_for("office"))]
PHASE_LABELS = {"claimed": "已开始 started", "scoring": "评分中 scoring", "solving": "求解中 solving",
                "storing": "保存中 storing"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/runs", response_class=HTMLResponse)
def run_list(request: Request, viewer: Office, session: SessionDep) -> HTMLResponse:
    return page(request, "runs.html", viewer, runs=crud.list_runs(session), semester=default_semester(), errors={})


@router.post("/runs", response_class=HTMLResponse)
def start_run(request: Request, viewer: OfficeForm, session: SessionDep, runs: RunsDep,
              semester: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Start a batch reassignment of the demands the data layer plans (for ``semester``, default the current one);
    a bad semester is the runs page again (422) with the error beside the field and the typed text kept."""
    chosen = semester.strip()
    if chosen:
        try:
            checked_semester(chosen, ["form", "semester"])
        except FieldInvalid as exc:
            return page(request, "runs.html", viewer, status_code=422, runs=crud.list_runs(session), semester=semester,
                        errors={"semester": exc.message.removeprefix("semester: ")})
    run = runs.start(session, viewer.principal.key_id or None, None, None, None, chosen or None)
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


class PlanView:
    """The plan of a run with names and titles filled in for display."""

    def __init__(self, session: Session, plan: dict[str, Any]) -> None:
        self.teams: list[dict[str, Any]] = []
        for t in plan.get("teams", []):
            d = session.get(DemandRow, str(t.get("demand_id", "")))
            members = []
            for m in t.get("members", []):
                p = session.get(ProfileRow, str(m.get("profile_id", "")))
                members.append({**m, "name": p.name if p else "", "kind": p.kind if p else "",
                                "college": p.college if p else "", "title": p.title if p else ""})
            self.teams.append({"demand_id": t.get("demand_id"), "demand_title": d.title if d else "",
                               "enterprise": d.enterprise_id if d else "", "members": members,
                               "missing": t.get("missing_disciplines", [])})
        self.unassigned = [{**u, "demand_title": (lambda d: d.title if d else "")(session.get(DemandRow, str(u.get("demand_id", ""))))}
                           for u in plan.get("unassigned", [])]
        self.moves = [{**m, "name": (lambda p: p.name if p else "")(session.get(ProfileRow, str(m.get("profile_id", ""))))}
                      for m in plan.get("moves", [])]
        self.objective = float(plan.get("objective", 0.0) or 0.0)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str, viewer: Office, session: SessionDep, accepted: int = 0) -> HTMLResponse:
    run = crud.get_run(session, run_id)
    view = PlanView(session, run.plan) if run.plan else None
    flash = f"方案已采纳：{accepted} 个需求已组队。 Plan accepted: {accepted} demands teamed." if accepted else ""
    return page(request, "run.html", viewer, run=run, plan=view, flash=flash, refresh=run.status in ACTIVE,
                PHASE_LABELS=PHASE_LABELS)


@router.post("/runs/{run_id}/cancel", response_class=HTMLResponse)
def cancel_run(run_id: str, viewer: OfficeForm, session: SessionDep, runs: RunsDep) -> Response:
    """Cancel a queued or running run (a finished one: the 409 page naming its state)."""
    runs.cancel(session, run_id)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/accept", response_class=HTMLResponse)
def accept_run(run_id: str, viewer: OfficeForm, session: SessionDep) -> Response:
    result = crud.accept_run(session, run_id, viewer.principal)
    return RedirectResponse(f"/runs/{run_id}?accepted={len(result.assigned)}", status_code=303)


def plan_workbook(run: AssignmentRun, view: PlanView) -> bytes:
    """The plan as an .xlsx: sheets 小分队 (one row per member), 未分配, 调整 (any stored text is
    written as plain text, ``xfd.matching.xlsx``)."""
    wb = new_workbook("小分队 teams")
    ws = wb.active
    append_row(ws, ["需求编号 demand", "需求标题 title", "企业 enterprise", "成员编号 profile", "姓名 name", "类别 kind",
                    "学院 college", "职称 title", "角色 role", "匹配分 score", "覆盖学科 covers"])
    for t in view.teams:
        for m in t["members"]:
            append_row(ws, [t["demand_id"], t["demand_title"], t["enterprise"], m.get("profile_id"), m["name"], m["kind"],
                            m["college"], m["title"], m.get("role", ""), float(m.get("score", 0.0) or 0.0),
                            "、".join(m.get("covers", []))])
    ws = wb.create_sheet("未分配 unassigned")
    append_row(ws, ["需求编号 demand", "需求标题 title", "原因 reason"])
    for u in view.unassigned:
        append_row(ws, [u.get("demand_id"), u["demand_title"], u.get("reason", "")])
    ws = wb.create_sheet("调整 moves")
    append_row(ws, ["人员 profile", "从 from", "到 to", "原因 why"])
    for m in view.moves:
        append_row(ws, [m.get("profile_id"), m.get("from"), m.get("to"), m.get("why", "")])
    return workbook_bytes(wb)


@router.get("/runs/{run_id}/plan.xlsx")
def export_plan(run_id: str, viewer: Office, session: SessionDep) -> Response:
    run = crud.get_run(session, run_id)
    if run.plan is None:
        return RedirectResponse(f"/runs/{run_id}", status_code=303)
    body = plan_workbook(run, PlanView(session, run.plan))
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="xfd-plan-{run.id[:8]}.xlsx"'})
