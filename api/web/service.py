"""Pages of the service work: ``/teams`` (the teams a person may see, by
semester), ``/teams/{id}`` (members, activities, outcome and rating, with the
forms this person may use) and ``/reports`` (绩效评估 with charts and Excel).

Thin: reads and writes go through ``xfd.api.crud`` (the same functions as the
API, so the same roles and lifecycle rules); forms are checked with the API's
own schemas.
"""
from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from xfd.api.crud import service as crud_service
from xfd.api.crud import teams as crud_teams
from xfd.api.deps import SessionDep, SettingsDep
from xfd.api.errors import FieldInvalid
from xfd.api.report_export import report_workbook
from xfd.api.schemas import checked_semester
from xfd.api.service_schemas import ACTIVITY_KINDS, ActivityCreate, OutcomeCreate, RatingCreate
from xfd.api.storage.models import DemandRow, ProfileRow
from xfd.api.web import messages
from xfd.api.web.auth import Viewer, csrf_for, require
from xfd.api.web.render import PageRoute, page
from xfd.matching.performance import GROUP_BY, load_config

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Anyone = Annotated[Viewer, Depends(require("office", "enterprise", "teacher"))]
Office = Annotated[Viewer, Depends(require("office"))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KIND_ZH = {"visit": "走访", "on-site": "驻点", "training": "培训", "online": "线上", "other": "其他"}
BY_ZH = {"team": "小分队", "teacher": "教师", "college": "学院", "county": "县区"}
DONE = {"activity": "服务活动已记录。 Activity logged.", "outcome": "成果已登记。 Outcome recorded.",
        "rating": "感谢评价！ Thank you for the rating."}


def _checked(model: type, values: dict[str, Any], errors: dict[str, str] | None = None) -> Any:
    """``values`` through the API's schema, the whole form at once: the problems already found
    (``errors``: the typed numbers) and every field's problem of the schema are one
    ``messages.FormInvalid``, each shown beside its field."""
    found = dict(errors or {})
    try:
        checked = model.model_validate(values)
    except ValidationError as exc:
        for field, text in messages.all_errors(list(exc.errors())).items():
            found.setdefault(field, text)
    if found:
        raise messages.FormInvalid(found)
    return checked


def _number(raw: str, field: str, errors: dict[str, str], integer: bool = False, required: bool = False) -> float | int:
    """A number typed in a form (blank: 0, or "required" when ``required``); a bad one is 0 with its
    Chinese + English error in ``errors`` (the rest of the form is still checked)."""
    text = (raw or "").strip()
    if not text and required:
        errors[field] = messages.error_text({"type": "missing"})
        return 0
    try:
        return int(text or "0") if integer else float(text or "0")
    except ValueError:
        errors[field] = messages.error_text({"type": "int_parsing" if integer else "float_parsing"})
        return 0


def _profiles(session: Session, ids: list[str]) -> dict[str, ProfileRow]:
    return {p.id: p for p in session.scalars(select(ProfileRow).where(ProfileRow.id.in_(ids)))} if ids else {}


@router.get("/teams", response_class=HTMLResponse)
def team_list(request: Request, viewer: Anyone, session: SessionDep, semester: str = "") -> HTMLResponse:
    if semester:
        checked_semester(semester, ["query", "semester"])
    semesters = crud_teams.list_semesters(session)
    chosen = semester or (semesters[-1] if semesters else "")
    teams = crud_teams.list_teams(session, viewer.principal, chosen or None)
    views = crud_teams.team_views(session, teams, viewer.principal)
    titles = {d.id: d.title for d in session.scalars(select(DemandRow).where(DemandRow.id.in_([t.demand_id for t in teams])))}
    people = _profiles(session, sorted({m["profile_id"] for v in views for m in v["members"]}))
    return page(request, "teams.html", viewer, teams=list(zip(teams, views, strict=True)), titles=titles, people=people,
                semesters=semesters, semester=chosen)


def _team_context(session: Session, viewer: Viewer, team_id: str) -> dict[str, Any]:
    """What ``team.html`` shows this viewer: the team, its demand, people and the forms it may use (``can``)."""
    team = crud_teams.visible_team(session, viewer.principal, team_id)
    view = crud_teams.team_public(session, team, viewer.principal)
    demand = session.get(DemandRow, team.demand_id)
    people = _profiles(session, [m["profile_id"] for m in view["members"]])
    p = viewer.principal
    member_ids = {m["profile_id"] for m in view["members"]}
    lead = next((m["profile_id"] for m in view["members"] if m["role"] == "lead"), None)
    newest = crud_teams.latest_team(session, team.demand_id)
    is_newest = newest is not None and newest.id == team.id
    can = {
        "activity": view["status"] in ("teamed", "in_service") and (p.is_staff or (p.role == "teacher" and p.profile_id in member_ids)),
        "outcome": is_newest and view["status"] == "in_service" and (p.is_staff or (p.role == "teacher" and p.profile_id == lead)),
        "rating": p.role == "enterprise" and view["status"] in ("solved", "unsolved") and view["outcome"] is not None
        and view["rating"] is None,
    }
    return {"team": view, "demand": demand, "people": people, "can": can, "kinds": ACTIVITY_KINDS, "kind_zh": KIND_ZH,
            "errors": {}, "values": {}}


@router.get("/teams/{team_id}", response_class=HTMLResponse)
def team_page(request: Request, team_id: str, viewer: Anyone, session: SessionDep, done: str = "") -> HTMLResponse:
    return page(request, "team.html", viewer, flash=DONE.get(done, ""), **_team_context(session, viewer, team_id))


def _form_failed(request: Request, session: Session, viewer: Viewer, team_id: str, form: str, exc: FieldInvalid,
                 values: dict[str, Any]) -> HTMLResponse:
    """The team page again (422) with the form's values and each error beside the field it names."""
    session.rollback()
    names = [str(x) for x in exc.loc if str(x) not in ("body", "form")]
    fields = exc.fields if isinstance(exc, messages.FormInvalid) else {names[0] if names else form: exc.message}
    context = _team_context(session, viewer, team_id)
    context.update(errors={"form": form, **fields}, values=values)
    return page(request, "team.html", viewer, status_code=422, **context)


@router.post("/teams/{team_id}/activities", response_class=HTMLResponse)
def post_activity(
    request: Request,
    team_id: str,
    viewer: Annotated[Viewer, Depends(csrf_for("office", "teacher"))],
    session: SessionDep,
    date: Annotated[str, Form(max_length=20)] = "",
    kind: Annotated[str, Form(max_length=20)] = "",
    hours: Annotated[str, Form(max_length=20)] = "",
    participant: Annotated[list[str], Form(max_length=100)] = [],  # noqa: B006
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    values = {"date": date, "kind": kind, "hours": hours, "participants": participant, "note": note}
    try:
        given = {k: v for k, v in values.items() if not (k in ("date", "kind") and not v.strip())}  # blank: "required"
        errors: dict[str, str] = {}
        act = _checked(ActivityCreate, {**given, "hours": _number(hours, "hours", errors, required=True)}, errors)
        crud_service.add_activity(session, viewer.principal, team_id, act.date, act.kind, act.hours, act.participants,
                                  act.note)
    except FieldInvalid as exc:
        return _form_failed(request, session, viewer, team_id, "activity", exc, values)
    return RedirectResponse(f"/teams/{team_id}?done=activity", status_code=303)


@router.post("/teams/{team_id}/outcome", response_class=HTMLResponse)
def post_outcome(
    request: Request,
    team_id: str,
    viewer: Annotated[Viewer, Depends(csrf_for("office", "teacher"))],
    session: SessionDep,
    solved: Annotated[str, Form(max_length=20)] = "",
    contract_amount: Annotated[str, Form(max_length=20)] = "0",
    patents: Annotated[str, Form(max_length=10)] = "0",
    papers: Annotated[str, Form(max_length=10)] = "0",
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    team = crud_teams.visible_team(session, viewer.principal, team_id)
    values = {"solved": solved, "contract_amount": contract_amount, "patents": patents, "papers": papers, "note": note}
    try:
        errors: dict[str, str] = {}
        if solved not in ("yes", "no"):
            errors["solved"] = "请选择“已解决”或“未解决” choose solved or unsolved"
        out = _checked(OutcomeCreate, {"solved": solved == "yes", "note": note,
                                       "contract_amount": _number(contract_amount, "contract_amount", errors),
                                       "patents": _number(patents, "patents", errors, True),
                                       "papers": _number(papers, "papers", errors, True)}, errors)
        row = session.get(DemandRow, team.demand_id)
        crud_service.add_outcome(session, viewer.principal, crud_teams.public_demand_id(row, viewer.principal), out.solved,
                                 out.contract_amount, out.patents, out.papers, out.other, out.note)
    except FieldInvalid as exc:
        return _form_failed(request, session, viewer, team_id, "outcome", exc, values)
    return RedirectResponse(f"/teams/{team_id}?done=outcome", status_code=303)


@router.post("/teams/{team_id}/rating", response_class=HTMLResponse)
def post_rating(
    request: Request,
    team_id: str,
    viewer: Annotated[Viewer, Depends(csrf_for("enterprise"))],
    session: SessionDep,
    satisfaction: Annotated[str, Form(max_length=2)] = "",
    comment: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    team = crud_teams.visible_team(session, viewer.principal, team_id)
    values = {"satisfaction": satisfaction, "comment": comment}
    try:
        errors: dict[str, str] = {}
        rating = _checked(RatingCreate, {"satisfaction": _number(satisfaction, "satisfaction", errors, True, required=True),
                                         "comment": comment}, errors)
        row = session.get(DemandRow, team.demand_id)
        crud_service.add_rating(session, viewer.principal, crud_teams.public_demand_id(row, viewer.principal),
                                rating.satisfaction, rating.comment)
    except FieldInvalid as exc:
        return _form_failed(request, session, viewer, team_id, "rating", exc, values)
    return RedirectResponse(f"/teams/{team_id}?done=rating", status_code=303)


def _by(by: str) -> str:
    if by not in GROUP_BY:
        raise FieldInvalid(["query", "by"], f"by: 未知分组 unknown grouping {by!r}; valid: {', '.join(GROUP_BY)}")
    return by


@router.get("/reports", response_class=HTMLResponse)
def report_page(request: Request, viewer: Office, session: SessionDep, settings: SettingsDep, semester: str = "",
                by: str = "college") -> HTMLResponse:
    if semester:
        checked_semester(semester, ["query", "semester"])
    semesters = crud_teams.list_semesters(session)
    chosen = semester or (semesters[-1] if semesters else "")
    config = load_config(settings.performance_config)
    rows = crud_service.performance_rows(session, chosen, _by(by), config) if chosen else []
    charts = crud_service.semester_charts(session, chosen) if chosen else {"satisfaction": {}, "grades": {}}
    return page(request, "report.html", viewer, rows=rows, semesters=semesters, semester=chosen, by=by, by_zh=BY_ZH,
                charts=charts, config=config, names=crud_service.group_names(session, by, [r["group"] for r in rows]))


@router.get("/reports/performance.xlsx")
def report_xlsx(viewer: Office, session: SessionDep, settings: SettingsDep, semester: str, by: str = "college") -> Response:
    checked_semester(semester, ["query", "semester"])
    config = load_config(settings.performance_config)
    rows = crud_service.performance_rows(session, semester, _by(by), config)
    body = report_workbook(rows, semester, by, config, crud_service.group_names(session, by, [r["group"] for r in rows]))
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(f'xfd-report-{semester}-{by}.xlsx', safe='')}"})
