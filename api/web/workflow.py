"""What the pages ask of the data layer about one demand: its allowed next
statuses, history, team, recommendations and team proposals.

Thin glue over ``xfd.api.crud``, ``xfd.matching.lifecycle`` and the warm
``MatchEngine``; the pages never decide access or transitions themselves.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from xfd.api import crud
from xfd.api.crud import lifecycle as crud_lifecycle
from xfd.api.crud import teams
from xfd.api.engine import IndexUnavailable, MatchEngine
from xfd.api.errors import FieldInvalid
from xfd.api.records import demand_from_row
from xfd.api.security import Principal
from xfd.api.storage.models import DemandRow, ProfileRow
from xfd.api.web import messages
from xfd.matching import lifecycle
from xfd.matching.record_fields import RequiredDisciplines
from xfd.matching.types import Demand

DONE_MESSAGES = {
    "accepted": "已受理该需求，可以为它组队。 Accepted; it can now be teamed.",
    "returned": "已退回该需求，企业会看到退回原因。 Returned; the enterprise sees the reason.",
    "withdrawn": "需求已撤回。 The demand was withdrawn.",
    "closed": "需求已关闭。 The demand was closed.",
    "open": "需求已重新打开。 The demand was reopened.",
    "team": "小分队已确定。 The team was accepted.",
}
ACTION_LABELS = {
    "accepted": "受理 Accept", "returned": "退回 Return", "withdrawn": "撤回需求 Withdraw",
    "closed": "关闭 Close", "open": "重新打开 Reopen",
}


def status_choices() -> list[str]:
    return list(lifecycle.STATUSES)


def actions_for(principal: Principal, row: DemandRow) -> list[tuple[str, str]]:
    """``(status, button label)`` of the changes this viewer may make on the page (the lifecycle's ``patch`` edges)."""
    if principal.role == "teacher" or row.status not in lifecycle.STATUSES:
        return []
    nexts = lifecycle.next_statuses(row.status, crud_lifecycle.actor_of(principal), "patch")
    return [(s, ACTION_LABELS.get(s, s)) for s in nexts]


def transition(session: Session, principal: Principal, demand_id: str, status: str, reason: str) -> DemandRow:
    """Move a visible demand to ``status`` (the lifecycle checks who and whether; history kept; commits)."""
    return crud.change_demand_status(session, principal, demand_id, status, reason)


class HistoryEntry(NamedTuple):
    at: Any
    status: str
    who: str
    reason: str


def history(session: Session, principal: Principal, row: DemandRow) -> list[HistoryEntry]:
    """The demand's status changes, oldest first."""
    shown = crud.public_demand_id(row, principal)
    return [HistoryEntry(h["at"], h["to"], h.get("by") or "", h.get("reason") or "")
            for h in crud.demand_history(session, principal, shown)]


def return_reason(session: Session, principal: Principal, row: DemandRow) -> str:
    """The reason given when the demand was last returned, or ''."""
    if row.status != "returned":
        return ""
    for entry in reversed(history(session, principal, row)):
        if entry.status == "returned":
            return entry.reason
    return ""


class Member(NamedTuple):
    """A team member for display: profile fields plus what the member brings."""

    id: str
    name: str
    kind: str
    college: str
    title: str
    covers: list[str]
    role: str
    score: float | None
    evidence: list[dict[str, Any]]


def _member(p: ProfileRow | None, pid: str, covers: Sequence[str] = (), role: str = "", score: float | None = None,
            evidence: Sequence[dict[str, Any]] = ()) -> Member:
    if p is None:
        return Member(pid, "", "", "", "", list(covers), role, score, list(evidence))
    return Member(p.id, p.name, p.kind, p.college, p.title, list(covers), role, score, list(evidence))


def team_of(session: Session, row: DemandRow) -> list[Member]:
    """The demand's newest accepted team (empty before it is teamed): members in plan order."""
    team = teams.latest_team(session, row.id)
    if team is None:
        return []
    return [_member(session.get(ProfileRow, m.profile_id), m.profile_id, list(m.covers or []), m.role, m.score)
            for m in teams.members_of(session, [team.id])[team.id]]


class Recommendations(NamedTuple):
    matches: list[Member]
    unavailable: str


def recommendations(session: Session, engine: MatchEngine, row: DemandRow, k: int = 10) -> Recommendations:
    """The top-``k`` profiles with evidence (document titles and matched terms)."""
    try:
        ranked = engine.recommend(demand_from_row(row), k)
    except IndexUnavailable as exc:
        return Recommendations([], f"匹配索引暂不可用 matching index unavailable: {exc}")
    out = []
    for m in ranked.matches:
        ev = [{"document": e.document, "terms": list(e.terms)} for e in m.evidence]
        out.append(_member(session.get(ProfileRow, m.profile_id), m.profile_id, score=float(m.score), evidence=ev))
    return Recommendations(out, "")


def suggest_disciplines(engine: MatchEngine, demand: Demand) -> list[str]:
    """Disciplines the scorer infers for a demand being written (none when the index is down)."""
    try:
        _profiles, _scores, required = engine.score([demand])
    except IndexUnavailable:
        return []
    return list(required[0]) if required else []


def inferred_disciplines(engine: MatchEngine, row: DemandRow) -> list[str]:
    """The disciplines a demand without its own list is planned with: what the scorer infers
    from its text (the same ``required_disciplines`` that batch runs and proposals use);
    none when the index is down."""
    try:
        return list(engine.required_disciplines([demand_from_row(row)])[0])
    except IndexUnavailable:
        return []


_DISCIPLINES: TypeAdapter[list[str] | None] = TypeAdapter(RequiredDisciplines)


def set_disciplines(session: Session, row: DemandRow, disciplines: list[str] | None) -> None:
    """The office confirms or edits the disciplines a demand's team must cover (the caller commits).

    Checked by the demand schema's own field type (``RequiredDisciplines``: the same limits as
    files and the API); ``None`` (the field left empty) means inferred from the text.
    """
    if disciplines is None:
        row.disciplines = None
        return
    try:
        row.disciplines = list(_DISCIPLINES.validate_python(disciplines) or [])
    except ValidationError as exc:
        first = exc.errors()[0]
        raise FieldInvalid(["form", "disciplines", *first.get("loc", ())], messages.error_text(first)) from exc


class TeacherDemands(NamedTuple):
    """The demands of a teacher's teams, newest team first, and ``team_ids``: demand id -> the id of
    its newest team this teacher may see (its team page)."""

    rows: list[DemandRow]
    team_ids: dict[str, str]


def teacher_demands(session: Session, principal: Principal) -> TeacherDemands:
    """The demands of the teams this teacher belongs to (any semester) and their newest teams."""
    rows: list[DemandRow] = []
    team_ids: dict[str, str] = {}
    for team in reversed(list(session.scalars(teams.teams_query(session, principal)))):
        if team.demand_id in team_ids:
            continue
        team_ids[team.demand_id] = team.id
        if (row := session.get(DemandRow, team.demand_id)) is not None:
            rows.append(row)
    return TeacherDemands(rows, team_ids)
