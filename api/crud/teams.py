"""Semesters and standing teams: created by accepting a run, read by the
office, their teachers and their demands' enterprises; the continuity a new
semester's run starts from.

Who sees a team: staff every team; a teacher the teams it is a member of; an
enterprise the teams of its own demands.  Any other team is ``NotFound``
(the same answer as for an id that does not exist).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from xfd.api.crud.demands import open_demand_rows
from xfd.api.crud.lifecycle import by_fields, find_demand, move, public_demand_id
from xfd.api.errors import NotFound
from xfd.api.records import demand_from_row
from xfd.api.security import Principal
from xfd.api.storage.models import DemandRow, ProfileRow
from xfd.api.storage.service import Activity, Outcome, Rating, Semester, Team, TeamMember
from xfd.matching import lifecycle
from xfd.matching.continuity import expand_current_team
from xfd.matching.types import Demand


def default_semester(today: dt.date | None = None) -> str:
    """The semester a run without one belongs to: ``{year}秋`` from August to January
    (January counts for the previous year's autumn), else ``{year}春``."""
    today = today or dt.datetime.now(dt.UTC).date()
    if today.month >= 8:
        return f"{today.year}秋"
    if today.month == 1:
        return f"{today.year - 1}秋"
    return f"{today.year}春"


def ensure_semester(session: Session, name: str) -> Semester:
    """The semester row, created on first use (the caller commits)."""
    row = session.get(Semester, name)
    if row is None:
        row = Semester(name=name)
        session.add(row)
        session.flush()
    return row


def list_semesters(session: Session) -> list[str]:
    """Semester names, oldest first."""
    return list(session.scalars(select(Semester.name).order_by(Semester.created_at, Semester.name)))


def members_of(session: Session, team_ids: Iterable[str]) -> dict[str, list[TeamMember]]:
    """Members per team id, in plan order."""
    ids = list(team_ids)
    out: dict[str, list[TeamMember]] = {t: [] for t in ids}
    if ids:
        q = select(TeamMember).where(TeamMember.team_id.in_(ids)).order_by(TeamMember.team_id, TeamMember.position)
        for m in session.scalars(q):
            out[m.team_id].append(m)
    return out


def latest_team(session: Session, demand_id: str, exclude_semester: str | None = None) -> Team | None:
    """The demand's newest team (optionally not of ``exclude_semester``)."""
    q = select(Team).where(Team.demand_id == demand_id)
    if exclude_semester is not None:
        q = q.where(Team.semester != exclude_semester)
    return session.scalar(q.order_by(Team.created_at.desc(), Team.id.desc()).limit(1))


def continuity(session: Session, demand_ids: Sequence[str], semester: str) -> dict[str, tuple[str, ...]]:
    """Per demand key: the member ids of its newest team of another semester (its
    continuity in a run for ``semester``); demands without one are absent."""
    out: dict[str, tuple[str, ...]] = {}
    for demand_id in demand_ids:
        team = latest_team(session, demand_id, exclude_semester=semester)
        if team is not None:
            out[demand_id] = tuple(m.profile_id for m in members_of(session, [team.id])[team.id])
    return out


def with_current_team(demand: Demand, members: tuple[str, ...]) -> Demand:
    """``demand`` with ``current_team`` replaced (dataclass or pydantic record)."""
    if hasattr(demand, "model_copy"):
        return demand.model_copy(update={"current_team": members})
    return dataclasses.replace(demand, current_team=members)


def planned_demands(session: Session, ids: Sequence[str] | None, semester: str) -> list[Demand]:
    """The demands a run for ``semester`` plans (``accepted``, ``teamed``, ``in_service``;
    only ``ids`` if given), each with its newest team of another semester as
    ``current_team`` (else the record's own ``current_team``, or the migrated
    ``assigned_team``; a team-kind profile named there stands for its members,
    ``xfd.matching.continuity``)."""
    rows = open_demand_rows(session, list(ids) if ids is not None else None)
    previous = continuity(session, [r.id for r in rows], semester)
    squads = {p.id: tuple(p.members or ()) for p in session.scalars(select(ProfileRow).where(ProfileRow.kind == "team"))}
    out = []
    for row in rows:
        demand = demand_from_row(row)
        if row.id in previous:
            demand = with_current_team(demand, previous[row.id])
        elif squads and demand.current_team:
            demand = with_current_team(demand, expand_current_team(demand.current_team, squads))
        out.append(demand)
    return out


def _new_team_id() -> str:
    return f"team-{uuid.uuid4().hex[:12]}"


def store_team(session: Session, row: DemandRow, semester: str, members: Sequence[dict[str, Any]],
               principal: Principal | None, run_id: str | None = None, role: str | None = None,
               team_id: str | None = None) -> Team:
    """Create (or replace the members of) the demand's team of ``semester`` from plan
    members (``profile_id``, ``role``, ``score``, ``covers``); the caller commits."""
    ensure_semester(session, semester)
    team = session.scalar(select(Team).where(Team.demand_id == row.id, Team.semester == semester))
    if team is None:
        team = Team(id=team_id or _new_team_id(), demand_id=row.id, semester=semester, run_id=run_id, **by_fields(principal, role))
        session.add(team)
        session.flush()
    else:
        team.run_id = run_id
        for m in members_of(session, [team.id])[team.id]:
            session.delete(m)
        session.flush()
    for k, m in enumerate(members):
        session.add(TeamMember(team_id=team.id, profile_id=str(m.get("profile_id")), role=str(m.get("role") or "member"),
                               covers=[str(c) for c in m.get("covers") or []], score=float(m.get("score") or 0.0),
                               position=k))
    row.assigned_team = [str(m.get("profile_id")) for m in members]
    session.flush()
    return team


def teams_from_plan(session: Session, plan: dict[str, Any], semester: str, principal: Principal | None,
                    run_id: str | None = None) -> list[str]:
    """Accepting a run: the teams of ``semester`` for every planned demand that is
    ``accepted``, ``teamed`` or ``in_service``; ``accepted`` ones become ``teamed``.
    Returns the demand keys given a team, in plan order (the caller commits)."""
    placed: list[str] = []
    for team in plan.get("teams", []):
        row = session.get(DemandRow, str(team.get("demand_id", "")))
        if row is None or row.status not in lifecycle.PLANNED or not team.get("members"):
            continue
        store_team(session, row, semester, team["members"], principal, run_id)
        if row.status == "accepted":
            move(session, row, "teamed", principal, "run", actor="office")
        placed.append(row.id)
    return placed


# -- reading ---------------------------------------------------------------------------
def _visible_query(principal: Principal) -> Select:
    q = select(Team)
    if principal.is_staff:
        return q
    if principal.role == "teacher":
        mine = select(TeamMember.team_id).where(TeamMember.profile_id == (principal.profile_id or ""))
        return q.where(Team.id.in_(mine))
    if principal.role == "enterprise":
        theirs = select(DemandRow.id).where(DemandRow.enterprise_id == (principal.enterprise_id or ""))
        return q.where(Team.demand_id.in_(theirs))
    return q.where(Team.id.is_(None))


class TeamNotFound(NotFound):
    """404 for a team id, the same whether it does not exist or is not visible (no echo)."""

    def __init__(self, ident: Any = "") -> None:
        super().__init__("team", ident)

    def __str__(self) -> str:
        return "小分队不存在或无权查看 team not found"


def visible_team(session: Session, principal: Principal, team_id: str) -> Team:
    """The team if this principal may see it, else ``TeamNotFound`` (the same for a missing id)."""
    team = session.scalar(_visible_query(principal).where(Team.id == team_id))
    if team is None:
        raise TeamNotFound(team_id)
    return team


def teams_query(session: Session, principal: Principal, semester: str | None = None,
                demand_id: str | None = None) -> Select:
    """``select(Team)`` of the teams this principal may see, oldest first, optionally of one
    semester / demand (as this principal knows the demand)."""
    q = _visible_query(principal)
    if semester is not None:
        q = q.where(Team.semester == semester)
    if demand_id is not None:
        try:
            key = find_demand(session, principal, demand_id).id
        except NotFound:
            key = ""
        q = q.where(Team.demand_id == key)
    return q.order_by(Team.created_at, Team.id)


def list_teams(session: Session, principal: Principal, semester: str | None = None,
               demand_id: str | None = None) -> list[Team]:
    """Teams this principal may see, oldest first, optionally of one semester / demand."""
    return list(session.scalars(teams_query(session, principal, semester, demand_id)))


def member_public(m: TeamMember) -> dict[str, Any]:
    return {"profile_id": m.profile_id, "role": m.role, "score": float(m.score), "covers": list(m.covers or [])}


def activity_public(a: Activity) -> dict[str, Any]:
    return {"id": a.id, "team_id": a.team_id, "date": a.date, "kind": a.kind, "hours": float(a.hours),
            "participants": list(a.participants or []), "note": a.note, "by": a.by_role, "at": a.created_at}


def outcome_public(o: Outcome, demand_id: str) -> dict[str, Any]:
    return {"demand_id": demand_id, "team_id": o.team_id, "solved": bool(o.solved),
            "contract_amount": float(o.contract_amount), "patents": o.patents, "papers": o.papers,
            "other": o.other, "note": o.note, "by": o.by_role, "at": o.created_at}


def rating_public(r: Rating, demand_id: str) -> dict[str, Any]:
    return {"demand_id": demand_id, "team_id": r.team_id, "satisfaction": r.satisfaction, "comment": r.comment,
            "by": r.by_role, "at": r.created_at}


def team_public(session: Session, team: Team, principal: Principal | None,
                members: Sequence[TeamMember] | None = None) -> dict[str, Any]:
    """A team: ``id``, ``demand_id`` (as this principal knows it), ``semester``, ``members``
    (as in the plan), the demand's ``status``, its activities, and the outcome and
    rating recorded against this team (None until there is one)."""
    return team_views(session, [team], principal, None if members is None else {team.id: list(members)})[0]


def team_views(session: Session, teams: Sequence[Team], principal: Principal | None,
               members: dict[str, list[TeamMember]] | None = None) -> list[dict[str, Any]]:
    """``team_public`` of each of ``teams``, in order, in a fixed number of queries
    (demands, members, activities, outcomes, ratings: one each, not one per team)."""
    if not teams:
        return []
    ids = [t.id for t in teams]
    if members is None:
        members = members_of(session, ids)
    rows = {d.id: d for d in session.scalars(select(DemandRow).where(DemandRow.id.in_({t.demand_id for t in teams})))}
    acts: dict[str, list[Activity]] = {t: [] for t in ids}
    for a in session.scalars(select(Activity).where(Activity.team_id.in_(ids)).order_by(Activity.date, Activity.id)):
        acts[a.team_id].append(a)
    outcomes = {o.team_id: o for o in session.scalars(select(Outcome).where(Outcome.team_id.in_(ids)).order_by(Outcome.id.desc()))}
    ratings = {r.team_id: r for r in session.scalars(select(Rating).where(Rating.team_id.in_(ids)).order_by(Rating.id.desc()))}
    out = []
    for team in teams:
        row = rows.get(team.demand_id)
        shown = public_demand_id(row, principal) if row is not None else team.demand_id
        outcome, rating = outcomes.get(team.id), ratings.get(team.id)
        out.append({
            "id": team.id, "demand_id": shown, "semester": team.semester,
            "members": [member_public(m) for m in members.get(team.id, [])],
            "status": row.status if row is not None else "", "run_id": team.run_id, "created_at": team.created_at,
            "activities": [activity_public(a) for a in acts[team.id]],
            "outcome": outcome_public(outcome, shown) if outcome is not None else None,
            "rating": rating_public(rating, shown) if rating is not None else None,
        })
    return out
