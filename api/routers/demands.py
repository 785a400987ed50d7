"""Demands: enterprises submit and read their own; the office reads all,
gets recommendations and team proposals.

Role rule first (``xfd.api.deps``): a role not in a route's "who" column of
INTERFACES.md gets 403 before any id is looked up (teachers on every route
here; enterprises on recommendations and team proposals).  Then the
object-level rule: an enterprise key only ever sees demands whose
``enterprise`` is its own; any other demand answers 404 (not 403), so ids of
other enterprises' demands are not confirmed by reads.
"""
from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import AfterValidator

from xfd.api import crud
from xfd.api.crud.demands import demands_query
from xfd.api.crud.lifecycle import demand_view
from xfd.api.deps import (
    EngineDep,
    EnterpriseOrStaffDep,
    RunsDep,
    SessionDep,
    SettingsDep,
    StaffDep,
    SubmitterDep,
    field_error,
    record_error,
)
from xfd.api.pagination import PAGE_HEADERS_DOC, PageDep, paginate, set_page_headers
from xfd.api.records import demand_from_row, record_error_type, validate_demand
from xfd.api.runs import check_solver
from xfd.api.schemas import DemandCreate, DemandPublic, DemandStatus, DemandUpdate, ProposalCreate, RecommendationsPublic
from xfd.matching.records import lookup_id
from xfd.matching.registry import UnknownNameError

router = APIRouter(prefix="/v1/demands", tags=["demands"])

DemandId = Annotated[str, Path(max_length=200, pattern=r"^[^\x00]+$", description="demand id"),
                     AfterValidator(lookup_id)]  # look-alike ids name the same demand


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DemandPublic,
    summary="提交需求 submit a demand",
    responses={409: {"description": "id used by another enterprise / idempotency key in flight"},
               422: {"description": "invalid field, or Idempotency-Key reused with a different body"}},
)
def create_demand(
    body: DemandCreate,
    principal: SubmitterDep,
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200, description="replay-safe submission key")] = None,
) -> JSONResponse:
    raw = body.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    if principal.role == "enterprise":
        raw["enterprise"] = principal.enterprise_id
    request_hash = hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    try:
        demand = validate_demand(raw)
    except record_error_type() as exc:
        raise record_error(exc, ["body"]) from None
    stored = crud.submit_demand(session, principal, demand, idempotency_key, request_hash)
    if stored.replayed:
        return JSONResponse(stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"})
    return JSONResponse(stored.body, status_code=stored.status_code,
                        headers={"Location": f"/v1/demands/{quote(demand.id, safe='')}"})


@router.get("", response_model=list[DemandPublic], summary="可见的需求 demands this key may see",
            responses={200: {"headers": PAGE_HEADERS_DOC}, 403: {"description": "a teacher key"}})
def list_demands(
    principal: EnterpriseOrStaffDep,
    session: SessionDep,
    page: PageDep,
    request: Request,
    response: Response,
    status_: Annotated[DemandStatus | None, Query(alias="status")] = None,
    enterprise: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
) -> list[dict[str, Any]]:
    result = paginate(session, demands_query(principal, status_, enterprise), page)
    set_page_headers(request, response, page, result.total)
    return [demand_view(r, principal) for r in result.items]


@router.get("/{demand_id}", response_model=DemandPublic, summary="单个需求 one demand",
            responses={404: {"description": "no such demand, or another enterprise's"},
                       403: {"description": "a teacher key"}})
def get_demand(demand_id: DemandId, principal: EnterpriseOrStaffDep, session: SessionDep) -> dict[str, Any]:
    return demand_view(crud.visible_demand(session, principal, demand_id), principal)


@router.patch("/{demand_id}", response_model=DemandPublic,
              summary="变更需求状态 move a demand along its lifecycle (office triage; the enterprise withdraws)",
              responses={404: {"description": "no such demand, or another enterprise's"},
                         403: {"description": "a teacher key, or this role may not make this transition"},
                         409: {"description": "the transition is not on the lifecycle path (names both states)"}})
def update_demand(demand_id: DemandId, body: DemandUpdate, principal: EnterpriseOrStaffDep, session: SessionDep) -> dict[str, Any]:
    row = crud.set_demand_status(session, principal, demand_id, body.status, body.reason)
    return demand_view(row, principal)


@router.get("/{demand_id}/recommendations", response_model=RecommendationsPublic,
            summary="推荐人员 ranked profiles for a demand", responses={403: {"description": "not the office"}})
def recommendations(
    demand_id: DemandId,
    principal: StaffDep,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    k: Annotated[int, Query(ge=0, le=10_000, description="how many (0 = all profiles)")] = 10,
) -> dict[str, Any]:
    if k > settings.max_k:
        raise field_error(["query", "k"], f"k 最大 {settings.max_k} k must be <= {settings.max_k}")
    demand = demand_from_row(crud.visible_demand(session, principal, demand_id))
    session.close()  # release the connection while scoring
    ranked = engine.recommend(demand, k if k > 0 else 0)
    ids = [m.profile_id for m in ranked.matches]
    names: dict[str, tuple[str, str]] = {}
    if ids:
        with session.begin():
            names = crud.profile_labels(session, ids)
        session.close()
    matches = [
        {
            "profile_id": m.profile_id,
            "score": float(m.score),
            "evidence": [{"document": e.document, "terms": list(e.terms)} for e in m.evidence],
            "name": names.get(m.profile_id, ("", ""))[0],
            "kind": names.get(m.profile_id, ("", ""))[1],
        }
        for m in ranked.matches
    ]
    return {"demand_id": demand.id, "matches": matches}


@router.post("/{demand_id}/team-proposal", summary="为单个需求组队建议 propose a team for one demand",
             response_model=dict[str, Any],
             responses={200: {"description": "a plan in the INTERFACES plan shape, for this demand alone"},
                        403: {"description": "not the office"}})
def team_proposal(
    demand_id: DemandId,
    principal: StaffDep,
    session: SessionDep,
    runs: RunsDep,
    body: Annotated[ProposalCreate | None, Body()] = None,
) -> dict[str, Any]:
    row = crud.visible_demand(session, principal, demand_id)
    demand, used = crud.proposal_inputs(session, row)  # capacity used by the semester's other teams
    session.close()
    try:
        if body is not None and body.solver is not None:
            check_solver(body.solver)
        return runs.propose(demand, body.solver if body else None, used)
    except UnknownNameError as exc:
        raise field_error(["body", "solver"], str(exc)) from None
