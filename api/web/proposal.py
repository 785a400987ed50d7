"""Office: "propose a team for this demand" (``POST /demands/{id}/proposal``),
with the reason for each member, swapping or pinning members, and accepting
the team (``POST /demands/{id}/team``).

A proposal is the batch runs' solver's plan for this demand alone
(``RunManager.propose``), with the capacity the semester's other teams already use
taken off (``crud.proposal_inputs``).  Pinned members are kept when a new proposal
is asked for; a swap replaces a member by a recommended profile.  The shown team is
checked against every hard constraint of a plan (``crud.review_team``) and what it
breaks is listed above it.  Accepting (``crud.accept_team``) checks the demand's
state (409 naming both states) and the same constraints (422: the proposal page
again, each refusal naming the constraint and the member) and only then stores a
one-demand run, accepted at once, with the members' real roles, scores and covers.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xfd.api import crud
from xfd.api.crud.proposals import check_state
from xfd.api.deps import EngineDep, RunsDep, SessionDep
from xfd.api.engine import IndexUnavailable
from xfd.api.errors import Conflict
from xfd.api.storage.models import DemandRow, ProfileRow
from xfd.api.web import workflow
from xfd.api.web.auth import PageError, Viewer, csrf_for
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


def _index_down(exc: IndexUnavailable) -> PageError:
    return PageError(503, f"匹配索引暂不可用，请稍后再试 the matching index is unavailable, try again shortly: {exc}")


def _context(session: Session, engine: Any, row: DemandRow, plan: dict[str, Any], members: list[str],
             pinned: list[str], refusals: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """The page's data; ``refusals``: (member id or "", message) of each constraint the shown team breaks."""
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
    member_errors: dict[str, list[str]] = {}
    for pid, message in refusals:
        if pid:
            member_errors.setdefault(pid, []).append(message)
    return {"demand": row, "members": rows, "pinned": set(pinned), "candidates": [m for m in recs.matches if m.id not in members],
            "unassigned": unassigned, "missing": (team or {}).get("missing_disciplines", []), "required": required,
            "refusals": [message for _pid, message in refusals], "member_errors": member_errors}


def _reviewed(session: Session, engine: Any, row: DemandRow,
              members: list[str]) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """``crud.review_team`` of the shown members: (their one-team plan or None, the refusals as
    (member id or "", message)); a demand whose state allows no team gets that as its first refusal."""
    if not members:
        return None, []
    try:
        review = crud.review_team(session, engine, row, members)
    except IndexUnavailable as exc:
        raise _index_down(exc) from None
    refusals = [(r.profile_id, r.message) for r in review.refusals]
    try:
        check_state(row)
    except Conflict as exc:
        refusals.insert(0, ("", str(exc)))
    return review.plan, refusals


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
        members = _merge(pinned, member, swaps, row.team_size_max)
    else:
        demand, used = crud.proposal_inputs(session, row)
        try:
            proposal = runs.propose(demand, used=used)
        except IndexUnavailable as exc:
            raise _index_down(exc) from None
        team = next((t for t in proposal.get("teams", []) if t.get("demand_id") == row.id), {})
        proposed = [str(m.get("profile_id")) for m in team.get("members", [])]
        members = _merge(pinned, proposed, {}, row.team_size_max) if pinned else proposed
    checked, refusals = _reviewed(session, engine, row, members)
    plan: dict[str, Any] = checked or {"teams": [{"demand_id": row.id, "members": []}]}
    if action != "swap":
        plan = {**plan, "unassigned": proposal.get("unassigned", [])}
    return page(request, "proposal.html", viewer, **_context(session, engine, row, plan, members, pinned, refusals))


@router.post("/demands/{demand_id}/team", response_class=HTMLResponse)
def accept_team(request: Request, demand_id: str, viewer: OfficeForm, session: SessionDep, engine: EngineDep,
                member: Ids = [], pin: Ids = []) -> Response:  # noqa: B006
    """Accept the shown members as this demand's team: the data layer checks the demand's state
    (409) and every hard constraint (422: this proposal again, each refusal listed)."""
    row = crud.visible_demand(session, viewer.principal, demand_id)
    try:
        crud.accept_team(session, engine, viewer.principal, row, member)
    except IndexUnavailable as exc:
        raise _index_down(exc) from None
    except crud.TeamRefused as exc:
        members = list(dict.fromkeys(member))
        refusals = [(r.profile_id, r.message) for r in exc.refusals]
        context = _context(session, engine, row, {"teams": []}, members, [p for p in pin if p in members], refusals)
        return page(request, "proposal.html", viewer, status_code=422, **context)
    return RedirectResponse(f"/demands/{quote(row.id, safe='')}?done=team", status_code=303)
