"""A demand's status history, outcome and rating (``/v1/demands/{id}/…``).

Thin: a role not in the route's "who" column gets 403 before any lookup
(``xfd.api.deps``); every other rule (which team member, which status, once
only) lives in ``xfd.api.crud.lifecycle`` / ``xfd.api.crud.service``.
Another enterprise's demand answers exactly like a missing one (404).
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from pydantic import AfterValidator

from xfd.api.crud import lifecycle as crud_lifecycle
from xfd.api.crud import service as crud_service
from xfd.api.crud.teams import outcome_public, rating_public
from xfd.api.deps import EnterpriseDep, EnterpriseOrStaffDep, SessionDep, StaffOrTeacherDep
from xfd.api.pagination import PAGE_HEADERS_DOC, PageDep, set_page_headers, slice_list
from xfd.api.service_schemas import HistoryPublic, OutcomeCreate, OutcomePublic, RatingCreate, RatingPublic
from xfd.matching.records import lookup_id

router = APIRouter(prefix="/v1/demands", tags=["lifecycle"])

DemandId = Annotated[str, Path(max_length=200, pattern=r"^[^\x00]+$", description="demand id"),
                     AfterValidator(lookup_id)]  # look-alike ids name the same demand
NOT_FOUND = {404: {"description": "no such demand, or another enterprise's (the same answer)"}}


@router.get("/{demand_id}/history", response_model=list[HistoryPublic],
            responses={**NOT_FOUND, 200: {"headers": PAGE_HEADERS_DOC}, 403: {"description": "a teacher key"}},
            summary="状态变更记录 the demand's status changes, oldest first")
def history(demand_id: DemandId, principal: EnterpriseOrStaffDep, session: SessionDep, page: PageDep, request: Request,
            response: Response) -> list[dict[str, Any]]:
    result = slice_list(crud_lifecycle.demand_history(session, principal, demand_id), page)
    set_page_headers(request, response, page, result.total)
    return result.items


@router.post("/{demand_id}/outcome", status_code=status.HTTP_201_CREATED, response_model=OutcomePublic,
             responses={**NOT_FOUND, 403: {"description": "not the office or the team's lead (an enterprise key: always)"},
                        409: {"description": "the demand is not in_service"}},
             summary="登记成果 record the outcome: in_service -> solved / unsolved")
def post_outcome(demand_id: DemandId, body: OutcomeCreate, principal: StaffOrTeacherDep, session: SessionDep) -> dict[str, Any]:
    outcome, row = crud_service.add_outcome(session, principal, demand_id, body.solved, body.contract_amount,
                                            body.patents, body.papers, body.other, body.note)
    return outcome_public(outcome, crud_lifecycle.public_demand_id(row, principal))


@router.post("/{demand_id}/rating", status_code=status.HTTP_201_CREATED, response_model=RatingPublic,
             responses={**NOT_FOUND, 403: {"description": "not an enterprise key"},
                        409: {"description": "not solved/unsolved yet, or already rated"}},
             summary="企业评价 the enterprise rates its closed demand (once)")
def post_rating(demand_id: DemandId, body: RatingCreate, principal: EnterpriseDep, session: SessionDep) -> dict[str, Any]:
    rating, row = crud_service.add_rating(session, principal, demand_id, body.satisfaction, body.comment)
    return rating_public(rating, crud_lifecycle.public_demand_id(row, principal))
