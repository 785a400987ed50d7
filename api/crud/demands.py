"""Demands: who may see which, idempotent submission, listing, status changes.

Object-level rule: an enterprise principal only ever sees demands whose
``enterprise`` is its own; any other demand is ``NotFound`` (not forbidden),
so ids of other enterprises' demands are not confirmed by reads.  Demand ids
are enterprise-scoped and a re-POST past ``submitted`` is refused: see
``xfd.api.crud.lifecycle`` (the id rules, transitions and history).
"""
from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xfd.api.crud import lifecycle
from xfd.api.crud.profiles import CONCURRENT_WRITE, WRITE_ATTEMPTS
from xfd.api.errors import Conflict, FieldInvalid
from xfd.api.records import demand_fields
from xfd.api.security import Principal
from xfd.api.storage.models import DemandRow, Enterprise, IdempotencyRecord
from xfd.api.storage.timestamps import json_ready
from xfd.matching.lifecycle import PLANNED
from xfd.matching.types import Demand

IDEMPOTENCY_MISMATCH = "同一幂等键对应了不同的请求内容 Idempotency-Key reused with a different request body"
CREATED = 201


class StoredDemand(NamedTuple):
    """The answer to a submission: ``body`` (JSON-ready demand), its HTTP
    ``status_code`` and whether it is a ``replayed`` earlier answer."""

    body: Any
    status_code: int
    replayed: bool


def visible_demand(session: Session, principal: Principal, demand_id: str) -> DemandRow:
    """The demand if this principal may see it, else ``NotFound`` (also for other enterprises',
    with the same message); enterprises address their demands by their own ids."""
    return lifecycle.find_demand(session, principal, demand_id)


def ensure_enterprise(session: Session, enterprise_id: str, *, name: str = "", county: str = "",
                      industry: str = "") -> None:
    """Add the enterprise row unless it exists (the caller flushes/commits)."""
    if session.get(Enterprise, enterprise_id) is None:
        session.add(Enterprise(id=enterprise_id, name=name, county=county, industry=industry))


def add_demand(session: Session, demand: Demand, created_by: int | None = None, *, key: str | None = None,
               principal: Principal | None = None, role: str | None = None) -> DemandRow:
    """A new ``submitted`` demand row under the service-wide ``key`` (default: its id) with
    its first history row (no enterprise row is created; the caller commits)."""
    row = DemandRow(id=key or demand.id, ref=demand.id, created_by=created_by, status="submitted", assigned_team=[],
                    **demand_fields(demand))
    session.add(row)
    lifecycle.created(session, row, principal, role=role)
    return row


def _find_idempotency(session: Session, principal: Principal, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.key_id == principal.key_id, IdempotencyRecord.idem_key == key)
    )


def _store_demand(session: Session, principal: Principal, demand: Demand, idempotency_key: str | None,
                  request_hash: str) -> Any:
    """Insert or replace the demand (and the idempotency record) and commit; returns the body."""
    row, key = lifecycle.submission_target(session, principal, demand)
    if demand.enterprise:
        ensure_enterprise(session, demand.enterprise, county=demand.county, industry=demand.industry)
    if row is None:
        row = add_demand(session, demand, created_by=principal.key_id, key=key, principal=principal)
    else:
        for name, value in demand_fields(demand).items():
            if name != "enterprise_id" or value:  # an office re-POST without enterprise keeps the owner
                setattr(row, name, value)
    session.flush()
    payload = json_ready(lifecycle.demand_view(row, principal))
    if idempotency_key is not None:
        session.add(IdempotencyRecord(key_id=principal.key_id, idem_key=idempotency_key, method="POST",
                                      path="/v1/demands", request_hash=request_hash,
                                      status_code=CREATED, response_body=payload))
    session.commit()
    return payload


def submit_demand(session: Session, principal: Principal, demand: Demand, idempotency_key: str | None,
                  request_hash: str) -> StoredDemand:
    """Store a submitted demand once per ``(principal, idempotency_key)``.

    A repeated key with the same ``request_hash`` replays the stored answer; with
    another hash it is ``FieldInvalid`` on the header.  Two concurrent writers of
    the same new id (or key) race on the primary key; the loser rolls back and
    retries, then sees the winner's row (``Conflict`` after ``WRITE_ATTEMPTS``).
    """
    for _attempt in range(WRITE_ATTEMPTS):
        if idempotency_key is not None:
            rec = _find_idempotency(session, principal, idempotency_key)
            if rec is not None:
                if rec.request_hash != request_hash:
                    raise FieldInvalid(["header", "Idempotency-Key"], IDEMPOTENCY_MISMATCH)
                return StoredDemand(rec.response_body, rec.status_code, replayed=True)
        try:
            payload = _store_demand(session, principal, demand, idempotency_key, request_hash)
        except IntegrityError:
            session.rollback()
            continue
        return StoredDemand(payload, CREATED, replayed=False)
    raise Conflict(CONCURRENT_WRITE)


def demands_query(principal: Principal, status: str | None = None, enterprise: str | None = None) -> Select:
    """``select(DemandRow)`` of the demands this principal may see, oldest first (a total order, for pages);
    ``enterprise`` filters for staff only."""
    query = select(DemandRow).order_by(DemandRow.created_at, DemandRow.id)
    if not principal.is_staff:
        query = query.where(DemandRow.enterprise_id == principal.enterprise_id)
    elif enterprise is not None:
        query = query.where(DemandRow.enterprise_id == enterprise)
    if status is not None:
        query = query.where(DemandRow.status == status)
    return query


def list_demands(session: Session, principal: Principal, status: str | None = None, enterprise: str | None = None,
                 limit: int | None = None, offset: int = 0) -> list[DemandRow]:
    """Demands this principal may see, oldest first; ``enterprise`` filters for staff only."""
    return list(session.scalars(demands_query(principal, status, enterprise).offset(offset).limit(limit)))


def set_demand_status(session: Session, principal: Principal, demand_id: str, status: str,
                      reason: str = "") -> DemandRow:
    """Move a visible demand to ``status`` through the lifecycle (``lifecycle.change_demand_status``); commits."""
    return lifecycle.change_demand_status(session, principal, demand_id, status, reason)


def open_demand_rows(session: Session, ids: list[str] | None = None) -> list[DemandRow]:
    """The demands a batch run plans, oldest first: those ``accepted``, ``teamed`` or
    ``in_service`` (``xfd.matching.lifecycle.PLANNED``), restricted to ``ids`` if given."""
    query = (select(DemandRow).where(DemandRow.status.in_(PLANNED))
             .order_by(DemandRow.created_at, DemandRow.id))
    if ids is not None:
        query = query.where(DemandRow.id.in_(ids))
    return list(session.scalars(query))
