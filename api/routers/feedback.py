"""Feedback on a match (accepted / rejected / outcome), kept for recalibration.

The office may give feedback on any demand and profile; an enterprise on its
own demands only, about the members of their team (any other demand or
profile answers 404, as a missing one does), and lists the feedback on its
own demands; a teacher key gets 403.  See ``xfd.api.crud.feedback``.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import AfterValidator

from xfd.api import crud
from xfd.api.crud.feedback import feedback_query, feedback_view
from xfd.api.deps import EnterpriseOrStaffDep, SessionDep
from xfd.api.pagination import PAGE_HEADERS_DOC, PageDep, paginate, set_page_headers
from xfd.api.schemas import FeedbackCreate, FeedbackPublic
from xfd.matching.records import lookup_id

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FeedbackPublic, summary="匹配反馈 feedback on a match")
def post_feedback(body: FeedbackCreate, principal: EnterpriseOrStaffDep, session: SessionDep) -> dict[str, Any]:
    row = crud.add_feedback(session, principal, body.demand_id, body.profile_id, body.verdict, body.note, body.score)
    return feedback_view(session, principal, [row])[0]


@router.get("", response_model=list[FeedbackPublic], summary="反馈列表 list feedback (an enterprise: on its own demands)",
            responses={200: {"headers": PAGE_HEADERS_DOC}})
def list_feedback(
    principal: EnterpriseOrStaffDep,
    session: SessionDep,
    page: PageDep,
    request: Request,
    response: Response,
    demand_id: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$"),
                         AfterValidator(lambda v: None if v is None else lookup_id(v))] = None,  # Ｄ１ finds D1
) -> list[dict[str, Any]]:
    result = paginate(session, feedback_query(principal, demand_id), page)
    set_page_headers(request, response, page, result.total)
    return feedback_view(session, principal, result.items)
