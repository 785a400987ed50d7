"""Demand pages: ``/demands`` (list), ``/demands/new`` (submit), ``/demands/{id}``
(the demand, its history and team; for the office recommendations) and the
enterprise's withdraw action.

Access goes through ``xfd.api.crud`` with the viewer's principal, exactly as
the API does: another enterprise's demand is ``NotFound`` -> a 404 page.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field, TypeAdapter
from sqlalchemy.orm import Session

from xfd import corpora
from xfd.api import crud
from xfd.api.deps import EngineDep, SessionDep
from xfd.api.engine import MatchEngine
from xfd.api.errors import Conflict, FieldInvalid
from xfd.api.records import demand_errors, record_error_type, validate_demand
from xfd.api.storage.models import DemandRow
from xfd.api.web import messages, workflow
from xfd.api.web.auth import Viewer, csrf_for, require
from xfd.api.web.render import PageRoute, page
from xfd.matching.record_fields import MAX_TEAM_SIZE

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 20
SORTS = {
    "new": (lambda r: (r.created_at, r.id), True),
    "old": (lambda r: (r.created_at, r.id), False),
    "title": (lambda r: (r.title, r.id), False),
    "status": (lambda r: (r.status, r.id), False),
    "enterprise": (lambda r: (r.enterprise_id, r.id), False),
}
Submitter = Annotated[Viewer, Depends(require("enterprise", "office"))]
Reader = Annotated[Viewer, Depends(require("enterprise", "office"))]
#: a teacher may open the demands of their own teams (the data layer decides which)
DemandReader = Annotated[Viewer, Depends(require("enterprise", "office", "teacher"))]


def industry_sections() -> list[tuple[str, str]]:
    """GB/T 4754 sections ``A``..``T`` as ``(code, name)``."""
    return [(c, n) for c, n in corpora.read_industries().items() if c.isalpha()]


def discipline_names() -> list[str]:
    return [row.name for row in corpora.read_disciplines()]


@router.get("/demands", response_class=HTMLResponse)
def demand_list(
    request: Request,
    viewer: Reader,
    session: SessionDep,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    sort: Annotated[str, Query(max_length=20)] = "new",
    status: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    key, reverse = SORTS.get(sort, SORTS["new"])
    rows = crud.list_demands(session, viewer.principal, status=status or None)
    if q.strip():
        needle = q.strip().lower()
        rows = [r for r in rows if needle in f"{r.id} {r.title} {r.enterprise_id}".lower()]
    rows.sort(key=key, reverse=reverse)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page_no = min(page_no, pages)
    shown = rows[(page_no - 1) * PAGE_SIZE: page_no * PAGE_SIZE]
    return page(request, "demands.html", viewer, rows=shown, total=len(rows), page_no=page_no, pages=pages,
                sort=sort if sort in SORTS else "new", status=status or "", q=q, statuses=workflow.status_choices())


def _form_context(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {"values": values, "errors": errors, "industries": industry_sections(), "disciplines": discipline_names()}


@router.get("/demands/new", response_class=HTMLResponse)
def new_demand(request: Request, viewer: Submitter) -> HTMLResponse:
    return page(request, "demand_new.html", viewer, **_form_context({"team_min": 3, "team_max": 5}, {}))


def _split_list(text: str) -> list[str]:
    for sep in "，、;；\n":
        text = text.replace(sep, ",")
    return [part.strip() for part in text.split(",") if part.strip()]


def _raw_demand(viewer: Viewer, values: dict[str, Any]) -> dict[str, Any]:
    """The demand record the form describes (the API's body shape)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    raw: dict[str, Any] = {"id": values["id"] or f"W{stamp}-{secrets.token_hex(3).upper()}", "title": values["title"],
                           "description": values["description"], "county": values["county"], "industry": values["industry"],
                           "enterprise": viewer.account.enterprise_id if viewer.account.role == "enterprise" else values["enterprise"]}
    disciplines = _split_list(values["disciplines"])
    if disciplines:
        raw["disciplines"] = disciplines
    if values["team_min"] or values["team_max"]:
        raw["team_size"] = [values["team_min"] or 1, values["team_max"] or values["team_min"]]
    return {k: v for k, v in raw.items() if v not in ("", None)}


FIELD_OF = {"team_size": "team_max", "team_size[0]": "team_min", "team_size[1]": "team_max"}
#: a team-size bound typed in the form (the record's own check adds min <= max)
TEAM_SIZE: TypeAdapter[int] = TypeAdapter(Annotated[int, Field(ge=1, le=MAX_TEAM_SIZE)])


@router.post("/demands/new", response_class=HTMLResponse)
def submit_demand(
    request: Request,
    viewer: Annotated[Viewer, Depends(csrf_for("enterprise", "office"))],
    session: SessionDep,
    engine: EngineDep,
    title: Annotated[str, Form(max_length=500)] = "",
    description: Annotated[str, Form(max_length=20_000)] = "",
    county: Annotated[str, Form(max_length=100)] = "",
    industry: Annotated[str, Form(max_length=10)] = "",
    disciplines: Annotated[str, Form(max_length=2000)] = "",
    team_min: Annotated[str, Form(max_length=20)] = "",
    team_max: Annotated[str, Form(max_length=20)] = "",
    enterprise: Annotated[str, Form(max_length=64)] = "",
    id: Annotated[str, Form(max_length=64)] = "",
    action: Annotated[str, Form(max_length=20)] = "submit",
) -> Response:
    values = {"id": id.strip(), "title": title.strip(), "description": description.strip(), "county": county.strip(),
              "industry": industry.strip(), "disciplines": disciplines.strip(), "team_min": team_min.strip(),
              "team_max": team_max.strip(), "enterprise": enterprise.strip()}
    errors: dict[str, str] = {}
    sizes: dict[str, int | None] = {}
    for name in ("team_min", "team_max"):  # typed text kept in ``values``; the number checked here
        try:
            sizes[name] = messages.parse(TEAM_SIZE, values[name], name) if values[name] else None
        except FieldInvalid as exc:
            errors[name] = exc.message
    low, high = sizes.get("team_min"), sizes.get("team_max")
    if low is not None and high is not None and high < low:  # beside the bound, not the record's [min, max] text
        errors["team_max"] = messages.error_text({"type": "range_order", "ctx": {"low": low}})
    if not values["title"]:
        errors["title"] = "请填写标题 the title is required"
    if viewer.account.role != "enterprise" and not values["enterprise"]:
        errors["enterprise"] = "请填写企业编号 the enterprise id is required"
    if industry and industry not in dict(industry_sections()):
        errors["industry"] = f"未知行业门类 unknown GB/T 4754 section {industry!r}"
    raw = _raw_demand(viewer, {**values, **sizes})
    # every field's problem at once, beside its field (the form's own checks above come first)
    for field, text in messages.all_errors(demand_errors(raw), FIELD_OF, default="title").items():
        errors.setdefault(field, text)
    demand = None
    if not errors:
        try:
            demand = validate_demand(raw)
        except record_error_type() as exc:
            field = str(getattr(exc, "field", "") or "title")
            errors[FIELD_OF.get(field, field)] = str(getattr(exc, "reason", None) or exc)
    if errors or demand is None or action == "suggest":
        context = _form_context(values, errors)
        if demand is not None and action == "suggest":
            context["suggested"] = workflow.suggest_disciplines(engine, demand)
        return page(request, "demand_new.html", viewer, status_code=422 if errors else 200, **context)
    request_hash = hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    try:
        stored = crud.submit_demand(session, viewer.principal, demand, None, request_hash)
    except Conflict as exc:  # the id names a demand past 待审核 (or another enterprise's, for the office)
        session.rollback()
        return page(request, "demand_new.html", viewer, status_code=409, **_form_context(values, {"id": str(exc)}))
    return RedirectResponse(f"/demands/{quote(str(stored.body['id']), safe='')}?created=1", status_code=303)


def _demand_context(session: Session, engine: MatchEngine, viewer: Viewer, row: DemandRow) -> dict[str, Any]:
    """What ``demand.html`` shows this viewer about ``row``."""
    context: dict[str, Any] = {
        "demand": row,
        "history": workflow.history(session, viewer.principal, row),
        "team": workflow.team_of(session, row),
        "actions": workflow.actions_for(viewer.principal, row),
        "return_reason": workflow.return_reason(session, viewer.principal, row),
        "errors": {}, "values": {},
    }
    if viewer.account.is_staff:
        context["recommendations"] = workflow.recommendations(session, engine, row, k=10)
    if row.disciplines is None:  # inferred from the text: shown by name, and offered to the office to confirm
        context["inferred"] = workflow.inferred_disciplines(engine, row)
    return context


@router.get("/demands/{demand_id}", response_class=HTMLResponse)
def demand_page(
    request: Request,
    demand_id: str,
    viewer: DemandReader,
    session: SessionDep,
    engine: EngineDep,
    created: int = 0,
    done: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    row = crud.visible_demand(session, viewer.principal, demand_id)
    flash = {"1": "需求已提交，办公室审核后会为您组建小分队。 Demand submitted; the office will review it."}.get(str(created), "")
    flash = flash or workflow.DONE_MESSAGES.get(done, "")
    return page(request, "demand.html", viewer, flash=flash, **_demand_context(session, engine, viewer, row))


@router.post("/demands/{demand_id}/status", response_class=HTMLResponse)
def change_status(
    request: Request,
    demand_id: str,
    viewer: Annotated[Viewer, Depends(csrf_for("enterprise", "office"))],
    session: SessionDep,
    engine: EngineDep,
    status: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    disciplines: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    """Withdraw (enterprise), accept or return with a reason (office); the lifecycle decides what is allowed.

    A missing reason or bad disciplines: the demand page again (422) with the error beside that
    field of that action's form and the typed text kept; nothing is written.
    """
    row = crud.visible_demand(session, viewer.principal, demand_id)
    shown = crud.public_demand_id(row, viewer.principal)
    try:
        if disciplines is not None and viewer.account.is_staff:
            workflow.set_disciplines(session, row, _split_list(disciplines) or None)
        workflow.transition(session, viewer.principal, shown, status, reason.strip())
    except FieldInvalid as exc:
        session.rollback()
        field = messages.field_of({"loc": exc.loc}) or "status"
        context = _demand_context(session, engine, viewer, crud.visible_demand(session, viewer.principal, shown))
        context.update(errors={"form": status, field: exc.message.removeprefix(f"{field}: ")},
                       values={"reason": reason, "disciplines": disciplines})
        return page(request, "demand.html", viewer, status_code=422, **context)
    return RedirectResponse(f"/demands/{quote(shown, safe='')}?done={status}", status_code=303)
