"""Feedback on a match (accepted / rejected / outcome), kept for recalibration.

Who may give and read it: the office (and admin) on any demand and any
profile; an enterprise only on its own demands and only about a profile of
that demand's team (``assigned_team``) — any other profile id answers exactly
like one that does not exist (``NotFound("profile", id)``), so feedback is no
way to learn which profile ids exist.  An enterprise lists the feedback on
its own demands (under its own demand ids); other roles are refused.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from xfd.api.crud.demands import visible_demand
from xfd.api.errors import Forbidden, NotFound
from xfd.api.security import Principal
from xfd.api.storage.models import DemandRow, Feedback, ProfileRow


def add_feedback(session: Session, principal: Principal, demand_id: str, profile_id: str, verdict: str,
                 note: str = "", score: float | None = None) -> Feedback:
    """Store one verdict on a demand the principal may see, about a profile it may name
    (see the module doc); commits."""
    if principal.role == "teacher":  # feedback is the office's and the enterprises' verdict
        raise Forbidden("office / enterprise")
    demand = visible_demand(session, principal, demand_id)
    if session.get(ProfileRow, profile_id) is None or (
            not principal.is_staff and profile_id not in (demand.assigned_team or [])):
        raise NotFound("profile", profile_id)
    row = Feedback(demand_id=demand.id, profile_id=profile_id, verdict=verdict, note=note, score=score,
                   created_by=principal.key_id)
    session.add(row)
    session.commit()
    return row


def feedback_query(principal: Principal, demand_id: str | None = None) -> Select:
    """``select(Feedback)`` by id of what this principal may read, optionally of one demand
    (an enterprise names its demand by its own id); ``Forbidden`` for roles other than
    staff and enterprise."""
    query = select(Feedback).order_by(Feedback.id)
    if principal.is_staff:
        return query if demand_id is None else query.where(Feedback.demand_id == demand_id)
    if principal.role != "enterprise":
        raise Forbidden("office")
    query = query.join(DemandRow, DemandRow.id == Feedback.demand_id).where(
        DemandRow.enterprise_id == principal.enterprise_id)
    return query if demand_id is None else query.where(DemandRow.ref == demand_id)


def feedback_view(session: Session, principal: Principal, rows: list[Feedback]) -> list[dict[str, Any]]:
    """The rows as answered to this principal: an enterprise sees its own demand ids."""
    refs: dict[str, str] = {}
    if principal.role == "enterprise" and rows:
        ids = sorted({f.demand_id for f in rows})
        refs = {r.id: r.ref or r.id for r in session.execute(select(DemandRow.id, DemandRow.ref).where(DemandRow.id.in_(ids)))}
    return [{"id": f.id, "demand_id": refs.get(f.demand_id, f.demand_id), "profile_id": f.profile_id,
             "verdict": f.verdict, "note": f.note, "score": f.score, "created_at": f.created_at} for f in rows]


def list_feedback(session: Session, demand_id: str | None = None, limit: int | None = None) -> list[Feedback]:
    """Feedback rows by id, optionally of one demand."""
    query = select(Feedback).order_by(Feedback.id)
    if demand_id is not None:
        query = query.where(Feedback.demand_id == demand_id)
    return list(session.scalars(query.limit(limit)))
