"""Feedback on a match (accepted / rejected / outcome), kept for recalibration."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xfd.api.crud.demands import visible_demand
from xfd.api.errors import NotFound
from xfd.api.security import Principal
from xfd.api.storage.models import Feedback, ProfileRow


def add_feedback(session: Session, principal: Principal, demand_id: str, profile_id: str, verdict: str,
                 note: str = "", score: float | None = None) -> Feedback:
    """Store one verdict on a demand the principal may see, about an existing profile; commits."""
    visible_demand(session, principal, demand_id)
    if session.get(ProfileRow, profile_id) is None:
        raise NotFound("profile", profile_id)
    row = Feedback(demand_id=demand_id, profile_id=profile_id, verdict=verdict, note=note, score=score,
                   created_by=principal.key_id)
    session.add(row)
    session.commit()
    return row


def list_feedback(session: Session, demand_id: str | None = None, limit: int | None = None) -> list[Feedback]:
    """Feedback rows by id, optionally of one demand."""
    query = select(Feedback).order_by(Feedback.id)
    if demand_id is not None:
        query = query.where(Feedback.demand_id == demand_id)
    return list(session.scalars(query.limit(limit)))
