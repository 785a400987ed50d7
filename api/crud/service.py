"""Service records: activities of a team, the outcome of a demand, the
enterprise's rating, and the facts a performance report is computed from.

Who may write (anyone else gets 403 when it can see the record, else 404):

- an activity: staff, or a teacher who is a member of the team; participants
  must be members (422); the demand must be ``teamed`` or ``in_service``
  (409); the first activity of a ``teamed`` demand moves it to ``in_service``;
- an outcome: staff, or the lead of the demand's newest team; the demand
  must be ``in_service`` (it moves to ``solved`` / ``unsolved``, else 409);
- a rating: the owning enterprise, once its demand is ``solved`` or
  ``unsolved``, once per demand (409 after).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xfd.api.crud.lifecycle import LifecycleForbidden, by_fields, find_demand, move, public_demand_id
from xfd.api.crud.teams import latest_team, members_of, visible_team
from xfd.api.errors import Conflict, FieldInvalid
from xfd.api.security import Principal
from xfd.api.storage.models import DemandRow, ProfileRow
from xfd.api.storage.service import Activity, Outcome, Rating, Team
from xfd.matching import lifecycle
from xfd.matching.performance import MemberFacts, TeamFacts

NOT_A_TEACHER_OF_TEAM = "无权限：只有办公室或本小分队的教师可以记录服务活动 forbidden: only the office or a teacher of this team logs activities"
NOT_THE_LEAD = "无权限：只有办公室或小分队负责人可以登记成果 forbidden: only the office or the team's lead records the outcome"
NOT_THE_OWNER = "无权限：只有提出需求的企业可以评价 forbidden: only the demand's enterprise rates it"


def add_activity(session: Session, principal: Principal, team_id: str, date: dt.date, kind: str, hours: float,
                 participants: Sequence[str], note: str = "") -> Activity:
    """Log an activity of a visible team (see the module docstring); commits."""
    team = visible_team(session, principal, team_id)
    members = {m.profile_id for m in members_of(session, [team.id])[team.id]}
    if not principal.is_staff and not (principal.role == "teacher" and principal.profile_id in members):
        raise LifecycleForbidden(NOT_A_TEACHER_OF_TEAM)
    for k, pid in enumerate(participants):
        if pid not in members:
            raise FieldInvalid(["body", "participants", k],
                               f"{pid} 不是该小分队成员 is not a member of team {team.id}")
    row = session.get(DemandRow, team.demand_id)
    if row is None or row.status not in ("teamed", "in_service"):
        status = row.status if row is not None else "?"
        raise Conflict(f"需求为 {lifecycle.label(status)}，不能再记录服务活动 "
                       f"activities are logged while a demand is teamed or in_service, not {status}")
    activity = Activity(team_id=team.id, date=date, kind=kind, hours=float(hours),
                        participants=list(dict.fromkeys(participants)), note=note, **by_fields(principal))
    session.add(activity)
    if row.status == "teamed":
        move(session, row, "in_service", principal, "activity", actor="office" if principal.is_staff else "teacher")
    session.commit()
    return activity


def list_activities(session: Session, principal: Principal, team_id: str) -> list[Activity]:
    team = visible_team(session, principal, team_id)
    return list(session.scalars(select(Activity).where(Activity.team_id == team.id).order_by(Activity.date, Activity.id)))


def add_outcome(session: Session, principal: Principal, demand_id: str, solved: bool, contract_amount: float = 0.0,
                patents: int = 0, papers: int = 0, other: str = "", note: str = "") -> tuple[Outcome, DemandRow]:
    """Record the outcome of a visible demand against its newest team; moves it
    ``in_service`` -> ``solved``/``unsolved``; commits."""
    row = find_demand(session, principal, demand_id)
    team = latest_team(session, row.id)
    if not principal.is_staff:
        lead = team is not None and principal.role == "teacher" and any(
            m.role == "lead" and m.profile_id == principal.profile_id for m in members_of(session, [team.id])[team.id])
        if not lead:
            raise LifecycleForbidden(NOT_THE_LEAD)
    target = "solved" if solved else "unsolved"
    if team is None:  # only reachable for a demand that never had a team: not in service either
        raise Conflict(f"需求状态不能从 {lifecycle.label(row.status)} 变为 {lifecycle.label(target)}：还没有小分队 "
                       f"a demand cannot go from {row.status} to {target}: it has no team")
    move(session, row, target, principal, "outcome", actor="office" if principal.is_staff else "teacher")
    outcome = Outcome(demand_id=row.id, team_id=team.id, solved=bool(solved), contract_amount=float(contract_amount),
                      patents=int(patents), papers=int(papers), other=other, note=note, **by_fields(principal))
    session.add(outcome)
    session.commit()
    return outcome, row


def add_rating(session: Session, principal: Principal, demand_id: str, satisfaction: int,
               comment: str = "") -> tuple[Rating, DemandRow]:
    """The owning enterprise rates its closed demand, once; commits."""
    row = find_demand(session, principal, demand_id)
    if principal.role != "enterprise":
        raise LifecycleForbidden(NOT_THE_OWNER)
    if row.status not in lifecycle.CLOSED:
        raise Conflict(f"需求为 {lifecycle.label(row.status)}，解决或未解决后才能评价 "
                       f"a demand is rated once it is solved or unsolved, not {row.status}")
    if session.scalar(select(Rating.id).where(Rating.demand_id == row.id)) is not None:
        raise Conflict(f"需求 {public_demand_id(row, principal)} 已评价过，每个需求只能评价一次 "
                       "this demand was already rated (once per demand)")
    outcome = session.scalar(select(Outcome).where(Outcome.demand_id == row.id))
    team_id = outcome.team_id if outcome is not None else latest_team(session, row.id).id
    rating = Rating(demand_id=row.id, team_id=team_id, satisfaction=int(satisfaction), comment=comment,
                    **by_fields(principal))
    session.add(rating)
    session.commit()
    return rating, row


# -- report facts ----------------------------------------------------------------------
def team_facts(session: Session, semester: str) -> list[TeamFacts]:
    """One ``TeamFacts`` per team of ``semester`` (members with their profile's kind,
    college and grade; activity hours; the outcome and rating recorded against it)."""
    teams = list(session.scalars(select(Team).where(Team.semester == semester).order_by(Team.id)))
    if not teams:
        return []
    ids = [t.id for t in teams]
    members = members_of(session, ids)
    pids = {m.profile_id for ms in members.values() for m in ms}
    profiles = {p.id: p for p in session.scalars(select(ProfileRow).where(ProfileRow.id.in_(pids)))} if pids else {}
    hours: dict[str, list[float]] = {t: [] for t in ids}
    for team_id, h in session.execute(select(Activity.team_id, Activity.hours).where(Activity.team_id.in_(ids))
                                      .order_by(Activity.id)):
        hours[team_id].append(float(h))
    outcomes = {o.team_id: o for o in session.scalars(select(Outcome).where(Outcome.team_id.in_(ids)))}
    ratings = {r.team_id: r for r in session.scalars(select(Rating).where(Rating.team_id.in_(ids)))}
    demands = {d.id: d for d in session.scalars(select(DemandRow).where(DemandRow.id.in_([t.demand_id for t in teams])))}
    out = []
    for t in teams:
        d = demands.get(t.demand_id)
        facts = []
        for m in members[t.id]:
            p = profiles.get(m.profile_id)
            facts.append(MemberFacts(m.profile_id, p.kind if p is not None else "teacher", m.role,
                                     p.college if p is not None else "", p.grade if p is not None else None))
        o, r = outcomes.get(t.id), ratings.get(t.id)
        out.append(TeamFacts(t.id, t.demand_id, d.enterprise_id if d else "", d.county if d else "", tuple(facts),
                             tuple(hours[t.id]), None if o is None else bool(o.solved),
                             float(o.contract_amount) if o is not None else 0.0,
                             r.satisfaction if r is not None else None))
    return out


def count_service_records(session: Session) -> dict[str, int]:
    """How many teams, activities, outcomes and ratings are stored (for the demo banner)."""
    return {name: session.scalar(select(func.count()).select_from(table)) or 0
            for name, table in (("teams", Team), ("activities", Activity), ("outcomes", Outcome), ("ratings", Rating))}


def performance_rows(session: Session, semester: str, by: str, config: Any = None) -> list[dict[str, Any]]:
    """The performance report of ``semester`` grouped ``by`` team|teacher|college|county,
    as JSON-ready rows (``xfd.matching.performance``); the API and ``xfd report`` call this."""
    from xfd.matching.performance import GROUP_BY, performance_report, row_dict  # noqa: PLC0415

    if by not in GROUP_BY:
        raise FieldInvalid(["query", "by"], f"by: 未知分组 unknown grouping {by!r}; valid: {', '.join(GROUP_BY)}")
    return [row_dict(r) for r in performance_report(team_facts(session, semester), by, config)]


def group_names(session: Session, by: str, groups: Sequence[str]) -> dict[str, str]:
    """What people call report groups shown by id (``by`` "teacher": the teacher's name; "team": its
    demand's title); {} for the other groupings and for ids without a name."""
    ids = [g for g in groups if g]
    if by == "teacher" and ids:
        rows = session.execute(select(ProfileRow.id, ProfileRow.name).where(ProfileRow.id.in_(ids)))
        return {pid: name for pid, name in rows if name}
    if by == "team" and ids:
        rows = session.execute(select(Team.id, DemandRow.title).join(DemandRow, DemandRow.id == Team.demand_id)
                               .where(Team.id.in_(ids)))
        return {tid: title for tid, title in rows if title}
    return {}


def semester_charts(session: Session, semester: str) -> dict[str, dict[int, int]]:
    """Distributions of ``semester`` for the report charts: ``satisfaction`` rating (1–5) ->
    number of ratings, ``grades`` student grade (1–4) -> distinct students in its teams."""
    facts = team_facts(session, semester)
    satisfaction = {k: 0 for k in range(1, 6)}
    for t in facts:
        if t.satisfaction is not None:
            satisfaction[t.satisfaction] = satisfaction.get(t.satisfaction, 0) + 1
    students = {m.profile_id: m.grade for t in facts for m in t.members if m.kind == "student"}
    grades = {k: 0 for k in range(1, 5)}
    for g in students.values():
        if g is not None:
            grades[g] = grades.get(g, 0) + 1
    return {"satisfaction": satisfaction, "grades": grades}
