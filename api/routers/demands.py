"""Demands: enterprises submit and read their own; the office reads all,
gets recommendations and team proposals.

Object-level rule: an enterprise key only ever sees demands whose
``enterprise`` is its own; any other demand answers 404 (not 403), so ids of
other enterprises' demands are not confirmed by reads.
"""
from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Header, HTTPException, Path, Query, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xfd.api.deps import (
    EngineDep,
    PrincipalDep,
    RunsDep,
    SessionDep,
    SettingsDep,
    SubmitterDep,
    field_error,
    forbidden,
    not_found,
    record_error,
)
from xfd.api.records import demand_fields, demand_from_row, demand_public, record_error_type, validate_demand
from xfd.api.runs import check_solver
from xfd.api.schemas import DemandCreate, DemandPublic, DemandStatus, DemandUpdate, ProposalCreate, RecommendationsPublic
from xfd.api.security import Principal
from xfd.api.storage.models import DemandRow, Enterprise, IdempotencyRecord, ProfileRow
from xfd.matching.registry import UnknownNameError

router = APIRouter(prefix="/v1/demands", tags=["demands"])

DemandId = Annotated[str, Path(max_length=200, pattern=r"^[^\x00]+$", description="demand id")]


def visible_demand(session: Session, principal: Principal, demand_id: str) -> DemandRow:
    """The demand if this principal may see it, else 404 (also for other enterprises')."""
    row = session.get(DemandRow, demand_id)
    if row is None or (not principal.is_staff and row.enterprise_id != principal.enterprise_id):
        raise not_found("demand", demand_id)
    return row


def _replay(rec: IdempotencyRecord) -> JSONResponse:
    return JSONResponse(rec.response_body, status_code=rec.status_code, headers={"Idempotent-Replayed": "true"})


def _find_idem(session: Session, principal: Principal, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.key_id == principal.key_id, IdempotencyRecord.idem_key == key)
    )


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
    # Two concurrent writers of the same new id (or Idempotency-Key) race on the
    # primary key; the loser rolls back and retries, then sees the winner's row.
    for _attempt in range(3):
        if idempotency_key is not None:
            rec = _find_idem(session, principal, idempotency_key)
            if rec is not None:
                if rec.request_hash != request_hash:
                    raise field_error(["header", "Idempotency-Key"],
                                      "同一幂等键对应了不同的请求内容 Idempotency-Key reused with a different request body")
                return _replay(rec)
        try:
            payload = _store_demand(session, principal, demand, idempotency_key, request_hash)
        except IntegrityError:
            session.rollback()
            continue
        return JSONResponse(payload, status_code=status.HTTP_201_CREATED,
                            headers={"Location": f"/v1/demands/{quote(demand.id, safe='')}"})
    raise HTTPException(status.HTTP_409_CONFLICT, "并发冲突，请重试 conflicting concurrent write, retry")


def _store_demand(session: Session, principal: Principal, demand, idempotency_key: str | None,  # noqa: ANN001
                  request_hash: str) -> dict[str, Any]:
    """Insert or replace the demand (and the idempotency record) and commit; returns the body."""
    row = session.get(DemandRow, demand.id)
    if row is not None and not principal.is_staff and row.enterprise_id != principal.enterprise_id:
        raise HTTPException(status.HTTP_409_CONFLICT, f"需求编号已被占用 demand id already in use: {demand.id}")
    if demand.enterprise and session.get(Enterprise, demand.enterprise) is None:
        session.add(Enterprise(id=demand.enterprise, county=demand.county, industry=demand.industry))
    fields = demand_fields(demand)
    if row is None:
        row = DemandRow(id=demand.id, created_by=principal.key_id, status="open", assigned_team=[], **fields)
        session.add(row)
    else:
        for name, value in fields.items():
            setattr(row, name, value)
    session.flush()
    payload = jsonable_encoder(demand_public(row))
    if idempotency_key is not None:
        session.add(IdempotencyRecord(key_id=principal.key_id, idem_key=idempotency_key, method="POST",
                                      path="/v1/demands", request_hash=request_hash,
                                      status_code=status.HTTP_201_CREATED, response_body=payload))
    session.commit()
    return payload


@router.get("", response_model=list[DemandPublic], summary="可见的需求 demands this key may see")
def list_demands(
    principal: PrincipalDep,
    session: SessionDep,
    status_: Annotated[DemandStatus | None, Query(alias="status")] = None,
    enterprise: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1_000_000, description="at most this many (default: all)")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    query = select(DemandRow).order_by(DemandRow.created_at, DemandRow.id)
    if not principal.is_staff:
        query = query.where(DemandRow.enterprise_id == principal.enterprise_id)
    elif enterprise is not None:
        query = query.where(DemandRow.enterprise_id == enterprise)
    if status_ is not None:
        query = query.where(DemandRow.status == status_)
    return [demand_public(r) for r in session.scalars(query.offset(offset).limit(limit))]


@router.get("/{demand_id}", response_model=DemandPublic, summary="单个需求 one demand",
            responses={404: {"description": "no such demand, or another enterprise's"}})
def get_demand(demand_id: DemandId, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    return demand_public(visible_demand(session, principal, demand_id))


@router.patch("/{demand_id}", response_model=DemandPublic, summary="关闭或重开需求 close or reopen a demand",
              responses={404: {"description": "no such demand, or another enterprise's"}})
def update_demand(demand_id: DemandId, body: DemandUpdate, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    row = visible_demand(session, principal, demand_id)
    if body.status == "open" and row.status == "assigned":
        pass  # an assigned demand stays assigned when "reopened"
    else:
        row.status = body.status
    session.commit()
    return demand_public(row)


@router.get("/{demand_id}/recommendations", response_model=RecommendationsPublic,
            summary="推荐人员 ranked profiles for a demand")
def recommendations(
    demand_id: DemandId,
    principal: PrincipalDep,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    k: Annotated[int, Query(ge=0, le=10_000, description="how many (0 = all profiles)")] = 10,
) -> dict[str, Any]:
    if k > settings.max_k:
        raise field_error(["query", "k"], f"k 最大 {settings.max_k} k must be <= {settings.max_k}")
    demand = demand_from_row(visible_demand(session, principal, demand_id))  # others' demands: 404
    if not principal.is_staff:
        raise forbidden("office")
    session.close()  # release the connection while scoring
    ranked = engine.recommend(demand, k if k > 0 else 0)
    ids = [m.profile_id for m in ranked.matches]
    names: dict[str, tuple[str, str]] = {}
    if ids:
        with session.begin():
            for r in session.execute(select(ProfileRow.id, ProfileRow.name, ProfileRow.kind).where(ProfileRow.id.in_(ids))):
                names[r.id] = (r.name, r.kind)
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
             responses={200: {"description": "a plan in the INTERFACES plan shape, for this demand alone"}})
def team_proposal(
    demand_id: DemandId,
    principal: PrincipalDep,
    session: SessionDep,
    runs: RunsDep,
    body: Annotated[ProposalCreate | None, Body()] = None,
) -> dict[str, Any]:
    demand = demand_from_row(visible_demand(session, principal, demand_id))  # others' demands: 404
    if not principal.is_staff:
        raise forbidden("office")
    session.close()
    try:
        if body is not None and body.solver is not None:
            check_solver(body.solver)
        return runs.propose(demand, body.solver if body else None)
    except UnknownNameError as exc:
        raise field_error(["body", "solver"], str(exc)) from None
