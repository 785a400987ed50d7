"""A team for one demand, chosen by the office (the proposal page's "采纳这个小分队").

``semester_load`` counts, per profile, the teams of a semester it already serves (each
team once; the demand's own team of that semester, which accepting replaces, is left
out; only teams of demands still served — ``teamed``/``in_service`` — take capacity, as
a batch run re-plans every such demand).  A proposal subtracts it from capacities
before solving (``xfd.api.runs.RunManager.propose``), and ``accept_team`` checks the
chosen members against every hard constraint of a plan with the same load
(``xfd.matching.assign.team_check.check_team``), then stores the team as a one-demand
run accepted in the same transaction — all or nothing.

Who may: the office (the callers check the role).  Which demands: those a batch run
plans (``accepted``, ``teamed``, ``in_service``: accepting a run gives them the
semester's team, and ``accepted`` ones become ``teamed``); any other state is a
``Conflict`` naming both states, and nothing is stored.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from xfd.api.crud.runs import Accepted, utcnow
from xfd.api.crud.teams import default_semester, planned_demands, teams_from_plan
from xfd.api.errors import Conflict, FieldInvalid
from xfd.api.records import demand_from_row
from xfd.api.security import Principal
from xfd.api.storage.models import AssignmentRun, DemandRow
from xfd.api.storage.service import Team, TeamMember
from xfd.matching import lifecycle
from xfd.matching.types import Demand

if TYPE_CHECKING:
    from xfd.api.engine import MatchEngine
    from xfd.matching.assign.team_check import Refusal, TeamCheck

#: ``params["source"]`` of the run an accepted proposal is stored as
SOURCE = "web proposal"


class TeamRefused(FieldInvalid):
    """The chosen members break hard constraints (422 on ``member``); ``refusals``
    lists every one (``kind``, ``profile_id``, message)."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        self.refusals = list(refusals)
        super().__init__(["form", "member"], "；".join(r.message for r in self.refusals))


def semester_load(session: Session, semester: str, exclude_demand: str | None = None) -> dict[str, int]:
    """``{profile id: teams of semester it serves}``, counting each team once, only teams of
    demands still served (``teamed``, ``in_service``) and not ``exclude_demand``'s team."""
    q = (select(TeamMember.profile_id, func.count(distinct(TeamMember.team_id)))
         .join(Team, Team.id == TeamMember.team_id)
         .join(DemandRow, DemandRow.id == Team.demand_id)
         .where(Team.semester == semester, DemandRow.status.in_(lifecycle.PLANNED))
         .group_by(TeamMember.profile_id))
    if exclude_demand is not None:
        q = q.where(Team.demand_id != exclude_demand)
    return {pid: int(n) for pid, n in session.execute(q)}


def semester_demand(session: Session, row: DemandRow, semester: str) -> Demand:
    """The demand as a run for ``semester`` plans it (its newest team of another semester as
    ``current_team``, ``teams.planned_demands``); as stored when it is not planned."""
    planned = planned_demands(session, [row.id], semester) if row.status in lifecycle.PLANNED else []
    return planned[0] if planned else demand_from_row(row)


def proposal_inputs(session: Session, row: DemandRow, semester: str | None = None) -> tuple[Demand, dict[str, int]]:
    """What a proposal for the demand in ``semester`` (default the current one) is solved from:
    the demand as a run plans it (``semester_demand``) and the capacity other teams of the
    semester already use (``semester_load``)."""
    semester = semester or default_semester()
    return semester_demand(session, row, semester), semester_load(session, semester, exclude_demand=row.id)


def check_state(row: DemandRow) -> None:
    """``Conflict`` naming both states unless a team can be accepted for the demand now."""
    if row.status in lifecycle.PLANNED:
        return
    try:
        lifecycle.check_transition(row.status, "teamed", "office", "run")
    except lifecycle.LifecycleError as exc:
        raise Conflict(f"不能采纳小分队 cannot accept a team: {exc}") from None
    raise Conflict(f"不能采纳小分队 cannot accept a team: 需求状态为 {lifecycle.label(row.status)} "
                   f"the demand is {row.status}, not one of {', '.join(lifecycle.PLANNED)}")


def review_team(session: Session, engine: MatchEngine, row: DemandRow, members: Sequence[str],
                semester: str | None = None) -> TeamCheck:
    """``members`` checked as the demand's team of ``semester`` (default the current one) against
    every hard constraint of a plan, with the capacity the semester's other teams use; the
    scores are the engine's (``xfd score``'s) on the fresh index.  The demand's state is not
    looked at (``check_state``); nothing is written."""
    from xfd.matching.assign.team_check import check_team  # noqa: PLC0415  (the solver stack, loaded on use)

    semester = semester or default_semester()
    demand, used = proposal_inputs(session, row, semester)
    profiles, scores, required = engine.score([demand])
    return check_team(profiles, demand, scores[0], required[0], list(members), used, semester)


def check_members(session: Session, engine: MatchEngine, row: DemandRow, members: Sequence[str],
                  semester: str | None = None) -> dict[str, Any]:
    """The one-team plan of ``members`` (``review_team``); ``Conflict`` naming both states when
    the demand cannot get a team now, ``TeamRefused`` listing every broken constraint."""
    check_state(row)
    result = review_team(session, engine, row, members, semester)
    if not result.ok or result.plan is None:
        raise TeamRefused(result.refusals)
    return result.plan


def accept_team(session: Session, engine: MatchEngine, principal: Principal, row: DemandRow,
                members: Sequence[str], semester: str | None = None) -> Accepted:
    """Check ``members`` (``check_members``) and store them as the demand's team of ``semester``
    (default the current one): a ``done`` one-demand run (``params["source"]`` = ``SOURCE``)
    holding the plan, accepted at once (``teams.teams_from_plan``: the team with roles, scores,
    covers; ``accepted`` -> ``teamed``).  One commit; nothing is written when a check fails."""
    semester = semester or default_semester()
    plan = check_members(session, engine, row, members, semester)
    now = utcnow()
    run = AssignmentRun(id=uuid.uuid4().hex, status="done", phase="done", progress=1.0, plan=plan,
                        params={"demand_ids": [row.id], "source": SOURCE, "semester": semester, "solver": "office"},
                        created_by=principal.key_id or None, finished_at=now, accepted_at=now)
    session.add(run)
    try:
        assigned = teams_from_plan(session, plan, semester, principal, run.id)
        if assigned != [row.id]:  # the demand changed state under us
            raise Conflict(f"需求状态已改变，未保存 the demand changed state meanwhile; nothing was stored "
                           f"(now {row.status})")
        session.commit()
    except Exception:
        session.rollback()
        raise
    return Accepted(run, assigned)
