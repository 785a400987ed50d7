"""Feedback on a match (accepted / rejected / outcome), kept for recalibration.

The office may give feedback on any demand; an enterprise on its own demands
only (others answer 404).
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from xfd.api import crud
from xfd.api.deps import PrincipalDep, SessionDep, StaffDep
from xfd.api.schemas import FeedbackCreate, FeedbackPublic
from xfd.api.storage.models import Feedback

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])


def _public(f: Feedback) -> dict[str, Any]:
    return {"id": f.id, "demand_id": f.demand_id, "profile_id": f.profile_id, "verdict": f.verdict,
            "note": f.note, "score": f.score, "created_at": f.created_at}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FeedbackPublic, summary="匹配反馈 feedback on a match")
def post_feedback(body: FeedbackCreate, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    row = crud.add_feedback(session, principal, body.demand_id, body.profile_id, body.verdict, body.note, body.score)
    return _public(row)


@router.get("", response_model=list[FeedbackPublic], summary="反馈列表 list feedback")
def list_feedback(
    _who: StaffDep,
    session: SessionDep,
    demand_id: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1_000_000, description="at most this many (default: all)")] = None,
) -> list[dict[str, Any]]:
    return [_public(f) for f in crud.list_feedback(session, demand_id, limit)]
