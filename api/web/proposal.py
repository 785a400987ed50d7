"""Office: "propose a team for this demand" (``POST /demands/{id}/proposal``),
with the reason for each member, swapping or pinning members, and accepting
the team (``POST /demands/{id}/team``).

A proposal is the solver's plan for this demand alone (``RunManager.propose``).
Pinned members are kept when a new proposal is asked for; a swap replaces a
member by a recommended profile.  Accepting stores a one-demand run whose plan
holds the chosen team and accepts it through ``crud.accept_run`` — the same
path (and lifecycle checks) as accepting a batch run.
"""
from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xfd.api import crud
from xfd.api.crud.runs import utcnow
from xfd.api.deps import EngineDep, RunsDep, SessionDep
from xfd.api.errors import FieldInvalid
from xfd.api.records import demand_from_row
from xfd.api.storage.models import DemandRow, ProfileRow
from xfd.api.web import workflow
from xfd.api.web.auth import Viewer, csrf_for
from xfd.api.web.render import PageRoute, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
OfficeForm = Annotated[Viewer, Depends(csrf_for("office"))]
CANDIDATES = 15


def _covers(p: ProfileRow | None, required: list[str]) -> list[str]:
    return [d for d in (p.disciplines or []) if d in required] if p is not None else []


def _merge(pinned: list[str], proposed: list[str], swaps: dict[str, str], size_max: int) -> list[str]:
    """Pinned members first, then the proposal's others, each swapped as asked, without repeats, at most ``size_max``."""
    out: list[str] = []
    for pid in [*pinned, *proposed]:
        pid = swaps.get(pid) or pid
        if pid not in out:
            out.append(pid)
    keep = [p for p in out if p in pinned]
    rest = [p for p in out if p not in pinned]
    return (keep + rest)[: max(size_max, len(keep))]


def _context(session: Session, engine: Any, row: DemandRow, plan: dict[str, Any], members: list[str],
             pinned: list[str]) -> dict[str, Any]:
    team = next((t for t in plan.get("teams", []) if t.get("demand_id") == row.id), None)
    proposed = {str(m.get("profile_id")): m for m in (team or {}).get("members", [])}
    recs = workflow.recommendations(session, engine, row, k=CANDIDATES)
    by_id = {m.id: m for m in recs.matches}
    required = list(row.disciplines) if row.disciplines is not None else sorted({c for m in proposed.values() for c in m.get("covers", [])})
    rows = []
    for pid in members:
        p = session.get(ProfileRow, pid)
        m = proposed.get(pid, {})
        rec = by_id.get(pid)
        covers = list(m.get("covers") or _covers(p, required))
        rows.append(workflow.Member(pid, p.name if p else "", p.kind if p else "", p.college if p else "",
                                    p.title if p else "", covers, str(m.get("role", "")),
                                    float(m["score"]) if "score" in m else (rec.score if rec else None),
                                    rec.evidence if rec else []))
    unassigned = [u.get("reason", "") for u in plan.get("unassigned", []) if u.get("demand_id") == row.id]
    return {"demand": row, "members": rows, "pinned": set(pinned), "candidates": [m for m in recs.matches if m.id not in members],
            "unassigned": unassigned, "missing": (team or {}).get("missing_disciplines", []), "required": required}


Ids = Annotated[list[str], Form(max_length=200)]


@router.post("/demands/{demand_id}/proposal", response_class=HTMLResponse)
def propose(request: Request, demand_id: str, viewer: OfficeForm, session: SessionDep, engine: EngineDep, runs: RunsDep,
            member: Ids = [], pin: Ids = [], swap: Ids = [],  # noqa: B006  (FastAPI copies defaults)
            action: Annotated[str, Form(max_length=20)] = "again") -> HTMLResponse:
    """A new proposal; members ticked ``pin`` stay; ``swap`` (one per member, in order) replaces one."""
    row = crud.visible_demand(session, viewer.principal, demand_id)
    pinned = [p for p in pin if p in member]
    swaps = {pid: new for pid, new in zip(member, swap) if new}
    if action == "swap":  # keep the current members, only swapping
        plan: dict[str, Any] = {"teams": [{"demand_id": row.id, "members": []}]}
        members = _merge(pinned, member, swaps, row.team_size_max)
    else:
        plan = runs.propose(demand_from_row(row))
        team = next((t for t in plan.get("teams", []) if t.get("demand_id") == row.id), {})
        proposed = [str(m.get("profile_id")) for m in team.get("members", [])]
        members = _merge(pinned, proposed, {}, row.team_size_max) if pinned else proposed
    return page(request, "proposal.html", viewer, **_context(session, engine, row, plan, members, pinned))


@router.post("/demands/{demand_id}/team", response_class=HTMLResponse)
def accept_team(demand_id: str, viewer: OfficeForm, session: SessionDep, member: Ids = []) -> Response:  # noqa: B006
    """Accept the shown members as this demand's team."""
    row = crud.visible_demand(session, viewer.principal, demand_id)
    members = list(dict.fromkeys(member))
    if not members:
        raise FieldInvalid(["form", "member"], "小分队至少需要一名成员 a team needs at least one member")
    required = list(row.disciplines or [])
    profiles = [crud.get_profile(session, pid) for pid in members]
    lead = next((p.id for p in profiles if p.kind == "teacher"), None)
    team_members = [{"profile_id": p.id, "role": "lead" if p.id == lead else "member", "score": 0.0,
                     "covers": _covers(p, required)} for p in profiles]
    plan = {"objective": 0.0, "teams": [{"demand_id": row.id, "members": team_members, "missing_disciplines": []}],
            "unassigned": [], "moves": []}
    run = crud.create_run(session, {"demand_ids": [row.id], "source": "web proposal"}, viewer.principal.key_id or None)
    crud.set_run(session, run.id, status="done", progress=1.0, plan=plan, finished_at=utcnow())
    session.expire(run)  # set_run wrote with an UPDATE statement
    crud.accept_run(session, run.id, viewer.principal)
    return RedirectResponse(f"/demands/{quote(row.id, safe='')}?done=team", status_code=303)
